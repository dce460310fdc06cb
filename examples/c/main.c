/* polylock from C: two threads share a counter behind one lock.
 *
 *   cc main.c $(pkg-config --cflags --libs polylock) -pthread
 */
#include <polylock/lock.h>
#include <pthread.h>
#include <stdio.h>

static lock_t *counter_lock;
static long counter;

static void *count_up(void *unused) {
  (void)unused;
  for (int i = 0; i < 100000; ++i) {
    if (lock_acquire(counter_lock, LOCK_WAIT_FOREVER) == LOCK_OK) {
      ++counter;
      lock_release(counter_lock);
    }
  }
  return NULL;
}

int main(void) {
  counter_lock = lock_new();
  if (!counter_lock) return 1;

  pthread_t threads[2];
  for (int i = 0; i < 2; ++i) pthread_create(&threads[i], NULL, count_up, NULL);
  for (int i = 0; i < 2; ++i) pthread_join(threads[i], NULL);
  printf("polylock %s: counter = %ld (expected 200000)\n", lock_version(), counter);

  /* A try does not wait; releasing an unlocked lock is an error. */
  lock_acquire(counter_lock, 0);
  int status = lock_acquire(counter_lock, 0);
  printf("try on a held lock: %s\n", lock_strerror(status));
  lock_release(counter_lock);
  status = lock_release(counter_lock);
  printf("release when unlocked: %s\n", lock_strerror(status));

  lock_free(counter_lock);
  return counter == 200000 ? 0 : 1;
}
