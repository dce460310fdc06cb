/* polylock — the Java binding's one SWIG interface over <polylock/lock.h>.
 *
 * SWIG turns the C header into two package-private classes of org.polylock:
 * LockNative (static methods, one per lock_* function, and the LOCK_*
 * constants) and LockNativeJNI (the native methods behind them). They are
 * plumbing: org.polylock.Lock is the public face, written by hand because
 * java.util.concurrent.locks.Lock, AutoCloseable and the Cleaner are
 * conventions SWIG cannot give.
 *
 * Typemaps shape the wrappers (besides the out parameters as arrays and
 * lock_fast_word's ByteBuffer, below):
 *   - lock_t * crosses as a Java long: no per-call wrapper object, so the
 *     uncontended lock()/unlock() path allocates nothing;
 *   - (lock_stop_fn stop, void *context) crosses as a StopCondition object:
 *     the C stop function below asks it, on the waiting thread, whether to
 *     give up the wait (an upcall through the waiting thread's own JNIEnv).
 */
%module(jniclassname="LockNativeJNI") LockNative

%include <stdint.i>

/* Plumbing, not API: package-private, final, no constructor worth calling. */
%pragma(java) moduleclassmodifiers="final class"
%pragma(java) jniclassclassmodifiers="final class"
%pragma(java) modulecode=%{
  private LockNative() {}
%}
%pragma(java) jniclasscode=%{
  // Whoever first touches a native method loads the libraries: from the jar's
  // resources, or from the directory named by -Dpolylock.library.path.
  static {
    NativeLoader.load();
  }

  private LockNativeJNI() {}
%}

/* The LOCK_* macros become compile-time constants of LockNative, through an
 * interface SWIG names LockNativeConstants. SWIG 4.3 can make that interface
 * package-private itself; with older SWIG the build removes its "public"
 * (bindings/java/package_private.cmake). */
%javaconst(1);
#if SWIG_VERSION >= 0x040300
%pragma(java) constantsmodifiers="interface"
#endif

/* LOCK_WAIT_FOREVER is a cast SWIG does not evaluate; its value is read from
 * the C header once, when LockNative is initialised. */
%javaconst(0) LOCK_WAIT_FOREVER;
%constant int64_t LOCK_WAIT_FOREVER = LOCK_WAIT_FOREVER;

/* The fast-path word's values carry C's unsigned suffix, which Java does not
 * parse: read from the header at initialisation too (as Java longs). */
%javaconst(0) LOCK_FAST_FREE;
%javaconst(0) LOCK_FAST_HELD;

/* ---- lock_t * as a Java long -------------------------------------------- */

%typemap(jni) lock_t *, const lock_t * "jlong"
%typemap(jtype) lock_t *, const lock_t * "long"
%typemap(jstype) lock_t *, const lock_t * "long"
%typemap(javain) lock_t *, const lock_t * "$javainput"
%typemap(javaout) lock_t * { return $jnicall; }
%typemap(in) lock_t *, const lock_t * %{ $1 = ($1_ltype)(intptr_t)$input; %}
%typemap(out) lock_t * %{ $result = (jlong)(intptr_t)$1; %}

/* ---- out parameters as one-element arrays ----------------------------------
 * lock_open stores its reason through an int *status, lock_fence its token
 * through a uint64_t *token (and the errno wrappers below their errno
 * through an int *error); in Java the caller passes an int[] or long[]
 * whose first element receives it (null: not wanted, as NULL in C, which
 * lock_fence answers with LOCK_EINVAL). SWIG's default, a pointer smuggled
 * through a jlong, breaks strict aliasing and means nothing in Java; its
 * OUTPUT typemaps shadow jni.h's jvalue, which -Wshadow refuses. */
%define POLYLOCK_OUT_PARAMETER(CTYPE, NAME, JNITYPE, JAVATYPE, JELEMENT, SETTER)
%typemap(jni) CTYPE *NAME "JNITYPE"
%typemap(jtype) CTYPE *NAME "JAVATYPE"
%typemap(jstype) CTYPE *NAME "JAVATYPE"
%typemap(javain) CTYPE *NAME "$javainput"
%typemap(in) CTYPE *NAME (CTYPE out_value) %{
  out_value = 0;
  $1 = $input ? &out_value : NULL;
%}
%typemap(argout) CTYPE *NAME %{
  if ($input && (*jenv)->GetArrayLength(jenv, $input) > 0) {
    JELEMENT element = (JELEMENT)out_value$argnum;
    (*jenv)->SETTER(jenv, $input, 0, 1, &element);
  }
%}
%enddef
POLYLOCK_OUT_PARAMETER(int, status, jintArray, int[], jint, SetIntArrayRegion)
POLYLOCK_OUT_PARAMETER(uint64_t, token, jlongArray, long[], jlong, SetLongArrayRegion)

/* ---- lock_fast_word as a direct ByteBuffer --------------------------------
 * The 4 bytes of the state word, viewed by a direct ByteBuffer over the
 * library's own memory (JNI's NewDirectByteBuffer), so that Java can
 * compare-and-swap it through a VarHandle (a supported API, no Unsafe); null
 * for a kind of lock without a word. The buffer owns nothing: the binding
 * keeps a reference to the lock for as long as the buffer can be used
 * (NativeLock.java). */
%typemap(jni) uint32_t *lock_fast_word "jobject"
%typemap(jtype) uint32_t *lock_fast_word "java.nio.ByteBuffer"
%typemap(jstype) uint32_t *lock_fast_word "java.nio.ByteBuffer"
%typemap(javaout) uint32_t *lock_fast_word { return $jnicall; }
%typemap(out) uint32_t *lock_fast_word
%{ $result = $1 ? (*jenv)->NewDirectByteBuffer(jenv, $1, (jlong)sizeof *$1) : NULL; %}

/* ---- the stop function as a StopCondition ------------------------------- */

%{
#include <stdint.h>

#include "polylock/lock.h"

/* What the stop function needs: the waiting thread's JNIEnv (the upcall runs
 * on that thread, inside the native call, so the pointer is valid), the
 * StopCondition to ask, and whether the library has asked yet. It lives on
 * the wrapper's stack for one call. */
typedef struct polylock_java_stop {
  JNIEnv *env;
  jobject condition;
  int asked;
} polylock_java_stop;

/* Called by lock_acquire_interruptible before the first sleep and then each
 * time the wait is disturbed. The first ask is answered here, "go on", with
 * no upcall: everyone in the binding who wants a wait to stop -- close()
 * and the interrupt watcher (NativeHandle.java, InterruptibleWait.java) --
 * keeps calling lock_interrupt until the wait has ended, so a stop wanted
 * before the first sleep is heard at the next disturbance, and every
 * contended wait saves an upcall. Later asks go to Java, looking the method
 * up each time: disturbances are rare, and this keeps the glue free of
 * global references and class caches. If the upcall throws, the exception
 * stays pending and the wait gives up: the wrapper returns and Java
 * rethrows it. */
static int polylock_java_should_stop(void *context) {
  polylock_java_stop *stop = (polylock_java_stop *)context;
  JNIEnv *env = stop->env;
  jboolean answer = JNI_TRUE;
  jclass cls;
  if (!stop->asked) {
    stop->asked = 1;
    return 0;
  }
  cls = (*env)->GetObjectClass(env, stop->condition);
  if (cls) {
    jmethodID method = (*env)->GetMethodID(env, cls, "stopRequested", "()Z");
    if (method) answer = (*env)->CallBooleanMethod(env, stop->condition, method);
    (*env)->DeleteLocalRef(env, cls);
  }
  if ((*env)->ExceptionCheck(env)) return 1;
  return answer ? 1 : 0;
}
%}

%typemap(jni) (lock_stop_fn stop, void *context) "jobject"
%typemap(jtype) (lock_stop_fn stop, void *context) "StopCondition"
%typemap(jstype) (lock_stop_fn stop, void *context) "StopCondition"
%typemap(javain) (lock_stop_fn stop, void *context) "$javainput"
%typemap(in) (lock_stop_fn stop, void *context) (polylock_java_stop stop_state) %{
  stop_state.env = jenv;
  stop_state.condition = $input;
  stop_state.asked = 0;
  $1 = $input ? polylock_java_should_stop : NULL;
  $2 = &stop_state;
%}

/* ---- errno after lock_open and lock_unlink --------------------------------
 * Both report a failed system call as LOCK_ESYS and leave errno telling which
 * (ENOENT: unlink of a name that does not exist, as unlink(2)). A second JNI
 * call could not read it reliably: between the two the JVM may make system
 * calls of its own on the thread. So these two wrappers read errno right
 * after the call and hand it out through an int[] (as lock_open's status;
 * null: not wanted), and Lock.java turns it into java.nio.file's exceptions. */
POLYLOCK_OUT_PARAMETER(int, error, jintArray, int[], jint, SetIntArrayRegion)
%rename(openSavingErrno) polylock_java_open;
%rename(unlinkSavingErrno) polylock_java_unlink;
%rename(errnoText) polylock_java_errno_text;
%javaconst(0) ERRNO_ENOENT;
%constant int ERRNO_ENOENT = ENOENT;
%{
#include <errno.h>
#include <string.h>
%}
%inline %{
/* lock_open, and errno as it left it (0 where it set none). */
static lock_t *polylock_java_open(const char *name, int *status, int *error) {
  lock_t *lock;
  errno = 0;
  lock = lock_open(name, status);
  if (error) *error = errno;
  return lock;
}

/* lock_unlink, and errno as it left it (0 where it set none). */
static int polylock_java_unlink(const char *name, int *error) {
  int status;
  errno = 0;
  status = lock_unlink(name);
  if (error) *error = errno;
  return status;
}

/* The C library's text for an errno value (strerror). */
static const char *polylock_java_errno_text(int error) { return strerror(error); }
%}

/* The export macro means nothing to SWIG; the typedef of the stop function
 * itself is not needed in Java. */
#define POLYLOCK_API
%ignore lock_stop_fn;

%include "polylock/lock.h"
