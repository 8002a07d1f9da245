/* The enclave measurement under sim (docs/tee.md, "sim"): computed alike by the host's
 * launcher (what it expects of the executable it starts) and the enclave runtime (what it
 * claims), so the two cannot drift. Declared in gtee/tee_kind.h, since the launcher (host
 * library) and the runtime (enclave library) both call it; implemented in measure.c. */
#ifndef GTEE_WIRE_MEASURE_H
#define GTEE_WIRE_MEASURE_H

#include "gtee/tee_kind.h"

#endif
