"""A lock's memory goes back when the object dies: a million locks created and
dropped leave the process no bigger (polylock frees its native lock in
dealloc; a leak of it would be ~32 MB here)."""
import gc
import os
import unittest

from locks import for_each_lock

CYCLES = 1_000_000
ALLOWED_GROWTH = 4 * 1024 * 1024  # bytes


def resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@unittest.skipUnless(os.path.exists("/proc/self/statm"), "needs Linux /proc")
class Memory:
    Lock = None  # set by for_each_lock

    def churn(self, cycles):
        Lock = self.Lock
        for _ in range(cycles):
            lock = Lock()
            lock.acquire()  # a held lock is freed too
        del lock

    def test_a_million_locks_created_and_dropped(self):
        self.churn(CYCLES // 10)  # let the allocators reach their steady state
        gc.collect()
        before = resident_bytes()
        self.churn(CYCLES)
        gc.collect()
        grown = resident_bytes() - before
        self.assertLess(grown, ALLOWED_GROWTH, "grew by %d bytes" % grown)


MemoryThreading, MemoryPolylock = for_each_lock(Memory)

if __name__ == "__main__":
    unittest.main()
