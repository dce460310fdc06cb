/* The probe of an additive release: one function more than libpolylock. */
#include <polylock/export.h>

POLYLOCK_API int lock_probe_added(void);

int lock_probe_added(void) { return 1; }
