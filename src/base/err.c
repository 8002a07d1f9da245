/* Error records: the message for the caller and a thread-local copy of the last one. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gtee/err.h"

static _Thread_local struct gtee_err last_err;

int gtee_err_set(struct gtee_err *err, int code, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    last_err.code = code;
    last_err.file = file;
    last_err.line = line;
    va_start(ap, fmt);
    vsnprintf(last_err.msg, sizeof(last_err.msg), fmt, ap);
    va_end(ap);
    if (err)
        *err = last_err;
    return code;
}

int gtee_err_wrap(struct gtee_err *err, const char *fmt, ...)
{
    char prefix[GTEE_ERR_MSG_MAX];
    char joined[2 * GTEE_ERR_MSG_MAX];
    va_list ap;

    if (!err)
        return last_err.code;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    snprintf(joined, sizeof(joined), "%s%s", prefix, err->msg);
    joined[GTEE_ERR_MSG_MAX - 1] = '\0'; /* truncation of a long message is acceptable */
    memcpy(err->msg, joined, sizeof(err->msg));
    memcpy(last_err.msg, joined, sizeof(last_err.msg));
    return err->code;
}

const struct gtee_err *gtee_err_last(void)
{
    return &last_err;
}

const char *gtee_strerror(int code)
{
    switch (code) {
    case GTEE_OK: return "ok";
    case GTEE_EINVAL: return "invalid argument";
    case GTEE_ENOMEM: return "out of memory";
    case GTEE_EIO: return "input/output error";
    case GTEE_ECRYPTO: return "crypto library failure";
    case GTEE_EAUTH: return "authentication failed";
    case GTEE_EFORMAT: return "malformed input";
    case GTEE_EKEY: return "wrong or unusable key";
    case GTEE_EPERM: return "unsafe permissions";
    case GTEE_EUNSUPPORTED: return "unsupported";
    case GTEE_EPOLICY: return "rejected by policy";
    case GTEE_EEXIST: return "already exists";
    case GTEE_ENOTFOUND: return "not found";
    case GTEE_ESTATE: return "invalid state";
    case GTEE_ELIMIT: return "over a limit";
    }
    return "unknown error";
}

size_t gtee_err_escape(const void *in, size_t n, char *out, size_t out_len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = in;
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = p[i];
        int plain = c >= 0x20 && c < 0x7f && c != '\\';

        if (o + (plain ? 1 : 4) >= out_len)
            break;
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return i;
}
