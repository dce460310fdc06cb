/* polylock Python binding — named locks (lock_open, lock_unlink) and the
 * Python exceptions for the C ABI's statuses.
 */
#ifndef POLYLOCK_PYTHON_NAMED_H
#define POLYLOCK_PYTHON_NAMED_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "polylock/lock.h"

/* lock_open(name) for a Python str: the new handle, or NULL with the
 * exception a Python user expects (see named.c). */
lock_t *polylock_open_named(PyObject *name);

/* polylock.unlink(name): METH_O. */
PyObject *polylock_unlink(PyObject *module, PyObject *name);

/* Sets the exception for a status that is neither LOCK_OK nor LOCK_TIMEOUT,
 * from a call that had nothing to do with a name (acquire, release). NULL. */
PyObject *polylock_raise_status(int status, int saved_errno);

#endif /* POLYLOCK_PYTHON_NAMED_H */
