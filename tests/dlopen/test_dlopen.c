/* Opens libpolylock with dlopen (by SONAME, found on LD_LIBRARY_PATH),
 * resolves every v1 function with dlsym, and uses it. Exits non-zero and says
 * why on the first thing that is not as the header promises. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "polylock/lock.h"

static int failures;

#define CHECK(condition)                                                  \
  do {                                                                    \
    if (!(condition)) {                                                   \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      ++failures;                                                         \
    }                                                                     \
  } while (0)

static void *resolve(void *library, const char *name) {
  void *symbol = dlsym(library, name);
  if (!symbol) {
    fprintf(stderr, "dlsym(%s): %s\n", name, dlerror());
    exit(1);
  }
  return symbol;
}

int main(int argc, char **argv) {
  const char *soname = argc > 1 ? argv[1] : "libpolylock.so.1";
  void *library = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    fprintf(stderr, "dlopen(%s): %s\n", soname, dlerror());
    return 1;
  }

  /* ISO C has no cast from object to function pointer; POSIX guarantees the
   * representations match, so the pointer is copied bytewise. */
#define RESOLVE(variable, name)                   \
  do {                                            \
    void *symbol = resolve(library, name);        \
    memcpy(&(variable), &symbol, sizeof symbol);  \
  } while (0)
  lock_t *(*new_lock)(void);
  void (*free_lock)(lock_t *);
  int (*acquire)(lock_t *, int64_t);
  int (*release)(lock_t *);
  int (*locked)(const lock_t *);
  const char *(*strerror_)(int);
  const char *(*version)(void);
  int (*reinit)(lock_t *);
  RESOLVE(new_lock, "lock_new");
  RESOLVE(free_lock, "lock_free");
  RESOLVE(acquire, "lock_acquire");
  RESOLVE(release, "lock_release");
  RESOLVE(locked, "lock_locked");
  RESOLVE(strerror_, "lock_strerror");
  RESOLVE(version, "lock_version");
  RESOLVE(reinit, "lock_reinit");
  CHECK(dlsym(library, "_ZN8polylock4core4Lock12release_slowEv") == NULL); /* internals stay inside */

  char expected[32];
  snprintf(expected, sizeof expected, "%d.%d.%d", LOCK_VERSION_MAJOR, LOCK_VERSION_MINOR,
           LOCK_VERSION_PATCH);
  CHECK(strcmp(version(), expected) == 0);

  lock_t *lock = new_lock();
  CHECK(lock != NULL);
  CHECK(locked(lock) == 0);
  CHECK(acquire(lock, LOCK_WAIT_FOREVER) == LOCK_OK);
  CHECK(locked(lock) == 1);
  CHECK(acquire(lock, 0) == LOCK_TIMEOUT);
  CHECK(acquire(lock, 1000000) == LOCK_TIMEOUT);
  CHECK(acquire(lock, -2) == LOCK_EINVAL);
  CHECK(acquire(NULL, 0) == LOCK_EINVAL);
  CHECK(release(lock) == LOCK_OK);
  CHECK(release(lock) == LOCK_ENOTLOCKED);
  CHECK(locked(NULL) == LOCK_EINVAL);
  CHECK(strcmp(strerror_(12345), "unknown") == 0);
  CHECK(acquire(lock, 0) == LOCK_OK);
  CHECK(reinit(lock) == LOCK_OK);
  CHECK(locked(lock) == 0);
  free_lock(lock);
  free_lock(NULL);

  dlclose(library);
  printf("dlopen(%s): %s\n", soname, failures ? "FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
