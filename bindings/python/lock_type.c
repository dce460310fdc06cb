/* polylock Python binding — polylock.Lock, a drop-in for threading.Lock.
 *
 * Each method calls the C ABI directly; acquire's arguments are parsed in
 * acquire_args.c. The design follows CPython's own lock (Modules/_threadmodule.c):
 *
 *   - acquire first tries once with the GIL held: an uncontended lock costs no
 *     GIL hand-over. Only a real wait releases the GIL.
 *   - the wait is lock_acquire_interruptible: when a signal disturbs it, the
 *     stop function re-takes the GIL and runs the Python signal handlers. If
 *     one raised (Ctrl-C: KeyboardInterrupt) the wait ends with that exception
 *     and the lock is not taken; otherwise it goes on to the same deadline.
 *
 * Since 1.2 a Lock may also wrap a lock made elsewhere (from_handle,
 * from_capsule: a C library, another runtime, another copy of libpolylock) or
 * a named lock shared by processes (open); each Lock owns exactly one
 * reference to its lock_t and drops it in dealloc, so every side frees only
 * what it owns, in any order.
 */
#include "lock_type.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "acquire_args.h"
#include "named.h"
#include "polylock/lock.h"

typedef struct {
  PyObject_HEAD
  lock_t *lock;          /* one reference, owned: dropped in dealloc */
  PyObject *weakrefs;    /* for weakref.ref(lock) */
  int owner_died;        /* the last acquire through this object got LOCK_OWNERDEAD */
} LockObject;

/* The name of the capsule that carries a lock_t * (design.md §7). */
#define CAPSULE_NAME "polylock.lock_t"


/* What the waiting thread needs to run Python code from the stop function. */
typedef struct {
  PyThreadState *thread_state; /* saved while the GIL is released */
  int asked;                   /* the library's first ask, before any sleep, is done */
} Wait;

/* lock_stop_fn: runs the signal handlers with the GIL held; gives up the wait
 * (nonzero) when one of them raised. The exception stays set for the caller.
 *
 * The library also asks once before the first sleep, disturbed or not. That
 * ask is answered "go on" without the GIL: re-taking it there would cost
 * every contended acquire a GIL hand-over (up to the switch interval), and a
 * signal that landed before the thread slept is not one CPython's own lock
 * hears either. Every later ask comes from a signal or from lock_interrupt,
 * which nothing calls on a Python lock. */
static int stop_on_signal(void *context) {
  Wait *wait = (Wait *)context;
  if (!wait->asked) {
    wait->asked = 1;
    return 0;
  }
  PyEval_RestoreThread(wait->thread_state);
  int raised = PyErr_CheckSignals() < 0;
  wait->thread_state = PyEval_SaveThread();
  return raised;
}

static PyObject *acquire_for(LockObject *self, int64_t timeout_ns) {
  int status = lock_acquire(self->lock, 0);
  if (status == LOCK_TIMEOUT && timeout_ns != 0) {
    Wait wait = {NULL, 0};
    wait.thread_state = PyEval_SaveThread();
    status = lock_acquire_interruptible(self->lock, timeout_ns, stop_on_signal, &wait);
    PyEval_RestoreThread(wait.thread_state);
  }
  switch (status) {
    case LOCK_OK:
      self->owner_died = 0;
      Py_RETURN_TRUE;
    case LOCK_OWNERDEAD: /* held: a named lock whose holder's process died */
      self->owner_died = 1;
      Py_RETURN_TRUE;
    case LOCK_TIMEOUT:
      Py_RETURN_FALSE;
    case LOCK_EINTR:
      return NULL; /* a signal handler raised; its exception is set */
    default:
      return polylock_raise_status(status, errno);
  }
}

static PyObject *Lock_acquire(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames) {
  int64_t timeout_ns = -1;
  if ((nargs || kwnames) && polylock_parse_acquire_args(args, nargs, kwnames, &timeout_ns) < 0)
    return NULL;
  return acquire_for((LockObject *)self, timeout_ns);
}

static PyObject *Lock_release(PyObject *self, PyObject *unused) {
  (void)unused;
  int status = lock_release(((LockObject *)self)->lock);
  if (status == LOCK_OK) Py_RETURN_NONE;
  if (status != LOCK_ENOTLOCKED) return polylock_raise_status(status, errno);
  /* threading.Lock's words and type (_thread.error is RuntimeError). */
  PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
  return NULL;
}

/* __exit__(*exc_info): releases; the exception, if any, goes on. */
static PyObject *Lock_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
  (void)args;
  (void)nargs;
  return Lock_release(self, NULL);
}

static PyObject *Lock_locked(PyObject *self, PyObject *unused) {
  (void)unused;
  return PyBool_FromLong(lock_locked(((LockObject *)self)->lock) == 1);
}

static PyObject *Lock_at_fork_reinit(PyObject *self, PyObject *unused) {
  (void)unused;
  lock_reinit(((LockObject *)self)->lock);
  Py_RETURN_NONE;
}

/* A Lock that owns the one reference `lock` stands for; NULL (with an
 * exception) if out of memory, and the reference is then dropped. */
static PyObject *wrap_reference(PyTypeObject *type, lock_t *lock) {
  LockObject *self = (LockObject *)type->tp_alloc(type, 0);
  if (!self) {
    lock_free(lock);
    return NULL;
  }
  self->weakrefs = NULL;
  self->owner_died = 0;
  self->lock = lock;
  return (PyObject *)self;
}

static PyObject *Lock_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
  if (PyTuple_GET_SIZE(args) != 0 || (kwargs && PyDict_GET_SIZE(kwargs) != 0)) {
    PyErr_SetString(PyExc_TypeError, "Lock() takes no arguments");
    return NULL;
  }
  lock_t *lock = lock_new();
  if (!lock) return PyErr_NoMemory();
  return wrap_reference(type, lock);
}

static void Lock_dealloc(PyObject *self) {
  LockObject *lock = (LockObject *)self;
  if (lock->weakrefs) PyObject_ClearWeakRefs(self);
  /* Drops this object's reference; a held lock may be freed, and nobody can
   * be waiting through a dead object. Other owners keep theirs. */
  lock_free(lock->lock);
  Py_TYPE(self)->tp_free(self);
}

/* ---- Sharing one lock across runtimes (design.md §7) ----------------------------- */

/* Our own reference to a foreign `address`, or NULL with ValueError. lock_ref
 * refuses, without reading memory, what cannot be a lock (the first and last
 * page, a misaligned address, the kernel's half on x86-64; <polylock/lock.h>)
 * and then checks the lock's header; a freed or wild pointer is still the
 * caller's bug, as with free(). */
static lock_t *reference_foreign(uintptr_t address, const char *function) {
  lock_t *lock = lock_ref((lock_t *)address);
  if (!lock)
    PyErr_Format(PyExc_ValueError, "%s: %p is not the address of a polylock lock_t", function,
                 (void *)address);
  return lock;
}

static PyObject *Lock_from_handle(PyObject *type, PyObject *handle) {
  if (!PyLong_Check(handle) || PyBool_Check(handle)) {
    PyErr_Format(PyExc_TypeError, "Lock.from_handle() argument must be int, not %.200s",
                 Py_TYPE(handle)->tp_name);
    return NULL;
  }
  /* A pointer as an int is never negative (ctypes' c_void_p.value, cffi's
   * int(ffi.cast("uintptr_t", p))): a negative or too large int is no address. */
  unsigned long long address = PyLong_AsUnsignedLongLong(handle);
  if (address == (unsigned long long)-1 && PyErr_Occurred()) {
    if (!PyErr_ExceptionMatches(PyExc_OverflowError)) return NULL;
    PyErr_Clear();
    address = 0;
  } else if (address == 0) {
    PyErr_SetString(PyExc_ValueError, "Lock.from_handle(): the handle is 0 (a NULL lock_t *)");
    return NULL;
  }
  if (address == 0 || address > UINTPTR_MAX) {
    PyErr_Format(PyExc_ValueError, "Lock.from_handle(): %R is not an address", handle);
    return NULL;
  }
  lock_t *lock = reference_foreign((uintptr_t)address, "Lock.from_handle()");
  return lock ? wrap_reference((PyTypeObject *)type, lock) : NULL;
}

static PyObject *Lock_from_capsule(PyObject *type, PyObject *capsule) {
  if (!PyCapsule_CheckExact(capsule)) {
    PyErr_Format(PyExc_TypeError, "Lock.from_capsule() argument must be a capsule, not %.200s",
                 Py_TYPE(capsule)->tp_name);
    return NULL;
  }
  if (!PyCapsule_IsValid(capsule, CAPSULE_NAME)) {
    const char *name = PyCapsule_GetName(capsule);
    PyErr_Format(PyExc_ValueError,
                 "Lock.from_capsule(): the capsule is named %s%s%s, not '" CAPSULE_NAME "'",
                 name ? "'" : "", name ? name : "NULL", name ? "'" : "");
    return NULL;
  }
  void *pointer = PyCapsule_GetPointer(capsule, CAPSULE_NAME);
  if (!pointer) return NULL;
  lock_t *lock = reference_foreign((uintptr_t)pointer, "Lock.from_capsule()");
  return lock ? wrap_reference((PyTypeObject *)type, lock) : NULL;
}

static void drop_capsule_reference(PyObject *capsule) {
  lock_free((lock_t *)PyCapsule_GetPointer(capsule, CAPSULE_NAME));
}

/* The capsule holds a reference of its own, so the pointer inside stays valid
 * for as long as the capsule lives, even after this Lock is gone. */
static PyObject *Lock_capsule(PyObject *self, PyObject *unused) {
  (void)unused;
  lock_t *lock = lock_ref(((LockObject *)self)->lock);
  PyObject *capsule = PyCapsule_New(lock, CAPSULE_NAME, drop_capsule_reference);
  if (!capsule) lock_free(lock);
  return capsule;
}

static PyObject *Lock_get_handle(PyObject *self, void *unused) {
  (void)unused;
  return PyLong_FromVoidPtr(((LockObject *)self)->lock);
}

/* ---- Named locks (design.md §8) -------------------------------------------------- */

static PyObject *Lock_open(PyObject *type, PyObject *name) {
  lock_t *lock = polylock_open_named(name);
  return lock ? wrap_reference((PyTypeObject *)type, lock) : NULL;
}

static PyObject *Lock_get_owner_died(PyObject *self, void *unused) {
  (void)unused;
  return PyBool_FromLong(((LockObject *)self)->owner_died);
}

/* ---- Fencing tokens (design.md §10) ----------------------------------------------- */

/* lock_fence, in Python's words: the statuses mean what they mean elsewhere
 * in this binding (named.c): a hold this handle does not have is the
 * RuntimeError of release(), a kind without tokens the OSError(ENOTSUP) of
 * Lock.open() on a platform without named locks. The token is read from the
 * handle (no round trip), so the GIL stays held. */
static PyObject *Lock_fencing_token(PyObject *self, PyObject *unused) {
  (void)unused;
  uint64_t token = 0;
  const int status = lock_fence(((LockObject *)self)->lock, &token);
  switch (status) {
    case LOCK_OK:
      return PyLong_FromUnsignedLongLong(token);
    case LOCK_ENOTLOCKED:
      PyErr_SetString(PyExc_RuntimeError, "fencing token of a lock this handle does not hold");
      return NULL;
    case LOCK_ENOTSUP: {
      PyObject *error = PyObject_CallFunction(
          PyExc_OSError, "is", ENOTSUP,
          "fencing tokens are only for locks in a store shared by machines (etcd:// names)");
      if (error) {
        PyErr_SetObject((PyObject *)Py_TYPE(error), error);
        Py_DECREF(error);
      }
      return NULL;
    }
    default:
      return polylock_raise_status(status, errno);
  }
}

static PyObject *Lock_repr(PyObject *self) {
  return PyUnicode_FromFormat("<%s %s object at %p>",
                              lock_locked(((LockObject *)self)->lock) == 1 ? "locked" : "unlocked",
                              Py_TYPE(self)->tp_name, self);
}

/* The casts go through void (*)(void): the documented way to store a
 * METH_FASTCALL function in a PyMethodDef without a cast-function-type warning. */
#define METHOD(fn) ((PyCFunction)(void (*)(void))(fn))

static PyMethodDef Lock_methods[] = {
    {"acquire", METHOD(Lock_acquire), METH_FASTCALL | METH_KEYWORDS,
     "acquire($self, /, blocking=True, timeout=-1)\n--\n\n"
     "Take the lock, waiting as long as `timeout` says (seconds; -1 waits\n"
     "without limit); with blocking=False, only try. Return True if taken,\n"
     "False if not. Arguments and errors are those of threading.Lock.acquire.\n"
     "Ctrl-C (any signal handler that raises) ends a wait; the lock is then\n"
     "not taken."},
    {"__enter__", METHOD(Lock_acquire), METH_FASTCALL | METH_KEYWORDS,
     "__enter__($self, /, blocking=True, timeout=-1)\n--\n\n"
     "acquire(), for the with statement."},
    {"release", Lock_release, METH_NOARGS,
     "release($self, /)\n--\n\n"
     "Release the lock; any thread may release it. Wakes one waiting thread.\n"
     "RuntimeError('release unlocked lock') if it is not locked."},
    {"__exit__", METHOD(Lock_exit), METH_FASTCALL,
     "__exit__($self, *exc_info, /)\n--\n\nrelease(), for the with statement."},
    {"locked", Lock_locked, METH_NOARGS,
     "locked($self, /)\n--\n\n"
     "Whether the lock is held right now. Only a snapshot: another thread may\n"
     "take or release it before the caller acts on the answer."},
    /* _thread.lock's obsolete synonyms, which threading.Lock still has
     * (CPython 3.8-3.13): code written against them keeps working. */
    {"acquire_lock", METHOD(Lock_acquire), METH_FASTCALL | METH_KEYWORDS,
     "acquire_lock($self, /, blocking=True, timeout=-1)\n--\n\n"
     "An obsolete synonym of acquire(), as threading.Lock has."},
    {"release_lock", Lock_release, METH_NOARGS,
     "release_lock($self, /)\n--\n\n"
     "An obsolete synonym of release(), as threading.Lock has."},
    {"locked_lock", Lock_locked, METH_NOARGS,
     "locked_lock($self, /)\n--\n\n"
     "An obsolete synonym of locked(), as threading.Lock has."},
    {"_at_fork_reinit", Lock_at_fork_reinit, METH_NOARGS,
     "_at_fork_reinit($self, /)\n--\n\n"
     "Make the lock unlocked with no waiters, in a child process after fork().\n"
     "Never call it while other threads may use the lock."},
    {"from_handle", Lock_from_handle, METH_O | METH_CLASS,
     "from_handle($type, handle, /)\n--\n\n"
     "Wrap a lock made elsewhere (a C library, another runtime, another copy\n"
     "of libpolylock) from its lock_t * address, an int (ctypes' c_void_p.value,\n"
     "cffi's int(ffi.cast('uintptr_t', p))). The new Lock takes a reference of\n"
     "its own (lock_ref) and drops it when it dies; the maker frees its own.\n"
     "TypeError for a non-int (None, bool), ValueError for 0, a negative number\n"
     "or an address that is not a polylock lock."},
    {"from_capsule", Lock_from_capsule, METH_O | METH_CLASS,
     "from_capsule($type, capsule, /)\n--\n\n"
     "Wrap the lock_t * in a PyCapsule named 'polylock.lock_t' (from a C\n"
     "extension, or from Lock.capsule()), taking a reference of its own.\n"
     "TypeError for a non-capsule, ValueError for another capsule name."},
    {"capsule", Lock_capsule, METH_NOARGS,
     "capsule($self, /)\n--\n\n"
     "A PyCapsule named 'polylock.lock_t' holding this lock's lock_t *, for C\n"
     "extensions. The capsule holds a reference of its own: the pointer is\n"
     "valid while the capsule lives. To keep it longer, call lock_ref on it\n"
     "and lock_free when done."},
    {"open", Lock_open, METH_O | METH_CLASS,
     "open($type, name, /)\n--\n\n"
     "The named lock `name`, shared by every process of this user that opens\n"
     "it; created unlocked if it does not exist. ValueError for a bad name (1 to\n"
     "200 characters of A-Z a-z 0-9 . _ -, not starting with '.'),\n"
     "PermissionError for a name that is not ours to use, OSError otherwise.\n"
     "If the holder's process dies holding it, the next acquire() takes it and\n"
     "sets owner_died."},
    {"fencing_token", Lock_fencing_token, METH_NOARGS,
     "fencing_token($self, /)\n--\n\n"
     "The fencing token of this handle's current hold of a lock served by etcd\n"
     "(an 'etcd://' name): the etcd revision at which the hold was taken, an\n"
     "int that only grows from one hold to the next. Pass it with every write\n"
     "to the resource the lock guards, and let the resource refuse a token\n"
     "lower than one it has seen: a holder whose lease expired unnoticed then\n"
     "does no harm. RuntimeError if this handle does not hold the lock (a hold\n"
     "through another Lock object has its own token); OSError with errno\n"
     "ENOTSUP for a lock without tokens (Lock() and named locks of this\n"
     "machine)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Lock_getset[] = {
    {"handle", Lock_get_handle, NULL,
     "The lock_t * address, an int (for ctypes and cffi). Borrowed: valid while\n"
     "this Lock lives; take a reference (lock_ref) to keep it longer.",
     NULL},
    {"owner_died", Lock_get_owner_died, NULL,
     "True when the acquire that took the lock through this object found that\n"
     "the previous holder's process had died holding it (a named lock): what\n"
     "it guarded may be half-done. Reset by the next acquire that takes the lock.\n"
     "Read it while you hold the lock.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef module_functions[] = {
    {"unlink", polylock_unlink, METH_O,
     "unlink(name, /)\n--\n\n"
     "Remove the named lock `name`: locks already open keep working, and the\n"
     "next Lock.open(name) makes a fresh one. FileNotFoundError if there is no\n"
     "such lock; otherwise the errors of Lock.open."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "polylock.Lock",
    .tp_basicsize = sizeof(LockObject),
    .tp_dealloc = Lock_dealloc,
    .tp_repr = Lock_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Lock()\n--\n\n"
              "A lock with the semantics of threading.Lock: unlocked or locked, not\n"
              "owned (any thread may release it), not re-entrant. Use it as\n"
              "`with lock: ...`, or acquire() and release().",
    .tp_weaklistoffset = offsetof(LockObject, weakrefs),
    .tp_methods = Lock_methods,
    .tp_getset = Lock_getset,
    .tp_new = Lock_new,
};

int polylock_add_lock_type(PyObject *module) {
  if (polylock_learn_acquire_messages() < 0) return -1;
  if (PyModule_AddFunctions(module, module_functions) < 0) return -1;
  if (PyType_Ready(&LockType) < 0) return -1;
  Py_INCREF(&LockType);
  if (PyModule_AddObject(module, "Lock", (PyObject *)&LockType) < 0) {
    Py_DECREF(&LockType);
    return -1;
  }
  /* The same largest timeout as threading.TIMEOUT_MAX, by taking it from there. */
  PyObject *thread = PyImport_ImportModule("_thread");
  if (!thread) return -1;
  PyObject *timeout_max = PyObject_GetAttrString(thread, "TIMEOUT_MAX");
  Py_DECREF(thread);
  if (!timeout_max) return -1;
  if (PyModule_AddObject(module, "TIMEOUT_MAX", timeout_max) < 0) {
    Py_DECREF(timeout_max);
    return -1;
  }
  return 0;
}
