namespace PolyLock;

/// <summary>Thrown by <see cref="Lock.Enter()"/>, <see cref="Lock.TryEnter()"/> and the other
/// entering members of a named lock (<see cref="Lock.Open"/>) when the lock <b>was entered</b>,
/// but its previous holder's process died while holding it.</summary>
/// <remarks>
/// <para>The rule of <see cref="AbandonedMutexException"/>, which this class extends (so a
/// <c>catch (AbandonedMutexException)</c> written for <see cref="Mutex"/> sees it too): the
/// calling thread holds the lock when this is thrown, and what the lock guards may have been
/// left half-done. Repair it, then <see cref="Lock.Exit"/> as usual:</para>
/// <code>
/// try { l.Enter(); }
/// catch (AbandonedLockException) { RepairSharedState(); }
/// try { Work(); } finally { l.Exit(); }
/// </code>
/// <para>Only the one acquire that follows the death reports it; the next one is ordinary.
/// Death is proved by process id and start time, never guessed from a timeout.</para>
/// </remarks>
public class AbandonedLockException : AbandonedMutexException
{
    private const string DefaultMessage =
        "polylock: the lock was entered, but its previous holder's process died while holding it.";

    /// <summary>Creates the exception with the default message and no lock.</summary>
    public AbandonedLockException()
        : base(DefaultMessage)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and no lock.</summary>
    /// <param name="message">What happened.</param>
    public AbandonedLockException(string? message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that
    /// caused it.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="inner">The cause, or <see langword="null"/>.</param>
    public AbandonedLockException(string? message, Exception? inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception for <paramref name="entered"/>, which the calling
    /// thread now holds.</summary>
    /// <param name="entered">The lock that was entered.</param>
    public AbandonedLockException(Lock entered)
        : base(DefaultMessage)
    {
        Lock = entered;
    }

    /// <summary>The lock that was entered (and is held by the thread that caught this), or
    /// <see langword="null"/> when the exception was made without one.</summary>
    public Lock? Lock { get; }
}
