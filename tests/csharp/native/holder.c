/* polylock's C# tests: a process that opens the named lock argv[1], takes it
 * and exits without releasing it, so that the next acquirer gets
 * LOCK_OWNERDEAD (an AbandonedLockException in C#). Exits 0 once it held the
 * lock, 2 if it could not. */
#include <polylock/lock.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  int status = LOCK_OK;
  lock_t *lock = lock_open(argv[1], &status);
  if (!lock) {
    fprintf(stderr, "holder: lock_open: %s\n", lock_strerror(status));
    return 2;
  }
  status = lock_acquire(lock, LOCK_WAIT_FOREVER);
  if (status != LOCK_OK && status != LOCK_OWNERDEAD) {
    fprintf(stderr, "holder: lock_acquire: %s\n", lock_strerror(status));
    return 2;
  }
  return 0; /* dies holding it */
}
