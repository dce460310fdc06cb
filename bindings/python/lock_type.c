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
 */
#include "lock_type.h"

#include <stddef.h>
#include <stdint.h>

#include "acquire_args.h"
#include "polylock/lock.h"

typedef struct {
  PyObject_HEAD
  lock_t *lock;          /* owned: freed in dealloc */
  PyObject *weakrefs;    /* for weakref.ref(lock) */
} LockObject;

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
      Py_RETURN_TRUE;
    case LOCK_TIMEOUT:
      Py_RETURN_FALSE;
    case LOCK_EINTR:
      return NULL; /* a signal handler raised; its exception is set */
    default:
      PyErr_SetString(PyExc_RuntimeError, lock_strerror(status));
      return NULL;
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
  /* threading.Lock's words and type (_thread.error is RuntimeError). */
  PyErr_SetString(PyExc_RuntimeError,
                  status == LOCK_ENOTLOCKED ? "release unlocked lock" : lock_strerror(status));
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

static PyObject *Lock_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
  if (PyTuple_GET_SIZE(args) != 0 || (kwargs && PyDict_GET_SIZE(kwargs) != 0)) {
    PyErr_SetString(PyExc_TypeError, "Lock() takes no arguments");
    return NULL;
  }
  LockObject *self = (LockObject *)type->tp_alloc(type, 0);
  if (!self) return NULL;
  self->weakrefs = NULL;
  self->lock = lock_new();
  if (!self->lock) {
    Py_DECREF(self);
    return PyErr_NoMemory();
  }
  return (PyObject *)self;
}

static void Lock_dealloc(PyObject *self) {
  LockObject *lock = (LockObject *)self;
  if (lock->weakrefs) PyObject_ClearWeakRefs(self);
  lock_free(lock->lock); /* a held lock may be freed; nobody can wait on it now */
  Py_TYPE(self)->tp_free(self);
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
    {"_at_fork_reinit", Lock_at_fork_reinit, METH_NOARGS,
     "_at_fork_reinit($self, /)\n--\n\n"
     "Make the lock unlocked with no waiters, in a child process after fork().\n"
     "Never call it while other threads may use the lock."},
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
    .tp_new = Lock_new,
};

int polylock_add_lock_type(PyObject *module) {
  if (polylock_learn_acquire_messages() < 0) return -1;
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
