/* polylock: the Windows JNI glue inside the jar, checked without a Windows
 * JVM. Run under Wine with the jar's win32-x86-64 folder as its argument, it
 * loads polylock.dll and then polylock_jni.dll by full path, in the order the
 * jar's loader uses (libraries.list), and calls the JNI entry points whose
 * SWIG glue never touches the JNIEnv (so NULL stands in for it). A type size
 * or calling convention that differed from the Java side's would show here
 * as a wrong status. Prints one line per check; exits nonzero on the first
 * failure. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "polylock/lock.h"
#include "jni.h"

typedef jlong(JNICALL *new_fn)(JNIEnv *, jclass);
typedef void(JNICALL *free_fn)(JNIEnv *, jclass, jlong);
typedef jint(JNICALL *acquire_fn)(JNIEnv *, jclass, jlong, jlong);
typedef jint(JNICALL *handle_fn)(JNIEnv *, jclass, jlong);

static int failures = 0;

static void check(const char *what, long got, long want) {
  printf("%s: %ld (want %ld) %s\n", what, got, want, got == want ? "ok" : "FAILED");
  if (got != want) failures++;
}

static HMODULE load(const char *folder, const char *name) {
  char path[MAX_PATH];
  snprintf(path, sizeof path, "%s\\%s", folder, name);
  HMODULE module = LoadLibraryA(path);
  printf("load %s: %s\n", path, module ? "ok" : "FAILED");
  return module;
}

static FARPROC entry(HMODULE module, const char *name) {
  FARPROC function = GetProcAddress(module, name);
  if (!function) {
    printf("no entry point %s: FAILED\n", name);
    failures++;
  }
  return function;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: jni_glue_check <folder with polylock.dll and polylock_jni.dll>\n");
    return 2;
  }
  if (!load(argv[1], "polylock.dll")) return 1;
  HMODULE glue = load(argv[1], "polylock_jni.dll");
  if (!glue) return 1;

/* The glue's entry point for lock_<name>, as a function of the given type. */
#define GLUE(type, name) \
  ((type)(void (*)(void))entry(glue, "Java_org_polylock_LockNativeJNI_lock_1" name))
  new_fn lock_new_ = GLUE(new_fn, "new");
  free_fn lock_free_ = GLUE(free_fn, "free");
  acquire_fn acquire = GLUE(acquire_fn, "acquire");
  handle_fn release = GLUE(handle_fn, "release");
  handle_fn locked = GLUE(handle_fn, "locked");
  handle_fn reinit = GLUE(handle_fn, "reinit");
  if (failures) return 1;

  jlong lock = lock_new_(NULL, NULL);
  check("lock_new is not NULL", lock != 0, 1);
  check("acquire(0) of a free lock", acquire(NULL, NULL, lock, 0), LOCK_OK);
  check("locked", locked(NULL, NULL, lock), 1);
  check("acquire(1 ms) of a held lock", acquire(NULL, NULL, lock, 1000000), LOCK_TIMEOUT);
  /* a 64-bit timeout must arrive whole: INT64_MIN is LOCK_EINVAL, -1 is not */
  check("acquire(INT64_MIN)", acquire(NULL, NULL, lock, INT64_MIN), LOCK_EINVAL);
  check("release", release(NULL, NULL, lock), LOCK_OK);
  check("release again", release(NULL, NULL, lock), LOCK_ENOTLOCKED);
  check("acquire(-1) of a free lock", acquire(NULL, NULL, lock, LOCK_WAIT_FOREVER), LOCK_OK);
  check("reinit", reinit(NULL, NULL, lock), LOCK_OK);
  check("locked after reinit", locked(NULL, NULL, lock), 0);
  check("release of a NULL lock", release(NULL, NULL, 0), LOCK_EINVAL);
  lock_free_(NULL, NULL, lock);
  printf("%s\n", failures ? "FAILED" : "all checks passed");
  return failures ? 1 : 0;
}
