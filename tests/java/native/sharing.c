/* polylock: the C side of the Java sharing tests (SharingTest.java). A JNI
 * library linked against libpolylock like any C host: it makes locks, hands
 * them to Java as a lock_t * in a long, takes and drops references, and
 * hammers a lock from its own threads around one critical section that Java
 * threads enter too, so that one counter shows whether the lock excluded
 * everyone. */
#include <jni.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include "polylock/lock.h"

#define JNI_NAME(name) Java_org_polylock_SharingNative_##name

static long counter;       /* guarded by the shared lock alone */
static int inside;         /* 1 while a thread is in the critical section */
static int overlaps;       /* times a thread found another inside */
static int failed_calls;   /* lock_* calls that returned what they must not */

static lock_t *lock_of(jlong handle) { return (lock_t *)(intptr_t)handle; }

static void critical_section(void) {
  if (__atomic_exchange_n(&inside, 1, __ATOMIC_SEQ_CST) != 0) {
    __atomic_add_fetch(&overlaps, 1, __ATOMIC_SEQ_CST);
  }
  long seen = counter;
  for (volatile int spin = 0; spin < 20; spin++) {
  }
  counter = seen + 1;
  __atomic_store_n(&inside, 0, __ATOMIC_SEQ_CST);
}

JNIEXPORT jlong JNICALL JNI_NAME(newLock)(JNIEnv *env, jclass cls) {
  (void)env, (void)cls;
  return (jlong)(intptr_t)lock_new();
}

JNIEXPORT jlong JNICALL JNI_NAME(ref)(JNIEnv *env, jclass cls, jlong lock) {
  (void)env, (void)cls;
  return (jlong)(intptr_t)lock_ref(lock_of(lock));
}

JNIEXPORT void JNICALL JNI_NAME(free)(JNIEnv *env, jclass cls, jlong lock) {
  (void)env, (void)cls;
  lock_free(lock_of(lock));
}

JNIEXPORT jint JNICALL JNI_NAME(acquire)(JNIEnv *env, jclass cls, jlong lock, jlong timeout_ns) {
  (void)env, (void)cls;
  return lock_acquire(lock_of(lock), timeout_ns);
}

JNIEXPORT jint JNICALL JNI_NAME(release)(JNIEnv *env, jclass cls, jlong lock) {
  (void)env, (void)cls;
  return lock_release(lock_of(lock));
}

JNIEXPORT jint JNICALL JNI_NAME(locked)(JNIEnv *env, jclass cls, jlong lock) {
  (void)env, (void)cls;
  return lock_locked(lock_of(lock));
}

/* Readable memory that is not a lock, for fromHandle's refusal. */
JNIEXPORT jlong JNICALL JNI_NAME(notALock)(JNIEnv *env, jclass cls) {
  static uint64_t zeros[32];
  (void)env, (void)cls;
  return (jlong)(intptr_t)zeros;
}

/* Called by Java threads while they hold the shared lock. */
JNIEXPORT void JNICALL JNI_NAME(criticalSection)(JNIEnv *env, jclass cls) {
  (void)env, (void)cls;
  critical_section();
}

JNIEXPORT jlong JNICALL JNI_NAME(counter)(JNIEnv *env, jclass cls) {
  (void)env, (void)cls;
  return __atomic_load_n(&counter, __ATOMIC_SEQ_CST);
}

JNIEXPORT jint JNICALL JNI_NAME(overlaps)(JNIEnv *env, jclass cls) {
  (void)env, (void)cls;
  return __atomic_load_n(&overlaps, __ATOMIC_SEQ_CST) +
         __atomic_load_n(&failed_calls, __ATOMIC_SEQ_CST);
}

JNIEXPORT void JNICALL JNI_NAME(reset)(JNIEnv *env, jclass cls) {
  (void)env, (void)cls;
  counter = 0;
  __atomic_store_n(&overlaps, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&failed_calls, 0, __ATOMIC_SEQ_CST);
}

/* ---- C threads hammering a lock -------------------------------------------- */

typedef struct hammer {
  lock_t *lock;
  int iterations;
  int way;
  pthread_t thread;
} hammer;

static void *hammer_main(void *argument) {
  hammer *self = argument;
  for (int i = 0; i < self->iterations; i++) {
    int status;
    switch ((self->way + i) % 3) {
      case 0:
        status = lock_acquire(self->lock, LOCK_WAIT_FOREVER);
        break;
      case 1:
        while ((status = lock_acquire(self->lock, 0)) == LOCK_TIMEOUT) sched_yield();
        break;
      default:
        while ((status = lock_acquire(self->lock, 1000000)) == LOCK_TIMEOUT) {
        }
        break;
    }
    if (status != LOCK_OK) {
      __atomic_add_fetch(&failed_calls, 1, __ATOMIC_SEQ_CST);
      continue;
    }
    critical_section();
    if (lock_release(self->lock) != LOCK_OK) __atomic_add_fetch(&failed_calls, 1, __ATOMIC_SEQ_CST);
  }
  return NULL;
}

/* Starts `threads` C threads on `lock`; returns a token for joinHammers. */
JNIEXPORT jlong JNICALL JNI_NAME(startHammers)(JNIEnv *env, jclass cls, jlong lock, jint threads,
                                               jint iterations) {
  (void)env, (void)cls;
  hammer *hammers = calloc((size_t)threads + 1, sizeof *hammers);
  if (!hammers) return 0;
  for (int t = 0; t < threads; t++) {
    hammers[t].lock = lock_of(lock);
    hammers[t].iterations = iterations;
    hammers[t].way = t;
    if (pthread_create(&hammers[t].thread, NULL, hammer_main, &hammers[t]) != 0) {
      hammers[t].lock = NULL;
      __atomic_add_fetch(&failed_calls, 1, __ATOMIC_SEQ_CST);
    }
  }
  return (jlong)(intptr_t)hammers;
}

JNIEXPORT void JNICALL JNI_NAME(joinHammers)(JNIEnv *env, jclass cls, jlong token) {
  (void)env, (void)cls;
  hammer *hammers = (hammer *)(intptr_t)token;
  if (!hammers) return;
  for (hammer *h = hammers; h->iterations; h++) {
    if (h->lock) pthread_join(h->thread, NULL);
  }
  free(hammers);
}
