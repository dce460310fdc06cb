namespace PolyLock;

public sealed partial class Lock
{
    /// <summary>A held lock, exited by <see cref="Dispose"/>: what
    /// <see cref="EnterScope"/> returns, for a <c>using</c> statement.</summary>
    /// <remarks>Like <see cref="System.Threading.Lock.Scope"/>, it is a <c>ref struct</c>:
    /// it lives on the stack of the method that entered the lock.</remarks>
    public ref struct Scope
    {
        private Lock? _lock;

        internal Scope(Lock entered) => _lock = entered;

        /// <summary>Exits the lock. A second call on the same scope does nothing.</summary>
        /// <exception cref="SynchronizationLockException">Another thread has exited the lock
        /// already, and it is not locked now.</exception>
        public void Dispose()
        {
            Lock? entered = _lock;
            if (entered is not null)
            {
                _lock = null;
                entered.Exit();
            }
        }
    }
}
