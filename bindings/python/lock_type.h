/* polylock Python binding — the hand-written polylock.Lock type.
 *
 * SWIG generates the module (polylock._polylock) from <polylock/lock.h>; this
 * type is the part SWIG cannot give Python's conventions at threading.Lock's
 * speed, so it is written by hand and added to that module when it loads.
 */
#ifndef POLYLOCK_PYTHON_LOCK_TYPE_H
#define POLYLOCK_PYTHON_LOCK_TYPE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Adds Lock and TIMEOUT_MAX to `module`. 0 on success, -1 with an exception. */
int polylock_add_lock_type(PyObject *module);

#endif /* POLYLOCK_PYTHON_LOCK_TYPE_H */
