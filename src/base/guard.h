/* Guard macros shared by every part (STYLE.md: one error idiom). Internal header. */
#ifndef GTEE_BASE_GUARD_H
#define GTEE_BASE_GUARD_H

#include "gtee/err.h"

/* Run expr; on a negative result keep it in `rc` and jump to `out`. */
#define TRY(expr)                 \
    do {                          \
        rc = (expr);              \
        if (rc < 0)               \
            goto out;             \
    } while (0)

/* Fail with code and message unless cond holds; sets rc and jumps to `out`. */
#define ENSURE(cond, err, code, ...)                         \
    do {                                                     \
        if (!(cond)) {                                       \
            rc = GTEE_FAIL((err), (code), __VA_ARGS__);      \
            goto out;                                        \
        }                                                    \
    } while (0)

#define GTEE_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
