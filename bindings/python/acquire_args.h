/* polylock Python binding — the arguments of Lock.acquire().
 *
 * threading.Lock.acquire(blocking=True, timeout=-1) checks its arguments in a
 * fixed order, with exception types and messages that differ between CPython
 * releases. polylock.Lock must be indistinguishable, so the parsing lives here,
 * in one place, written against what each release does.
 */
#ifndef POLYLOCK_PYTHON_ACQUIRE_ARGS_H
#define POLYLOCK_PYTHON_ACQUIRE_ARGS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* Learns the running interpreter's wording of the messages that changed
 * between (and within) CPython releases, by asking its own _thread lock once.
 * Call when the module loads; 0, or -1 with an exception. */
int polylock_learn_acquire_messages(void);

/* Parses acquire()'s vectorcall arguments. On success returns 0 and sets
 * *timeout_ns to what lock_acquire expects: -1 (wait forever), 0 (try once)
 * or > 0 nanoseconds. On error returns -1 with the exception threading.Lock
 * would raise. */
int polylock_parse_acquire_args(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                                int64_t *timeout_ns);

#endif /* POLYLOCK_PYTHON_ACQUIRE_ARGS_H */
