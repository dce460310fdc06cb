// One process, four faces, one lock (issue 11, "the proof that matters").
//
// This program hosts .NET (nethost/hostfxr), a JVM (JNI_CreateJavaVM) and
// CPython (python3-embed), in the order and with the settings that
// /work/shared/HOSTING.md found safe. Each runtime loads the polylock binding
// from its shipped artifact: the wheel (extracted to a temporary directory),
// the jar (-Djava.class.path) and the NuGet package (restored into a small
// class library at build time). The host then opens a copy of libpolylock of
// its own, by path, makes one lock, and hands the same lock_t* to every
// runtime, which wraps it with its own reference (from_handle / fromHandle /
// FromHandle).
//
// Phases (each bounded: a watchdog ends the process with the phase's name if
// one does not finish in time, so a bug fails the test instead of hanging it):
//   copies   each face makes a probe lock; the copy of libpolylock that made it
//            is named from the lock's frozen header (dladdr on its table). The
//            host's copy must differ from every runtime's, and the runtimes
//            must not all share one. (On Linux the jar's JNI glue, which names
//            libpolylock.so.1 as DT_NEEDED, is bound by the loader to whichever
//            libpolylock.so.1 was mapped first -- here the wheel's -- so the
//            jar's own copy is mapped but idle: three copies in use, four mapped.)
//   hammer   2 Python, 2 Java, 2 .NET and 2 native threads increment a plain,
//            non-atomic int under the one lock, mixing blocking, try and
//            timed acquires; a holder of another runtime may leave the lock
//            held and post it to a mailbox, and a thread of a different
//            runtime (or a native thread) takes it and releases it through
//            its own face. Every holder checks that it is alone.
//   gil      a Java thread holds the lock; a Python thread blocks on it; the
//            Java thread then calls into Python (PyGILState_Ensure) before
//            releasing: the GIL is free while a Python thread waits. Then the
//            same with a native thread as the holder.
//   gc       a Java thread, then a .NET thread, waits long on the held lock
//            while its runtime runs a full collection, which also finalizes
//            wrappers of the lock that were dropped unclosed.
//   drop     the host and each runtime drop their reference in a seeded random
//            order; the reference count is read from the frozen header before
//            each drop, and the last drop must free the lock's memory (the
//            host watches free() for that address).
//
// Usage: multiruntime_host <libpolylock> <wheel> <jar:classes> <dotnet dir>
//        <python script dir> [seed] [iterations per thread]
#include <Python.h>

#include <coreclr_delegates.h>
#include <dlfcn.h>
#include <link.h>
#include <hostfxr.h>
#include <jni.h>
#include <nethost.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lock_object.hpp"  // the frozen header: references, ops
#include "polylock/lock.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define MR_ASAN 1
#else
#define MR_ASAN 0
#endif

namespace {

// ---- free() watch: the last lock_free must free the lock's memory ----------
std::atomic<void*> watched_address{nullptr};
std::atomic<int> watched_frees{0};

}  // namespace

#if !MR_ASAN
extern "C" void __libc_free(void*);

// Every free() in the process passes here (the host is linked with -rdynamic,
// so its definition comes first); only the lock's address is counted. Under
// ASan, whose free() this would displace, the lock's memory is checked for
// ASan's poison instead (freed memory waits, poisoned, in its quarantine).
extern "C" void free(void* pointer) noexcept {
  if (pointer != nullptr && pointer == watched_address.load(std::memory_order_relaxed)) {
    watched_frees.fetch_add(1);
  }
  __libc_free(pointer);
}
#endif

namespace {
// Whether the lock's memory has been freed (the frees counted, or ASan's poison).
int lock_frees(const void* address) {
#if MR_ASAN
  return __asan_address_is_poisoned(address) ? 1 : 0;
#else
  (void)address;
  return watched_frees.load();
#endif
}
}  // namespace

namespace {

using Clock = std::chrono::steady_clock;

// Runtime ids, shared with the three sides.
enum Runtime { kNative = 1, kPython = 2, kJava = 3, kDotnet = 4 };
const char* runtime_name(int r) {
  switch (r) {
    case kNative: return "native";
    case kPython: return "python";
    case kJava: return "java";
    case kDotnet: return "dotnet";
    default: return "?";
  }
}

// ---- failures and the watchdog ---------------------------------------------
std::mutex state_mutex;
std::condition_variable state_changed;
std::vector<std::string> failures;
std::string phase = "start";
bool finished = false;

void fail(const char* format, ...) {
  char text[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof text, format, args);
  va_end(args);
  std::lock_guard<std::mutex> guard(state_mutex);
  failures.push_back(text);
  if (failures.size() <= 40) {  // the first ones tell; a broken lock makes thousands
    std::fprintf(stderr, "multiruntime: FAIL: %s\n", text);
    std::fflush(stderr);
  }
}

void set_phase(const char* name) {
  {
    std::lock_guard<std::mutex> guard(state_mutex);
    phase = name;
  }
  std::printf("multiruntime: phase %s\n", name);
  std::fflush(stdout);
}

// ---- the host's own copy of libpolylock, opened by path, RTLD_LOCAL ---------
struct Library {
  lock_t* (*lock_new)();
  void (*lock_free)(lock_t*);
  lock_t* (*lock_ref)(lock_t*);
  int (*lock_acquire)(lock_t*, int64_t);
  int (*lock_release)(lock_t*);
  uint32_t* (*lock_fast_word)(lock_t*);
  const char* (*lock_version)();
} lib;

template <typename F>
void resolve(void* handle, F& function, const char* name) {
  function = reinterpret_cast<F>(dlsym(handle, name));
  if (function == nullptr) {
    std::fprintf(stderr, "multiruntime: %s not found in the host's libpolylock\n", name);
    std::exit(2);
  }
}

lock_t* shared_lock = nullptr;
const void* released_address = nullptr;  // the shared lock's, kept for mr_released

int references() {
  return static_cast<int>(reinterpret_cast<struct lock*>(shared_lock)->references.load());
}

// ---- what every runtime calls: the shared counter and its checks ------------
int counter = 0;  // plain and non-atomic on purpose: only the lock protects it
std::atomic<int> holders{0};
std::atomic<long> enters{0};
std::atomic<int> overlaps{0};
std::atomic<int> mailbox{0};  // runtime id of a holder that posted the held lock
std::atomic<long> posts{0}, takes{0};
std::atomic<int> workers_done{0};
std::atomic<int> posters_done{0};
long successes[5] = {0, 0, 0, 0, 0};
long released_for_others[5] = {0, 0, 0, 0, 0};

}  // namespace

// The C functions the three runtimes call (exported: Python finds them with
// ctypes.CDLL(None); the JVM gets them through RegisterNatives; .NET through
// a table of function pointers).
extern "C" {

// Called by a thread that has just acquired the lock.
__attribute__((visibility("default"))) int mr_enter(int who) {
  if (holders.fetch_add(1) != 0) {
    overlaps.fetch_add(1);
    fail("two holders at once (the second is %s)", runtime_name(who));
  }
  enters.fetch_add(1, std::memory_order_relaxed);
  // A read-modify-write with a window: lost updates would show without the lock.
  int value = *static_cast<volatile int*>(&counter);
  for (int i = 0; i < 16; ++i) {
    __asm__ __volatile__("pause");
  }
  *static_cast<volatile int*>(&counter) = value + 1;
  return value + 1;
}

// Called by the thread that is about to release the lock.
__attribute__((visibility("default"))) void mr_leave(int who) {
  if (holders.fetch_sub(1) != 1) {
    overlaps.fetch_add(1);
    fail("release by %s while %d held", runtime_name(who), holders.load() + 1);
  }
}

// A holder leaves the lock held for a thread of another runtime to release.
__attribute__((visibility("default"))) void mr_post(int who) {
  int expected = 0;
  if (!mailbox.compare_exchange_strong(expected, who)) {
    fail("%s posted the lock while %s's post was pending", runtime_name(who),
         runtime_name(expected));
  }
  posts.fetch_add(1);
}

// Takes a lock posted by another runtime: the caller now releases it.
__attribute__((visibility("default"))) int mr_take(int who) {
  int posted = mailbox.load();
  if (posted == 0 || posted == who) return 0;
  if (!mailbox.compare_exchange_strong(posted, 0)) return 0;
  takes.fetch_add(1);
  return 1;
}

__attribute__((visibility("default"))) void mr_done(int who, long long ok, long long given) {
  {
    std::lock_guard<std::mutex> guard(state_mutex);
    successes[who] += static_cast<long>(ok);
    released_for_others[who] += static_cast<long>(given);
  }
  if (who != kNative) posters_done.fetch_add(1);
  workers_done.fetch_add(1);
  state_changed.notify_all();
}

__attribute__((visibility("default"))) void mr_fail(const char* message) {
  fail("%s", message);
}

__attribute__((visibility("default"))) int mr_references() { return references(); }

// Whether the shared lock has exactly `target` references left, or, for 0,
// has been freed. A side polls this after it let go of its wrapper, while its
// runtime's collector returns what the wrapper still held.
__attribute__((visibility("default"))) int mr_released(int target) {
  if (lock_frees(released_address) != 0) return target == 0 ? 1 : 0;
  return target > 0 && references() == target ? 1 : 0;
}

}  // extern "C"

namespace {

// Waits until a thread is queued on the shared lock (the state word shows more
// than "held"), as it is once it sleeps in the wait.
bool wait_for_waiter(int timeout_ms) {
  std::atomic<uint32_t>* word =
      reinterpret_cast<std::atomic<uint32_t>*>(lib.lock_fast_word(shared_lock));
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int seen = 0;
  while (Clock::now() < deadline) {
    uint32_t value = word->load();
    if ((value & LOCK_FAST_HELD) == 0) {
      fail("the lock is not held while a waiter is expected");
      return false;
    }
    seen = value != LOCK_FAST_HELD ? seen + 1 : 0;
    if (seen >= 3) return true;  // stable over a few milliseconds
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

// Signals from the sides (the gil phase's "held").
int signalled = 0;
void signal(int what) {
  {
    std::lock_guard<std::mutex> guard(state_mutex);
    signalled = what;
  }
  state_changed.notify_all();
}
bool wait_signal(int what, int timeout_ms) {
  std::unique_lock<std::mutex> guard(state_mutex);
  return state_changed.wait_for(guard, std::chrono::milliseconds(timeout_ms),
                                [&] { return signalled == what; });
}

// ---- Python -----------------------------------------------------------------
PyObject* py_module = nullptr;
PyThreadState* python_main = nullptr;

// Calls multiruntime.<function>(args) with the GIL; returns the result as a
// long, or -1 (and a failure) when it raised.
long py_call(const char* function, const char* format = nullptr, ...) {
  PyGILState_STATE gil = PyGILState_Ensure();
  long result = -1;
  PyObject* callable = PyObject_GetAttrString(py_module, function);
  PyObject* args = nullptr;
  if (callable != nullptr) {
    if (format != nullptr) {
      va_list list;
      va_start(list, format);
      args = Py_VaBuildValue(format, list);
      va_end(list);
    } else {
      args = PyTuple_New(0);
    }
  }
  PyObject* value = args != nullptr ? PyObject_CallObject(callable, args) : nullptr;
  if (value != nullptr) {
    result = PyLong_Check(value) ? PyLong_AsLong(value) : 0;
    Py_DECREF(value);
  } else {
    PyErr_Print();
    fail("python: multiruntime.%s raised", function);
  }
  Py_XDECREF(args);
  Py_XDECREF(callable);
  PyGILState_Release(gil);
  return result;
}

void start_python(const char* wheel, const char* script_dir) {
  // Py_InitializeEx(0): leave the JVM's signal handlers alone (HOSTING.md).
  // Isolated: nothing from the environment or the user's site-packages; the
  // binding comes from the wheel only.
  PyConfig config;
  PyConfig_InitIsolatedConfig(&config);
  config.install_signal_handlers = 0;
  config.write_bytecode = 0;
  PyStatus status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status)) {
    std::fprintf(stderr, "multiruntime: Python did not start: %s\n",
                 status.err_msg ? status.err_msg : "?");
    std::exit(2);
  }
  PyObject* sys_path = PySys_GetObject("path");  // borrowed
  PyObject* dir = PyUnicode_FromString(script_dir);
  PyList_Insert(sys_path, 0, dir);
  Py_DECREF(dir);
  py_module = PyImport_ImportModule("multiruntime");
  if (py_module == nullptr) {
    PyErr_Print();
    std::fprintf(stderr, "multiruntime: cannot import multiruntime.py from %s\n", script_dir);
    std::exit(2);
  }
  python_main = PyEval_SaveThread();  // the GIL is taken per call from now on
  if (py_call("install", "(s)", wheel) != 0) std::exit(2);
}

// ---- the JVM ------------------------------------------------------------------
JavaVM* jvm = nullptr;
jclass java_class = nullptr;  // MultiRuntime, a global reference

JNIEnv* java_env() {
  JNIEnv* env = nullptr;
  if (jvm->GetEnv(reinterpret_cast<void**>(&env), JNI_VERSION_10) == JNI_EDETACHED) {
    jvm->AttachCurrentThread(reinterpret_cast<void**>(&env), nullptr);
  }
  return env;
}

bool java_exception(JNIEnv* env, const char* what) {
  if (!env->ExceptionCheck()) return false;
  env->ExceptionDescribe();
  env->ExceptionClear();
  fail("java: %s threw", what);
  return true;
}

// Calls static long MultiRuntime.<name>(long, long, long); -1 if it threw.
long java_call(const char* name, long a = 0, long b = 0, long c = 0) {
  JNIEnv* env = java_env();
  jmethodID method = env->GetStaticMethodID(java_class, name, "(JJJ)J");
  if (method == nullptr) {
    java_exception(env, name);
    return -1;
  }
  jlong result = env->CallStaticLongMethod(java_class, method, static_cast<jlong>(a),
                                           static_cast<jlong>(b), static_cast<jlong>(c));
  if (java_exception(env, name)) return -1;
  return static_cast<long>(result);
}

jint JNICALL j_enter(JNIEnv*, jclass, jint who) { return mr_enter(who); }
void JNICALL j_leave(JNIEnv*, jclass, jint who) { mr_leave(who); }
void JNICALL j_post(JNIEnv*, jclass, jint who) { mr_post(who); }
jboolean JNICALL j_take(JNIEnv*, jclass, jint who) { return mr_take(who) ? JNI_TRUE : JNI_FALSE; }
void JNICALL j_done(JNIEnv*, jclass, jint who, jlong ok, jlong given) { mr_done(who, ok, given); }
void JNICALL j_fail(JNIEnv* env, jclass, jstring message) {
  const char* text = env->GetStringUTFChars(message, nullptr);
  fail("java: %s", text != nullptr ? text : "?");
  if (text != nullptr) env->ReleaseStringUTFChars(message, text);
}
jint JNICALL j_references(JNIEnv*, jclass) { return references(); }
void JNICALL j_signal(JNIEnv*, jclass, jint what) { signal(what); }
jboolean JNICALL j_wait_for_waiter(JNIEnv*, jclass, jint ms) {
  return wait_for_waiter(ms) ? JNI_TRUE : JNI_FALSE;
}
// From a Java thread that holds the shared lock while a Python thread waits
// for it: takes the GIL. This returns only if the waiting thread let go of it.
jlong JNICALL j_call_python(JNIEnv*, jclass) { return py_call("probe"); }
jboolean JNICALL j_released(JNIEnv*, jclass, jint target) {
  return mr_released(target) ? JNI_TRUE : JNI_FALSE;
}

void start_java(const char* class_path) {
  std::string class_path_option = std::string("-Djava.class.path=") + class_path;
  JavaVMOption options[] = {
      {const_cast<char*>(class_path_option.c_str()), nullptr},
      {const_cast<char*>("-Xmx256m"), nullptr},
      {const_cast<char*>("-Xss1m"), nullptr},
  };
  JavaVMInitArgs args{};
  args.version = JNI_VERSION_10;
  args.nOptions = sizeof options / sizeof options[0];
  args.options = options;
  args.ignoreUnrecognized = JNI_FALSE;
  JNIEnv* env = nullptr;
  if (JNI_CreateJavaVM(&jvm, reinterpret_cast<void**>(&env), &args) != JNI_OK) {
    std::fprintf(stderr, "multiruntime: JNI_CreateJavaVM failed\n");
    std::exit(2);
  }
  jclass local = env->FindClass("MultiRuntime");
  if (local == nullptr) {
    env->ExceptionDescribe();
    std::fprintf(stderr, "multiruntime: class MultiRuntime not on %s\n", class_path);
    std::exit(2);
  }
  java_class = static_cast<jclass>(env->NewGlobalRef(local));
  env->DeleteLocalRef(local);
  JNINativeMethod natives[] = {
      {const_cast<char*>("enter"), const_cast<char*>("(I)I"), reinterpret_cast<void*>(j_enter)},
      {const_cast<char*>("leave"), const_cast<char*>("(I)V"), reinterpret_cast<void*>(j_leave)},
      {const_cast<char*>("post"), const_cast<char*>("(I)V"), reinterpret_cast<void*>(j_post)},
      {const_cast<char*>("take"), const_cast<char*>("(I)Z"), reinterpret_cast<void*>(j_take)},
      {const_cast<char*>("done"), const_cast<char*>("(IJJ)V"), reinterpret_cast<void*>(j_done)},
      {const_cast<char*>("fail"), const_cast<char*>("(Ljava/lang/String;)V"),
       reinterpret_cast<void*>(j_fail)},
      {const_cast<char*>("references"), const_cast<char*>("()I"),
       reinterpret_cast<void*>(j_references)},
      {const_cast<char*>("signal"), const_cast<char*>("(I)V"), reinterpret_cast<void*>(j_signal)},
      {const_cast<char*>("waitForWaiter"), const_cast<char*>("(I)Z"),
       reinterpret_cast<void*>(j_wait_for_waiter)},
      {const_cast<char*>("callPython"), const_cast<char*>("()J"),
       reinterpret_cast<void*>(j_call_python)},
      {const_cast<char*>("released"), const_cast<char*>("(I)Z"),
       reinterpret_cast<void*>(j_released)},
  };
  if (env->RegisterNatives(java_class, natives, sizeof natives / sizeof natives[0]) != 0) {
    env->ExceptionDescribe();
    std::fprintf(stderr, "multiruntime: RegisterNatives failed\n");
    std::exit(2);
  }
}

// ---- .NET ---------------------------------------------------------------------
// What .NET calls, as one table of function pointers (Hammer.HostApi in C#).
struct HostApi {
  int (*enter)(int);
  void (*leave)(int);
  void (*post)(int);
  int (*take)(int);
  void (*done)(int, long long, long long);
  void (*fail)(const char*);
  int (*references)();
  int (*wait_for_waiter)(int);
  int (*released)(int);
};
int host_wait_for_waiter(int ms) { return wait_for_waiter(ms) ? 1 : 0; }
HostApi host_api = {mr_enter, mr_leave, mr_post, mr_take, mr_done, mr_fail, mr_references,
                    host_wait_for_waiter, mr_released};

// Hammer's [UnmanagedCallersOnly] entry points all take (long, long, long)
// and return long; -1 is an exception (already reported through fail).
using DotnetEntry = long long (*)(long long, long long, long long);
std::map<std::string, DotnetEntry> dotnet_entries;
load_assembly_and_get_function_pointer_fn dotnet_load = nullptr;
std::string dotnet_assembly;

long dotnet_call(const char* name, long long a = 0, long long b = 0, long long c = 0) {
  auto found = dotnet_entries.find(name);
  if (found == dotnet_entries.end()) {
    void* pointer = nullptr;
    std::string method = name;
    int rc = dotnet_load(dotnet_assembly.c_str(), "MultiRuntime.Hammer, MultiRuntime",
                         method.c_str(), UNMANAGEDCALLERSONLY_METHOD, nullptr, &pointer);
    if (rc != 0 || pointer == nullptr) {
      fail("dotnet: Hammer.%s not found (0x%x)", name, static_cast<unsigned>(rc));
      return -1;
    }
    found = dotnet_entries.emplace(name, reinterpret_cast<DotnetEntry>(pointer)).first;
  }
  return static_cast<long>(found->second(a, b, c));
}

void start_dotnet(const std::string& dir) {
  // The JVM will sit on top of CoreCLR's signal handlers (HOSTING.md).
  setenv("DOTNET_EnableAlternateStackCheck", "1", 1);
  char hostfxr_path[4096];
  size_t size = sizeof hostfxr_path;
  if (get_hostfxr_path(hostfxr_path, &size, nullptr) != 0) {
    std::fprintf(stderr, "multiruntime: nethost found no hostfxr\n");
    std::exit(2);
  }
  void* hostfxr = dlopen(hostfxr_path, RTLD_NOW | RTLD_LOCAL);
  if (hostfxr == nullptr) {
    std::fprintf(stderr, "multiruntime: %s\n", dlerror());
    std::exit(2);
  }
  auto init = reinterpret_cast<hostfxr_initialize_for_runtime_config_fn>(
      dlsym(hostfxr, "hostfxr_initialize_for_runtime_config"));
  auto get_delegate = reinterpret_cast<hostfxr_get_runtime_delegate_fn>(
      dlsym(hostfxr, "hostfxr_get_runtime_delegate"));
  auto close = reinterpret_cast<hostfxr_close_fn>(dlsym(hostfxr, "hostfxr_close"));
  std::string config = dir + "/MultiRuntime.runtimeconfig.json";
  dotnet_assembly = dir + "/MultiRuntime.dll";
  hostfxr_handle context = nullptr;
  int rc = init(config.c_str(), nullptr, &context);
  if (rc != 0 || context == nullptr) {
    std::fprintf(stderr, "multiruntime: hostfxr_initialize_for_runtime_config(%s): 0x%x\n",
                 config.c_str(), static_cast<unsigned>(rc));
    std::exit(2);
  }
  rc = get_delegate(context, hdt_load_assembly_and_get_function_pointer,
                    reinterpret_cast<void**>(&dotnet_load));
  close(context);
  if (rc != 0 || dotnet_load == nullptr) {
    std::fprintf(stderr, "multiruntime: no load_assembly_and_get_function_pointer: 0x%x\n",
                 static_cast<unsigned>(rc));
    std::exit(2);
  }
  if (dotnet_call("Install", reinterpret_cast<long long>(&host_api)) != 0) std::exit(2);
}

// ---- which copy of libpolylock made a lock ------------------------------------
std::string maker_of(long long handle) {
  if (handle == 0 || handle == -1) return "(no lock)";
  auto* header = reinterpret_cast<struct lock*>(handle);
  if (header->magic != polylock::capi::lock_magic) return "(not a 1.2 lock)";
  Dl_info info{};
  if (dladdr(header->ops, &info) == 0 || info.dli_fname == nullptr) return "(unknown)";
  return info.dli_fname;
}

// Every copy of libpolylock mapped in the process, used or not.
std::set<std::string> mapped_copies() {
  std::set<std::string> found;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        const char* name = info->dlpi_name;
        if (name != nullptr && std::strstr(name, "libpolylock") != nullptr &&
            std::strstr(name, "libpolylock_jni") == nullptr) {
          static_cast<std::set<std::string>*>(data)->insert(name);
        }
        return 0;
      },
      &found);
  return found;
}

// ---- the native hammer ------------------------------------------------------
void native_worker(int index, unsigned seed, long iterations) {
  std::mt19937 random(seed * 31u + 7u * static_cast<unsigned>(index));
  // Worker 0 never waits without a limit: it guarantees that a posted lock is
  // always taken, whatever the other threads wait on.
  const bool server = index == 0;
  long ok = 0, given = 0;
  auto release_posted = [&] {
    if (mr_take(kNative)) {
      mr_leave(kNative);
      if (lib.lock_release(shared_lock) != LOCK_OK) fail("native: release of a posted lock");
      ++given;
      return true;
    }
    return false;
  };
  while (ok < iterations) {
    release_posted();
    int kind = static_cast<int>(random() % 3);
    if (server && kind == 0) kind = 2;
    int64_t timeout = kind == 0 ? LOCK_WAIT_FOREVER
                      : kind == 1 ? 0
                                  : static_cast<int64_t>(random() % 2000) * 1000;
    int rc = lib.lock_acquire(shared_lock, timeout);
    if (rc == LOCK_TIMEOUT) {
      if (kind == 0) fail("native: a blocking acquire timed out");
      std::this_thread::yield();
      continue;
    }
    if (rc != LOCK_OK) {
      fail("native: lock_acquire returned %d", rc);
      break;
    }
    mr_enter(kNative);
    ++ok;
    mr_leave(kNative);
    if (lib.lock_release(shared_lock) != LOCK_OK) fail("native: lock_release failed");
  }
  // Serve the mailbox until every runtime's worker is done.
  if (server) {
    while (true) {
      bool all_done = posters_done.load() == 6;
      if (release_posted()) continue;
      if (all_done) break;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  mr_done(kNative, ok, given);
}

bool wait_workers(int count, int timeout_s) {
  std::unique_lock<std::mutex> guard(state_mutex);
  return state_changed.wait_for(guard, std::chrono::seconds(timeout_s),
                                [&] { return workers_done.load() >= count; });
}

void watchdog(int limit_s) {
  std::unique_lock<std::mutex> guard(state_mutex);
  if (!state_changed.wait_for(guard, std::chrono::seconds(limit_s), [] { return finished; })) {
    std::fprintf(stderr,
                 "multiruntime: FAIL: phase %s did not finish in %d s (a hang): counter %d, "
                 "holders %d, mailbox %d, references %d\n",
                 phase.c_str(), limit_s, counter, holders.load(), mailbox.load(),
                 shared_lock != nullptr ? references() : -1);
    std::fflush(stderr);
    _exit(3);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr,
                 "usage: %s <libpolylock> <wheel> <class path> <dotnet dir> <script dir> "
                 "[seed] [iterations]\n",
                 argv[0]);
    return 2;
  }
  const char* library_path = argv[1];
  const char* wheel = argv[2];
  const char* class_path = argv[3];
  const std::string dotnet_dir = argv[4];
  const char* script_dir = argv[5];
  const char* seed_text = argc > 6 ? argv[6] : std::getenv("POLYLOCK_MULTIRUNTIME_SEED");
  unsigned seed = seed_text != nullptr && *seed_text != '\0'
                      ? static_cast<unsigned>(std::strtoul(seed_text, nullptr, 0))
                      : static_cast<unsigned>(std::random_device{}());
  long iterations = argc > 7 ? std::strtol(argv[7], nullptr, 0) : 20000;
  std::printf("multiruntime: seed %u, %ld acquisitions per thread (rerun: %s ... %u %ld)\n",
              seed, iterations, argv[0], seed, iterations);
  std::fflush(stdout);
  auto started = Clock::now();
  std::thread dog(watchdog, 480);
  dog.detach();

  // .NET, then the JVM, then Python (HOSTING.md).
  set_phase("start");
  start_dotnet(dotnet_dir);
  start_java(class_path);
  start_python(wheel, script_dir);

  // Each face loads its library now, before the host opens its own copy by
  // path: the loader folds a later DT_NEEDED on libpolylock.so.1 onto the
  // first copy it mapped, and the host's must not be the one they fold onto.
  set_phase("copies");
  std::map<std::string, std::string> makers;
  makers["python"] = maker_of(py_call("probe_lock"));
  makers["java"] = maker_of(java_call("probeLock"));
  makers["dotnet"] = maker_of(dotnet_call("ProbeLock"));
  void* own = dlopen(library_path, RTLD_NOW | RTLD_LOCAL);
  if (own == nullptr) {
    std::fprintf(stderr, "multiruntime: %s\n", dlerror());
    return 2;
  }
  resolve(own, lib.lock_new, "lock_new");
  resolve(own, lib.lock_free, "lock_free");
  resolve(own, lib.lock_ref, "lock_ref");
  resolve(own, lib.lock_acquire, "lock_acquire");
  resolve(own, lib.lock_release, "lock_release");
  resolve(own, lib.lock_fast_word, "lock_fast_word");
  resolve(own, lib.lock_version, "lock_version");
  shared_lock = lib.lock_new();
  makers["host"] = maker_of(reinterpret_cast<long long>(shared_lock));
  std::set<std::string> copies;
  for (const auto& [face, file] : makers) {
    std::printf("multiruntime: %-6s uses %s\n", face.c_str(), file.c_str());
    if (file.empty() || file[0] != '/') fail("%s: which copy made its lock? %s", face.c_str(),
                                             file.c_str());
    copies.insert(file);
  }
  std::printf("multiruntime: %zu distinct copies of libpolylock in use\n", copies.size());
  // The loader folds a DT_NEEDED on libpolylock.so.1 (a binding's glue) onto
  // the first copy it mapped under that name, so a copy may be mapped and idle.
  for (const std::string& file : mapped_copies()) {
    std::printf("multiruntime: mapped %s\n", file.c_str());
  }
  for (const char* face : {"python", "java", "dotnet"}) {
    if (makers[face] == makers["host"]) {
      fail("%s uses the host's copy: the lock would not cross copies", face);
    }
  }
  if (makers["python"] == makers["dotnet"] && makers["java"] == makers["dotnet"]) {
    fail("every runtime uses one copy of libpolylock");
  }

  // Everyone wraps the host's lock with a reference of its own.
  // A binding may hold more than the one reference it owns (Java pins the
  // fast-path word with a second one until its collector reclaims the
  // wrapper): what each side holds is measured here and given back in "drop".
  set_phase("wrap");
  released_address = shared_lock;
  long long handle = reinterpret_cast<long long>(shared_lock);
  std::map<int, int> held;
  held[kNative] = 1;
  int refs = references();
  if (py_call("wrap", "(LIl)", handle, seed, iterations) != 0) fail("python could not wrap");
  held[kPython] = references() - refs;
  refs = references();
  if (java_call("wrap", handle, seed, iterations) != 0) fail("java could not wrap");
  held[kJava] = references() - refs;
  refs = references();
  if (dotnet_call("Wrap", handle, seed, iterations) != 0) fail("dotnet could not wrap");
  held[kDotnet] = references() - refs;
  const int steady = references();
  std::printf("multiruntime: references: host 1, python %d, java %d, dotnet %d\n",
              held[kPython], held[kJava], held[kDotnet]);
  for (int r = kPython; r <= kDotnet; ++r) {
    if (held[r] < 1) fail("%s's wrapper took %d references", runtime_name(r), held[r]);
  }

  // ---- hammer --------------------------------------------------------------
  set_phase("hammer");
  auto hammer_started = Clock::now();
  if (py_call("start") != 0) fail("python: start");
  if (java_call("start") != 0) fail("java: start");
  if (dotnet_call("Start") != 0) fail("dotnet: start");
  std::thread native0(native_worker, 0, seed, iterations);
  std::thread native1(native_worker, 1, seed, iterations);
  if (!wait_workers(8, 300)) fail("hammer: only %d of 8 workers finished", workers_done.load());
  native0.join();
  native1.join();
  if (py_call("join", "(d)", 60.0) != 1) fail("python: workers did not end");
  if (java_call("join", 60000) != 1) fail("java: workers did not end");
  if (dotnet_call("Join", 60000) != 1) fail("dotnet: workers did not end");
  double hammer_s = std::chrono::duration<double>(Clock::now() - hammer_started).count();
  long expected = 0;
  for (int r = kNative; r <= kDotnet; ++r) {
    std::printf("multiruntime: %-6s %ld acquisitions, %ld releases of others' holds\n",
                runtime_name(r), successes[r], released_for_others[r]);
    expected += successes[r];
  }
  std::printf("multiruntime: counter %d, expected %ld, enters %ld; %ld posts, %ld takes; %.1f s\n",
              counter, expected, enters.load(), posts.load(), takes.load(), hammer_s);
  if (expected != 8 * iterations) fail("acquisitions %ld, not %ld", expected, 8 * iterations);
  if (counter != expected || enters.load() != expected) fail("the count is not exact");
  if (posts.load() != takes.load() || mailbox.load() != 0) fail("a posted lock was not taken");
  if (overlaps.load() != 0) fail("%d overlaps", overlaps.load());
  if (holders.load() != 0) fail("holders %d after the hammer", holders.load());
  for (int r = kNative; r <= kDotnet; ++r) {
    if (released_for_others[r] == 0) fail("%s released no other runtime's hold", runtime_name(r));
  }

  // ---- gil: a Java thread holds, a Python thread waits, Java calls Python ----
  set_phase("gil");
  int before = counter;
  if (java_call("gilHolderStart") != 0) fail("java: gilHolderStart");
  if (!wait_signal(1, 60000)) fail("gil: the Java thread did not take the lock");
  if (py_call("gil_waiter_start") != 0) fail("python: gil_waiter_start");
  if (java_call("gilHolderJoin", 120000) != 42) fail("gil: the Java holder did not call Python");
  if (py_call("gil_waiter_join", "(d)", 120.0) != 1) fail("gil: the Python waiter did not finish");
  // The same with a native thread (one Python has never seen) as the holder.
  std::thread native_holder([] {
    if (lib.lock_acquire(shared_lock, 60'000'000'000) != LOCK_OK) {
      fail("gil: the native holder could not take the lock");
      return;
    }
    mr_enter(kNative);
    if (py_call("gil_waiter_start") != 0) fail("python: gil_waiter_start");
    if (!wait_for_waiter(60000)) {
      fail("gil: no Python thread came to wait for the native holder");
    } else if (py_call("probe") != 42) {
      fail("gil: the native holder's call into Python saw no waiter");
    }
    mr_leave(kNative);
    lib.lock_release(shared_lock);
  });
  native_holder.join();
  if (py_call("gil_waiter_join", "(d)", 120.0) != 1) fail("gil: the Python waiter did not finish");
  if (counter != before + 4) fail("gil: counter %d, not %d", counter, before + 4);

  // ---- gc: a long wait in Java, then in .NET, across a full collection -----
  set_phase("gc-java");
  before = counter;
  if (lib.lock_acquire(shared_lock, 0) != LOCK_OK) fail("gc: the lock is not free");
  mr_enter(kNative);
  if (java_call("gcWaiterStart", 120000) != 0) fail("java: gcWaiterStart");
  if (!wait_for_waiter(60000)) fail("gc: the Java thread does not wait");
  if (java_call("fullGc", 60000) != 1) fail("java: a full GC did not finish or reclaim");
  if (references() != steady) {
    fail("gc: references %d after Java's collection, not %d", references(), steady);
  }
  if (!wait_for_waiter(1000)) fail("gc: the Java thread stopped waiting during the GC");
  mr_leave(kNative);
  lib.lock_release(shared_lock);
  if (java_call("gcWaiterJoin", 120000) != 1) fail("gc: the Java waiter did not get the lock");

  set_phase("gc-dotnet");
  if (lib.lock_acquire(shared_lock, 0) != LOCK_OK) fail("gc: the lock is not free");
  mr_enter(kNative);
  if (dotnet_call("GcWaiterStart", 120000) != 0) fail("dotnet: GcWaiterStart");
  if (!wait_for_waiter(60000)) fail("gc: the .NET thread does not wait");
  if (dotnet_call("FullGc", 60000) != 1) fail("dotnet: a full GC did not finish or finalize");
  if (references() != steady) {
    fail("gc: references %d after .NET's collection, not %d", references(), steady);
  }
  if (!wait_for_waiter(1000)) fail("gc: the .NET thread stopped waiting during the GC");
  mr_leave(kNative);
  lib.lock_release(shared_lock);
  if (dotnet_call("GcWaiterJoin", 120000) != 1) fail("gc: the .NET waiter did not get the lock");
  if (counter != before + 4) fail("gc: counter %d, not %d", counter, before + 4);

  // ---- drop: every side lets go, in a seeded random order ---------------------
  set_phase("drop");
  std::vector<int> order = {kNative, kPython, kJava, kDotnet};
  std::shuffle(order.begin(), order.end(), std::mt19937(seed));
  std::printf("multiruntime: drop order");
  for (int r : order) std::printf(" %s", r == kNative ? "host" : runtime_name(r));
  std::printf("\n");
  watched_address.store(shared_lock);
  const void* address = shared_lock;
  int left = steady;
  for (int r : order) {
    if (lock_frees(address) != 0) {
      fail("the lock was freed with %d references left", left);
      break;  // its header is gone
    }
    if (references() != left) fail("before %s's drop: %d references, not %d",
                                   runtime_name(r), references(), left);
    left -= held[r];
    // Each runtime lets go of its wrapper, collects until what it held is back
    // (or, for the last, the lock is freed), and says whether it saw that.
    switch (r) {
      case kNative: lib.lock_free(shared_lock); break;
      case kPython:
        if (py_call("drop", "(i)", left) != 1) fail("python: drop did not give back its share");
        break;
      case kJava:
        if (java_call("drop", left, 60000) != 1) fail("java: drop did not give back its share");
        break;
      case kDotnet:
        if (dotnet_call("Drop", left, 60000) != 1) fail("dotnet: drop did not give back its share");
        break;
    }
    if (left > 0 && lock_frees(address) == 0 && references() != left) {
      fail("after %s's drop: %d references, not %d", runtime_name(r), references(), left);
    }
  }
  if (lock_frees(address) != 1) {
    fail("the last drop freed the lock %d times, not once", lock_frees(address));
  }
  watched_address.store(nullptr);
  shared_lock = nullptr;

  // ---- shutdown: Python, then the JVM; .NET cannot be unloaded --------------
  set_phase("shutdown");
  py_call("cleanup");
  PyEval_RestoreThread(python_main);
  if (Py_FinalizeEx() != 0) fail("Py_FinalizeEx");
  java_env()->DeleteGlobalRef(java_class);
  if (jvm->DestroyJavaVM() != JNI_OK) fail("DestroyJavaVM");
  dlclose(own);

  {
    std::lock_guard<std::mutex> guard(state_mutex);
    finished = true;
  }
  state_changed.notify_all();
  double total_s = std::chrono::duration<double>(Clock::now() - started).count();
  if (!failures.empty()) {
    std::printf("multiruntime: FAILED (%zu failures; seed %u), %.1f s\n", failures.size(), seed,
                total_s);
    return 1;
  }
  std::printf("multiruntime: passed in %.1f s (seed %u)\n", total_s, seed);
  return 0;
}
