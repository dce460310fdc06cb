/* polylock — export macro for the C ABI.
 *
 * POLYLOCK_API marks the functions of <polylock/lock.h>. Building the library
 * defines POLYLOCK_BUILDING; a program that links the static library (none is
 * shipped today) would define POLYLOCK_STATIC.
 */
#ifndef POLYLOCK_EXPORT_H
#define POLYLOCK_EXPORT_H

#if defined(POLYLOCK_STATIC)
#define POLYLOCK_API
#elif defined(_WIN32) || defined(__CYGWIN__)
#if defined(POLYLOCK_BUILDING)
#define POLYLOCK_API __declspec(dllexport)
#else
#define POLYLOCK_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define POLYLOCK_API __attribute__((visibility("default")))
#else
#define POLYLOCK_API
#endif

#endif /* POLYLOCK_EXPORT_H */
