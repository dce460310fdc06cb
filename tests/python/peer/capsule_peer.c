/* polylock_capsule_peer: a C extension that uses the lock a polylock.Lock
 * hands out as a PyCapsule named "polylock.lock_t" (design.md §7), the way a C
 * extension author would, and hands out a capsule of a lock it made.
 * Built per CPython by tests/python/CMakeLists.txt, against the source
 * headers; test_sharing.py imports it. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "hammer.h"
#include "polylock/lock.h"

#define CAPSULE_NAME "polylock.lock_t"

/* hammer(capsule, threads, rounds, counter_address, holders_address,
 *        overlaps_address): peer_hammer on the capsule's lock with the GIL
 * released; returns the status. The capsule (held by the caller for the
 * whole call) keeps the pointer valid. */
static PyObject *hammer_capsule(PyObject *module, PyObject *args) {
  (void)module;
  PyObject *capsule;
  int threads, rounds;
  Py_ssize_t counter, holders, overlaps;
  if (!PyArg_ParseTuple(args, "Oiinnn", &capsule, &threads, &rounds, &counter, &holders,
                        &overlaps))
    return NULL;
  lock_t *lock = (lock_t *)PyCapsule_GetPointer(capsule, CAPSULE_NAME);
  if (!lock) return NULL;
  int status;
  Py_BEGIN_ALLOW_THREADS
  status = peer_hammer(lock, threads, rounds, (long *)counter, (int *)holders, (int *)overlaps);
  Py_END_ALLOW_THREADS
  return PyLong_FromLong(status);
}

/* locked(capsule): lock_locked on the capsule's pointer. */
static PyObject *locked(PyObject *module, PyObject *capsule) {
  (void)module;
  lock_t *lock = (lock_t *)PyCapsule_GetPointer(capsule, CAPSULE_NAME);
  if (!lock) return NULL;
  return PyLong_FromLong(lock_locked(lock));
}

/* acquire(capsule) / release(capsule): one try and one release, as C does. */
static PyObject *try_acquire(PyObject *module, PyObject *capsule) {
  (void)module;
  lock_t *lock = (lock_t *)PyCapsule_GetPointer(capsule, CAPSULE_NAME);
  if (!lock) return NULL;
  return PyLong_FromLong(lock_acquire(lock, 0));
}

static PyObject *release(PyObject *module, PyObject *capsule) {
  (void)module;
  lock_t *lock = (lock_t *)PyCapsule_GetPointer(capsule, CAPSULE_NAME);
  if (!lock) return NULL;
  return PyLong_FromLong(lock_release(lock));
}

static void free_made(PyObject *capsule) {
  lock_free((lock_t *)PyCapsule_GetPointer(capsule, CAPSULE_NAME));
}

/* make(): a lock this extension made, in a capsule that owns it. */
static PyObject *make(PyObject *module, PyObject *unused) {
  (void)module;
  (void)unused;
  lock_t *lock = lock_new();
  if (!lock) return PyErr_NoMemory();
  PyObject *capsule = PyCapsule_New(lock, CAPSULE_NAME, free_made);
  if (!capsule) lock_free(lock);
  return capsule;
}

/* wrong_name(): a capsule of another name, for the error test. */
static PyObject *wrong_name(PyObject *module, PyObject *unused) {
  (void)unused;
  return PyCapsule_New(module, "polylock.not_a_lock", NULL);
}

static PyMethodDef functions[] = {
    {"hammer", hammer_capsule, METH_VARARGS, "Hammer the capsule's lock from native threads."},
    {"locked", locked, METH_O, "lock_locked on the capsule's lock."},
    {"try_acquire", try_acquire, METH_O, "lock_acquire(lock, 0) on the capsule's lock."},
    {"release", release, METH_O, "lock_release on the capsule's lock."},
    {"make", make, METH_NOARGS, "A new lock in a capsule that owns it."},
    {"wrong_name", wrong_name, METH_NOARGS, "A capsule that does not hold a lock."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "polylock_capsule_peer", NULL, -1, functions,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_polylock_capsule_peer(void) { return PyModule_Create(&definition); }
