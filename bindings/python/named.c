/* polylock Python binding — named locks and the exceptions for C statuses.
 *
 * The C library is the one judge of a name (design.md §8: 1-200 bytes of
 * A-Z a-z 0-9 . _ -, not starting with '.'); this file only turns a Python
 * str into the C string and each status into what a Python user expects from
 * a call that opens or removes something by name, as os.open and os.unlink do:
 *
 *   LOCK_EINVAL   ValueError       (a bad name, like os.open("a\0b"))
 *   LOCK_EACCES   PermissionError  (errno EACCES: another user's object, not a
 *                                   regular object, not a polylock lock)
 *   LOCK_ESYS     OSError from errno, so FileNotFoundError for unlink of a
 *                 name that does not exist
 *   LOCK_ENOMEM   OSError(ENOMEM)  (shared memory, not the Python heap)
 *   LOCK_ENOTSUP  OSError(ENOTSUP) (no named locks on this platform, or an
 *                                   "etcd://" name whose backend is missing)
 *
 * OSError(errno, ...) picks the subclass itself (PEP 3151), so EACCES arrives
 * as PermissionError and ENOENT as FileNotFoundError.
 */
#include "named.h"

#include <errno.h>
#include <string.h>

#define NAME_RULE "a lock name is 1 to 200 characters of A-Z a-z 0-9 . _ -, not starting with '.'"

/* OSError(number, text, name): the constructor chooses the subclass. */
static void raise_os_error(int number, const char *text, PyObject *name) {
  PyObject *error = PyObject_CallFunction(PyExc_OSError, "isO", number, text,
                                          name ? name : Py_None);
  if (error) {
    PyErr_SetObject((PyObject *)Py_TYPE(error), error);
    Py_DECREF(error);
  }
}

static PyObject *raise_for_name(int status, PyObject *name, int saved_errno) {
  switch (status) {
    case LOCK_EINVAL:
      PyErr_Format(PyExc_ValueError, "invalid lock name %R: " NAME_RULE, name);
      break;
    case LOCK_EACCES:
      raise_os_error(EACCES, lock_strerror(status), name);
      break;
    case LOCK_ENOMEM:
      raise_os_error(ENOMEM, lock_strerror(status), name);
      break;
    case LOCK_ENOTSUP:
      raise_os_error(ENOTSUP, lock_strerror(status), name);
      break;
    case LOCK_ESYS:
      if (saved_errno != 0) {
        raise_os_error(saved_errno, strerror(saved_errno), name);
      } else { /* no errno to tell which call */
        PyErr_SetString(PyExc_OSError, lock_strerror(status));
      }
      break;
    default:
      PyErr_SetString(PyExc_RuntimeError, lock_strerror(status));
      break;
  }
  return NULL;
}

PyObject *polylock_raise_status(int status, int saved_errno) {
  if (status == LOCK_ESYS && saved_errno != 0) {
    errno = saved_errno;
    return PyErr_SetFromErrno(PyExc_OSError);
  }
  PyErr_SetString(PyExc_RuntimeError, lock_strerror(status));
  return NULL;
}

/* The UTF-8 of a str name, or NULL with TypeError / ValueError. */
static const char *name_bytes(PyObject *name, const char *function) {
  if (!PyUnicode_Check(name)) {
    PyErr_Format(PyExc_TypeError, "%s() argument must be str, not %.200s", function,
                 Py_TYPE(name)->tp_name);
    return NULL;
  }
  Py_ssize_t size = 0;
  const char *utf8 = PyUnicode_AsUTF8AndSize(name, &size);
  if (!utf8) return NULL; /* a lone surrogate: UnicodeEncodeError, a ValueError */
  if ((size_t)size != strlen(utf8)) {
    PyErr_Format(PyExc_ValueError, "invalid lock name %R: " NAME_RULE, name);
    return NULL;
  }
  return utf8;
}

lock_t *polylock_open_named(PyObject *name) {
  const char *utf8 = name_bytes(name, "Lock.open");
  if (!utf8) return NULL;
  int status = LOCK_ESYS;
  int saved_errno = 0;
  lock_t *lock;
  /* Opening may create, size and map a shared object: no GIL meanwhile. */
  Py_BEGIN_ALLOW_THREADS
  errno = 0;
  lock = lock_open(utf8, &status);
  saved_errno = errno;
  Py_END_ALLOW_THREADS
  if (!lock) raise_for_name(status == LOCK_OK ? LOCK_ESYS : status, name, saved_errno);
  return lock;
}

PyObject *polylock_unlink(PyObject *module, PyObject *name) {
  (void)module;
  const char *utf8 = name_bytes(name, "unlink");
  if (!utf8) return NULL;
  int status;
  int saved_errno;
  Py_BEGIN_ALLOW_THREADS
  errno = 0;
  status = lock_unlink(utf8);
  saved_errno = errno;
  Py_END_ALLOW_THREADS
  if (status != LOCK_OK) return raise_for_name(status, name, saved_errno);
  Py_RETURN_NONE;
}
