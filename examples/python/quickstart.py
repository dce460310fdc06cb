"""polylock quick start for Python: polylock.Lock where threading.Lock was.

    python3 examples/python/quickstart.py
"""
import threading

import polylock

lock = polylock.Lock()  # was: threading.Lock()
total = 0


def add(times):
    global total
    for _ in range(times):
        with lock:  # acquire on entry, release on exit, even on an exception
            total += 1


workers = [threading.Thread(target=add, args=(10_000,)) for _ in range(4)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print("total:", total)  # always 40000

# try/finally, the long way of writing `with`
lock.acquire()
try:
    print("held:", lock.locked())  # True -- but only a snapshot
finally:
    lock.release()

# Try without waiting, or wait at most a while.
if lock.acquire(blocking=False):
    lock.release()
print("taken within 50 ms:", lock.acquire(timeout=0.05))
lock.release()

# Inside threading.Condition, as threading.Lock is.
ready = threading.Condition(polylock.Lock())
with ready:
    print("notified:", ready.wait(timeout=0.01))

print(lock)  # <unlocked polylock.Lock object at 0x...>
