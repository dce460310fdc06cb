/* polylock's Python binding: the one SWIG interface over <polylock/lock.h>.
 *
 * SWIG builds the extension module polylock._polylock from the C header: every
 * lock_* function and status code, as they are in C (`polylock.capi`, for tests
 * and for anyone who wants the raw ABI; C's rules apply, e.g. lock_free once).
 *
 * What SWIG cannot give Python's conventions -- a class that behaves exactly
 * like threading.Lock at its speed -- is hand-written in lock_type.c and added
 * to the same module when it loads (the %init block below).
 */
%module(package="polylock") capi

%{
#include "polylock/lock.h"
#include "lock_type.h"
%}

%include <stdint.i>

/* Docstrings from the C declarations: each function's signature and types. */
%feature("autodoc", "2");

/* The raw functions release the GIL while they run, so a blocking
 * lock_acquire here does not stall other Python threads. */
%thread;

/* Python passes no C function pointer; Lock.acquire is the interruptible wait. */
%ignore lock_acquire_interruptible;
%ignore lock_stop_fn;

/* A binding's fast-path word: Python cannot compare-and-swap it, and
 * polylock.Lock's calls never leave C anyway. */
%ignore lock_fast_word;

/* lock_open's reason comes back beside the handle: capi.lock_open(name)
 * returns (handle or None, status). */
%typemap(in, numinputs=0) int *status (int reason = LOCK_ESYS) { $1 = &reason; }
%typemap(argout) int *status { $result = Py_BuildValue("(NN)", $result, PyLong_FromLong(*$1)); }

/* lock_fence's token comes back beside the status: capi.lock_fence(lock)
 * returns (status, token). */
%typemap(in, numinputs=0) uint64_t *token (uint64_t fence = 0) { $1 = &fence; }
%typemap(argout) uint64_t *token {
  $result = Py_BuildValue("(NN)", $result, PyLong_FromUnsignedLongLong(*$1));
}

/* The header spells it ((int64_t)-1), a cast SWIG does not evaluate. */
%constant int64_t LOCK_WAIT_FOREVER = -1;

%include "polylock/export.h"
%include "polylock/lock.h"

%init %{
  if (polylock_add_lock_type(m) < 0) return NULL;
%}
