/* polylock Python binding — the arguments of Lock.acquire(), parsed the way
 * CPython's Modules/_threadmodule.c (lock_acquire_parse_args) does:
 *
 *   1. "|pO:acquire" (3.12+) or "|iO:acquire" (3.8-3.11) for blocking and timeout;
 *   2. the timeout converted to nanoseconds (_PyTime_FromSecondsObject,
 *      rounding away from zero, so -0.9999999999 becomes -1 s: "unset");
 *   3. a timeout with blocking=False is a ValueError, unless it is the unset -1;
 *   4. a negative timeout other than -1 is a ValueError;
 *   5. a timeout beyond PY_TIMEOUT_MAX microseconds (on some interpreters: at it
 *      or beyond) is an OverflowError.
 *
 * The common calls (no argument, a bool or small int, a float or int timeout)
 * are decided here without building a tuple; anything unusual goes through
 * PyArg_ParseTupleAndKeywords itself, so that its messages are the
 * interpreter's own. The messages CPython writes by hand changed between
 * releases and even within one (3.11.2 and 3.11.7 word a float overflow
 * differently), so they are learnt from the running interpreter's _thread
 * lock when the module loads; the texts below, checked by experiment on 3.8 to
 * 3.13, are only the fallback.
 */
#include "acquire_args.h"

#include <limits.h>
#include <math.h>

#if PY_VERSION_HEX >= 0x030C0000
#define BLOCKING_FORMAT "p" /* any truth value */
#else
#define BLOCKING_FORMAT "i" /* an int (bool included) */
#endif

#if PY_VERSION_HEX >= 0x030D0000
#define NEGATIVE_TIMEOUT_MESSAGE "timeout value must be a non-negative number"
#define INT_OVERFLOW_MESSAGE "timestamp too large to convert to C PyTime_t"
#else
#define NEGATIVE_TIMEOUT_MESSAGE "timeout value must be positive"
#define INT_OVERFLOW_MESSAGE "timestamp too large to convert to C _PyTime_t"
#endif

#if PY_VERSION_HEX >= 0x030B0000
#define FLOAT_OVERFLOW_MESSAGE "timestamp out of range for platform time_t"
#else
#define FLOAT_OVERFLOW_MESSAGE "timestamp too large to convert to C _PyTime_t"
#endif

/* The running interpreter's words (see polylock_learn_acquire_messages). */
static const char *negative_timeout_message = NEGATIVE_TIMEOUT_MESSAGE;
static const char *int_overflow_message = INT_OVERFLOW_MESSAGE;
static const char *float_overflow_message = FLOAT_OVERFLOW_MESSAGE;

/* And two of its edges, which moved within release series, so they are learnt
 * too (the defaults are 3.13's). Some interpreters (3.8, 3.9, Debian 12's
 * 3.11.2) let a float of exactly 2^63 ns through their range check (against
 * INT64_MAX as a double, which is 2^63) and convert it as the CPU does: to
 * INT64_MIN on x86 (a negative timeout), to INT64_MAX on arm64 and others (too
 * large); and some (3.8-3.10) refuse a timeout of exactly PY_TIMEOUT_MAX
 * microseconds as too large. */
enum two_to_the_63 { REFUSED, WRAPS_TO_MIN, SATURATES_TO_MAX };
static enum two_to_the_63 two_to_the_63_ns = REFUSED;
static int refuses_the_limit = 0;

#define NS_PER_SECOND INT64_C(1000000000)
/* CPython's "no timeout given": -1 s, as nanoseconds. */
#define UNSET_TIMEOUT (-NS_PER_SECOND)

/* Seconds (an int or a float) to nanoseconds, as _PyTime_FromSecondsObject
 * with _PyTime_ROUND_TIMEOUT (away from zero). */
static int seconds_to_ns(PyObject *seconds, int64_t *ns) {
  if (PyFloat_Check(seconds)) {
    /* volatile: keep the multiplication and rounding in double, as CPython. */
    volatile double d = PyFloat_AS_DOUBLE(seconds);
    if (isnan(d)) {
      PyErr_SetString(PyExc_ValueError, "Invalid value NaN (not a number)");
      return -1;
    }
    d *= 1e9;
    d = d >= 0.0 ? ceil(d) : floor(d);
    if (d == 9223372036854775808.0 && two_to_the_63_ns != REFUSED) {
      *ns = two_to_the_63_ns == WRAPS_TO_MIN ? INT64_MIN : INT64_MAX;
      return 0;
    }
    /* 2^63 is exactly representable; INT64_MAX is not. */
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
      PyErr_SetString(PyExc_OverflowError, float_overflow_message);
      return -1;
    }
    *ns = (int64_t)d;
    return 0;
  }
  /* PyLong_AsLongLong accepts what the interpreter accepts (__index__, and
   * __int__ before 3.10) and words its own TypeError. */
  long long whole = PyLong_AsLongLong(seconds);
  if (whole == -1 && PyErr_Occurred()) {
    if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
      PyErr_SetString(PyExc_OverflowError, int_overflow_message);
    }
    return -1;
  }
  if (whole > INT64_MAX / NS_PER_SECOND || whole < INT64_MIN / NS_PER_SECOND) {
    PyErr_SetString(PyExc_OverflowError, int_overflow_message);
    return -1;
  }
  *ns = (int64_t)whole * NS_PER_SECOND;
  return 0;
}

/* The truth of `blocking` when it is one of the cheap, common values;
 * -1 when PyArg_ParseTupleAndKeywords should decide (and word any error). */
static int quick_blocking(PyObject *blocking) {
  if (blocking == Py_True) return 1;
  if (blocking == Py_False) return 0;
  if (PyLong_CheckExact(blocking)) {
    int overflow = 0;
    long value = PyLong_AsLongAndOverflow(blocking, &overflow);
    if (overflow == 0 && value >= INT_MIN && value <= INT_MAX) return value != 0;
    PyErr_Clear(); /* nothing is set in practice; never leave a stray error */
  }
  return -1;
}

/* The interpreter's own parser, for everything the quick path declines: the
 * same format string as _threadmodule.c, so its errors read the same. */
static int parse_slowly(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                        int *blocking, PyObject **timeout) {
  static char *keywords[] = {"blocking", "timeout", NULL};
  PyObject *positional = PyTuple_New(nargs);
  PyObject *named = NULL;
  int ok = 0;
  if (!positional) return -1;
  for (Py_ssize_t i = 0; i < nargs; i++) {
    Py_INCREF(args[i]);
    PyTuple_SET_ITEM(positional, i, args[i]);
  }
  if (kwnames) {
    named = PyDict_New();
    if (!named) goto done;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); i++) {
      if (PyDict_SetItem(named, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0) goto done;
    }
  }
  *blocking = 1;
  *timeout = NULL;
  ok = PyArg_ParseTupleAndKeywords(positional, named, "|" BLOCKING_FORMAT "O:acquire", keywords,
                                   blocking, timeout);
done:
  Py_DECREF(positional);
  Py_XDECREF(named);
  return ok ? 0 : -1;
}

/* Matches keyword names to the two parameters; 0 when any is unknown or
 * given twice (the slow path then reports it in the interpreter's words). */
static int place_keywords(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                          PyObject **slots) {
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); i++) {
    PyObject *name = PyTuple_GET_ITEM(kwnames, i);
    Py_ssize_t slot;
    if (PyUnicode_CompareWithASCIIString(name, "blocking") == 0) {
      slot = 0;
    } else if (PyUnicode_CompareWithASCIIString(name, "timeout") == 0) {
      slot = 1;
    } else {
      return 0;
    }
    if (slots[slot]) return 0;
    slots[slot] = args[nargs + i];
  }
  return 1;
}

/* Calls _thread.lock.acquire(blocking, timeout) on a free lock: 1 if it took
 * the lock (released again at once, no error set), 0 with its error set. */
static int took(PyObject *lock, PyObject *blocking, PyObject *timeout) {
  PyObject *answer = PyObject_CallMethod(lock, "acquire", "OO", blocking, timeout);
  if (!answer) return 0;
  Py_DECREF(answer);
  answer = PyObject_CallMethod(lock, "release", NULL);
  Py_XDECREF(answer);
  PyErr_Clear();
  return 1;
}

/* The message of the `expected` error that _thread.lock.acquire(True, timeout)
 * raises, kept for the life of the process; `fallback` if it takes the lock or
 * raises another. */
static const char *learn(PyObject *lock, PyObject *timeout, PyObject *expected,
                         const char *fallback) {
  const char *message = fallback;
  if (!timeout) return NULL;
  int accepted = took(lock, Py_True, timeout);
  Py_DECREF(timeout);
  if (!accepted && PyErr_ExceptionMatches(expected)) {
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyObject *text = value ? PyObject_Str(value) : NULL;
    const char *utf8 = text ? PyUnicode_AsUTF8(text) : NULL;
    /* The string object is kept (never freed) so that utf8 stays valid. */
    if (utf8) message = utf8; else Py_XDECREF(text);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
  }
  PyErr_Clear();
  return message;
}

/* The type of the error _thread.lock.acquire(blocking, seconds) raises, or
 * NULL if it takes the lock. */
static PyObject *refusal(PyObject *lock, int blocking, double seconds) {
  PyObject *timeout = PyFloat_FromDouble(seconds);
  if (!timeout) {
    PyErr_Clear();
    return PyExc_Exception;
  }
  int accepted = took(lock, blocking ? Py_True : Py_False, timeout);
  Py_DECREF(timeout);
  if (accepted) return NULL;
  PyObject *type = PyErr_ExceptionMatches(PyExc_ValueError)      ? PyExc_ValueError
                   : PyErr_ExceptionMatches(PyExc_OverflowError) ? PyExc_OverflowError
                                                                 : PyExc_Exception;
  PyErr_Clear();
  return type;
}

/* Whether `seconds` converts, as here, to exactly PY_TIMEOUT_MAX microseconds. */
static int is_the_limit(double seconds) {
  PyObject *value = PyFloat_FromDouble(seconds);
  int64_t ns = 0;
  int ok = value && seconds_to_ns(value, &ns) == 0;
  Py_XDECREF(value);
  PyErr_Clear();
  return ok && ns / 1000 + (ns % 1000 != 0) == PY_TIMEOUT_MAX;
}

static void learn_edges(PyObject *lock) {
  /* 2^63 ns: a negative timeout (ValueError); or converted, which acquire(False,
   * t) tells by complaining of the timeout (ValueError) where a refused one
   * fails to convert (OverflowError). */
  const double two63 = 9223372036.854775808;
  if (refusal(lock, 1, two63) == PyExc_ValueError) {
    two_to_the_63_ns = WRAPS_TO_MIN;
  } else if (refusal(lock, 0, two63) == PyExc_ValueError) {
    two_to_the_63_ns = SATURATES_TO_MAX;
  }
  /* The float nearest PY_TIMEOUT_MAX microseconds, or a neighbour, that is it. */
  double limit = (double)PY_TIMEOUT_MAX * 1e-6;
  for (int step = 0; step < 4 && !is_the_limit(limit); step++) limit = nextafter(limit, 0.0);
  if (is_the_limit(limit)) refuses_the_limit = refusal(lock, 1, limit) == PyExc_OverflowError;
}

int polylock_learn_acquire_messages(void) {
  PyObject *thread = PyImport_ImportModule("_thread");
  if (!thread) return -1;
  PyObject *lock = PyObject_CallMethod(thread, "allocate_lock", NULL);
  Py_DECREF(thread);
  if (!lock) return -1;
  negative_timeout_message =
      learn(lock, PyLong_FromLong(-2), PyExc_ValueError, NEGATIVE_TIMEOUT_MESSAGE);
  int_overflow_message =
      learn(lock, PyLong_FromDouble(1e30), PyExc_OverflowError, INT_OVERFLOW_MESSAGE);
  float_overflow_message =
      learn(lock, PyFloat_FromDouble(1e300), PyExc_OverflowError, FLOAT_OVERFLOW_MESSAGE);
  learn_edges(lock);
  Py_DECREF(lock);
  if (!negative_timeout_message || !int_overflow_message || !float_overflow_message) return -1;
  return 0;
}

int polylock_parse_acquire_args(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                                int64_t *timeout_ns) {
  PyObject *slots[2] = {NULL, NULL}; /* blocking, timeout */
  int blocking = -1;
  PyObject *timeout = NULL;
  int quick = nargs <= 2;
  for (Py_ssize_t i = 0; quick && i < nargs; i++) slots[i] = args[i];
  if (quick && kwnames) quick = place_keywords(args, nargs, kwnames, slots);
  if (quick) {
    blocking = slots[0] ? quick_blocking(slots[0]) : 1;
    timeout = slots[1];
  }
  if (blocking < 0 && parse_slowly(args, nargs, kwnames, &blocking, &timeout) < 0) return -1;

  int64_t ns = UNSET_TIMEOUT;
  if (timeout && seconds_to_ns(timeout, &ns) < 0) return -1;
  if (!blocking && ns != UNSET_TIMEOUT) {
    PyErr_SetString(PyExc_ValueError, "can't specify a timeout for a non-blocking call");
    return -1;
  }
  if (ns < 0 && ns != UNSET_TIMEOUT) {
    PyErr_SetString(PyExc_ValueError, negative_timeout_message);
    return -1;
  }
  if (!blocking) {
    *timeout_ns = 0;
  } else if (ns == UNSET_TIMEOUT) {
    *timeout_ns = -1;
  } else {
    /* Microseconds, rounded up, against the interpreter's own limit. */
    int64_t microseconds = ns / 1000 + (ns % 1000 != 0);
    if (microseconds > PY_TIMEOUT_MAX || (microseconds == PY_TIMEOUT_MAX && refuses_the_limit)) {
      PyErr_SetString(PyExc_OverflowError, "timeout value is too large");
      return -1;
    }
    *timeout_ns = ns;
  }
  return 0;
}
