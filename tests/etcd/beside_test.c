/* lock_open finds libpolylock-etcd.so.1 in the directory of the
 * libpolylock.so.1 that serves it, with no RUNPATH and no LD_LIBRARY_PATH:
 * the tarball's lib/ and a --prefix install hold the two side by side
 * (docs/install.md). argv[1]: a directory holding copies of both, and
 * nothing else on the loader's path may hold the etcd library.
 *
 * Needs no etcd server: an etcd:// name that found its backend does not come
 * back LOCK_ENOTSUP ("the backend is missing"), whatever the server says. */
#include <dlfcn.h>
#include <stdio.h>

#include "polylock/lock.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIRECTORY\n", argv[0]);
    return 2;
  }
  void *anywhere = dlopen("libpolylock-etcd.so.1", RTLD_NOW | RTLD_LOCAL);
  if (anywhere) {
    printf("the loader finds libpolylock-etcd.so.1 by itself here: this test cannot tell\n");
    return 77; /* CTest's SKIP_RETURN_CODE */
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/libpolylock.so.1", argv[1]);
  void *core = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!core) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  /* POSIX's way to store dlsym's void * in a function pointer (dlsym(3)). */
  lock_t *(*open_named)(const char *, int *) = NULL;
  void (*free_lock)(lock_t *) = NULL;
  *(void **)(&open_named) = dlsym(core, "lock_open");
  *(void **)(&free_lock) = dlsym(core, "lock_free");
  if (!open_named || !free_lock) {
    fprintf(stderr, "%s exports no lock_open or lock_free\n", path);
    return 1;
  }
  int status = -100;
  lock_t *lock = open_named("etcd://127.0.0.1:1/beside", &status);
  if (!lock && status == LOCK_ENOTSUP) {
    fprintf(stderr, "lock_open did not find libpolylock-etcd.so.1 beside %s\n", path);
    return 1;
  }
  if (lock) free_lock(lock);
  printf("the etcd kind was found beside %s (lock_open: %s)\n", path,
         lock ? "a handle" : "an error other than LOCK_ENOTSUP");
  return 0;
}
