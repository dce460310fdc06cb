using System.Runtime.InteropServices;
using System.Text;

namespace PolyLock;

// Named locks, shared by the processes of one machine (lock.h 1.2, lock_open).
public sealed partial class Lock
{
    private const int MaxNameBytes = 200;
    private const int ENOENT = 2;

    /// <summary>Opens the named lock <paramref name="name"/>, shared by every process of this
    /// user on this machine that opens the same name, creating it (unlocked) if it does not
    /// exist yet.</summary>
    /// <remarks>
    /// <para>Every member works on a named lock as on any other, across processes: any thread
    /// of any process that opened it may <see cref="Exit"/> it. If the process holding it
    /// dies, the next entry -- a thread already waiting or a newcomer, in any process -- gets
    /// the lock and an <see cref="AbandonedLockException"/>. A named lock has no fast-path
    /// word, so every call goes into the native library.</para>
    /// <para><see cref="Dispose"/> closes this handle at once (once no call is inside the
    /// native library); the lock itself lives on in the processes that still have it
    /// open, and under its name until <see cref="Unlink"/>.</para>
    /// </remarks>
    /// <param name="name">1 to 200 characters of <c>A-Z a-z 0-9 . _ -</c>, not starting with
    /// <c>.</c>; names holding <c>:</c> name other backends (<c>etcd://...</c>).</param>
    /// <returns>An open handle to the named lock.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid lock name
    /// (or names an unknown backend).</exception>
    /// <exception cref="UnauthorizedAccessException">The name exists but is not this user's,
    /// not a regular object, or not a polylock lock of a compatible layout.</exception>
    /// <exception cref="PlatformNotSupportedException">This platform, or this build of the
    /// native library, has no named locks, or the backend library a name asks for is
    /// missing.</exception>
    /// <exception cref="OutOfMemoryException">Out of memory or of shared memory.</exception>
    /// <exception cref="IOException">A system call failed.</exception>
    public static unsafe Lock Open(string name)
    {
        byte[] native = NativeName(name);
        int status = LockApi.LOCK_OK;
        LockHandle handle = LockApi.lock_open(native, &status);
        if (handle.IsInvalid)
        {
            int errno = Marshal.GetLastSystemError();
            handle.Dispose();
            throw NamedLockError(status, errno, name, "open");
        }
        return new Lock(handle);
    }

    /// <summary>Removes the name <paramref name="name"/>: handles already open keep working on
    /// the old lock, and the next <see cref="Open"/> of the name makes a fresh one.</summary>
    /// <param name="name">A lock name, as for <see cref="Open"/>.</param>
    /// <returns><see langword="true"/> if the name was removed, <see langword="false"/> if
    /// no lock had that name (as <see cref="File.Delete"/>, a missing name is no
    /// error).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid lock
    /// name.</exception>
    /// <exception cref="UnauthorizedAccessException">The name belongs to another
    /// user.</exception>
    /// <exception cref="PlatformNotSupportedException">No named locks here.</exception>
    /// <exception cref="IOException">A system call failed.</exception>
    public static bool Unlink(string name)
    {
        byte[] native = NativeName(name);
        int status = LockApi.lock_unlink(native);
        int errno = Marshal.GetLastSystemError();
        if (status == LockApi.LOCK_OK)
        {
            return true;
        }
        if (status == LockApi.LOCK_ESYS && errno == ENOENT)
        {
            return false;
        }
        throw NamedLockError(status, errno, name, "unlink");
    }

    // The rule of lock.h, checked here too so that a bad name is an
    // ArgumentException on every platform and build (one without named locks
    // included). A name with ':' names a backend, which the library judges.
    private static byte[] NativeName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!name.Contains(':'))
        {
            bool valid = name.Length is > 0 and <= MaxNameBytes && name[0] != '.';
            foreach (char c in name)
            {
                valid &= char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-';
            }
            if (!valid)
            {
                throw new ArgumentException($"polylock: {Quoted(name)} is {NameRule(name)}", nameof(name));
            }
        }
        else if (name.Contains('\0'))
        {
            throw new ArgumentException("polylock: a lock name cannot hold a NUL character", nameof(name));
        }
        byte[] native = new byte[Encoding.UTF8.GetByteCount(name) + 1];
        Encoding.UTF8.GetBytes(name, native);
        return native;
    }

    // The rule a name refused with LOCK_EINVAL broke (lock.h, SPEC §8 and §10).
    private static string NameRule(string name)
    {
        const string Local = "1-200 characters of A-Z a-z 0-9 . _ -, not starting with '.'";
        if (name.StartsWith("etcd://", StringComparison.Ordinal))
        {
            return "not an etcd lock name: etcd://HOST:PORT[,HOST:PORT...]/NAME[?ttl=SECONDS], NAME as for a local lock";
        }
        return name.Contains(':')
            ? "not a lock name: only etcd:// names may hold ':'; a local name is " + Local
            : "not a lock name: " + Local;
    }

    // The name in double quotes, control characters and line separators escaped
    // as C# writes them, so that a message stays on one line.
    private static string Quoted(string name)
    {
        var text = new StringBuilder(name.Length + 2).Append('"');
        foreach (char c in name)
        {
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
            {
                text.Append($"\\u{(int)c:x4}");
            }
            else
            {
                text.Append(c);
            }
        }
        return text.Append('"').ToString();
    }

    private static Exception NamedLockError(int status, int errno, string name, string what)
    {
        string prefix = $"polylock: cannot {what} the named lock {Quoted(name)}: ";
        string text = prefix + LockApi.lock_strerror(status);
        return status switch
        {
            LockApi.LOCK_EINVAL => new ArgumentException(prefix + NameRule(name), nameof(name)),
            LockApi.LOCK_EACCES => new UnauthorizedAccessException(text),
            LockApi.LOCK_ENOTSUP => new PlatformNotSupportedException(text),
            LockApi.LOCK_ENOMEM => new OutOfMemoryException(text),
            LockApi.LOCK_ESYS => new IOException($"{text} ({Marshal.GetPInvokeErrorMessage(errno)})"),
            _ => new InvalidOperationException($"{text} (status {status})"),
        };
    }
}
