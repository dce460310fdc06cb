/* A C program as a user of the installed polylock writes it: four threads
 * count to an exact total behind one lock, and the library that was loaded
 * is the release the header describes. */
#include <polylock/lock.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

enum { threads = 4, rounds = 50000 };

static lock_t *counter_lock;
static long counter;

static void *count_up(void *unused) {
  (void)unused;
  for (int i = 0; i < rounds; ++i) {
    if (lock_acquire(counter_lock, LOCK_WAIT_FOREVER) != LOCK_OK) return (void *)1;
    ++counter;
    if (lock_release(counter_lock) != LOCK_OK) return (void *)1;
  }
  return NULL;
}

#define STR2(x) #x
#define STR(x) STR2(x)

int main(void) {
  const char *expected = STR(LOCK_VERSION_MAJOR) "." STR(LOCK_VERSION_MINOR) "." STR(
      LOCK_VERSION_PATCH);
  if (strcmp(lock_version(), expected) != 0) {
    fprintf(stderr, "loaded polylock %s, header says %s\n", lock_version(), expected);
    return 1;
  }
  counter_lock = lock_new();
  if (!counter_lock) return 1;
  pthread_t workers[threads];
  for (int i = 0; i < threads; ++i) pthread_create(&workers[i], NULL, count_up, NULL);
  int failed = 0;
  for (int i = 0; i < threads; ++i) {
    void *result;
    pthread_join(workers[i], &result);
    failed |= result != NULL;
  }
  const int second_release = lock_release(counter_lock);
  lock_free(counter_lock);
  if (failed || counter != (long)threads * rounds || second_release != LOCK_ENOTLOCKED) {
    fprintf(stderr, "counter %ld, expected %ld\n", counter, (long)threads * rounds);
    return 1;
  }
  printf("polylock %s: counter = %ld\n", lock_version(), counter);
  return 0;
}
