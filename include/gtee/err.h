/* Glacier TEE Node: the one error idiom. Functions return 0 or a negative GTEE_E* code
 * and fill an optional struct gtee_err with a message naming what failed and where. */
#ifndef GTEE_ERR_H
#define GTEE_ERR_H

#include <stddef.h>

#define GTEE_MUST_USE __attribute__((warn_unused_result))

enum gtee_code {
    GTEE_OK = 0,
    GTEE_EINVAL = -1,      /* caller passed a bad argument */
    GTEE_ENOMEM = -2,      /* allocation failed */
    GTEE_EIO = -3,         /* read, write, open, rename failed */
    GTEE_ECRYPTO = -4,     /* the crypto library failed internally */
    GTEE_EAUTH = -5,       /* an authentication tag, MAC or signature did not verify */
    GTEE_EFORMAT = -6,     /* input bytes are malformed */
    GTEE_EKEY = -7,        /* wrong key, or a key unfit for the operation */
    GTEE_EPERM = -8,       /* a file's permissions are unsafe */
    GTEE_EUNSUPPORTED = -9,/* a version, algorithm or feature we do not implement */
    GTEE_EPOLICY = -10,    /* evidence or a request rejected by policy */
    GTEE_EEXIST = -11,     /* refusing to overwrite */
    GTEE_ENOTFOUND = -12,  /* a named thing does not exist */
    GTEE_ESTATE = -13,     /* operation not valid in the current state */
    GTEE_ELIMIT = -14,     /* over a configured limit (memory, size), refused before use */
};
/* The lowest code: a peer's code below it (or >= 0) is none of ours. */
#define GTEE_ERR_LOWEST GTEE_ELIMIT

#define GTEE_ERR_MSG_MAX 384

/* A failure report. Never holds secret bytes: messages name fields, offsets and
 * indices, not values of keys or plaintext. */
struct gtee_err {
    int code;
    const char *file; /* source file and line that raised it */
    int line;
    char msg[GTEE_ERR_MSG_MAX];
};

/* Records an error in err (if non-NULL) and in the thread's last-error record;
 * returns code so callers can write `return gtee_err_set(...)`. */
int gtee_err_set(struct gtee_err *err, int code, const char *file, int line,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Prefixes err->msg with context ("decrypt: ") keeping the original code. */
int gtee_err_wrap(struct gtee_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The thread's most recent error (never NULL; code 0 if none). */
const struct gtee_err *gtee_err_last(void);

/* Short fixed name of a code, e.g. "authentication failed". */
const char *gtee_strerror(int code);

/* Text from another process (an enclave's ERROR or NOTICE) made safe to print: printable
 * ASCII is kept, every other byte, and the backslash, becomes \xNN, so no escape sequence
 * reaches a terminal. Writes at most out_len bytes including the NUL (out_len >= 1), never
 * a partial escape; returns the number of input bytes consumed. */
size_t gtee_err_escape(const void *in, size_t n, char *out, size_t out_len);

#define GTEE_FAIL(err, code, ...) gtee_err_set((err), (code), __FILE__, __LINE__, __VA_ARGS__)

#endif
