/* libFuzzer target: the relay's check of a connection's first bytes (gtee_ratls_relay_hello,
 * src/host/relay.c), which decides, before the enclave is dialled, whether a client shows a
 * TLS ClientHello. The first input byte picks how the rest arrives (1 to 4 bytes at a time,
 * or all at once), as the relay sees it across reads: the verdict must not depend on it, and
 * must be the same as for the same bytes given at once (up to GTEE_RATLS_HELLO_MAX, the whole
 * first record); a refusal's message
 * reaches the operator's log, so it must be printable. Seeds: a real ClientHello (from an
 * OpenSSL client), an HTTP request, a record cut short. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/ratls_relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t got[GTEE_RATLS_HELLO_MAX];
    size_t have = 0, step, whole_len;
    struct gtee_err err;
    int rc = 1, whole;

    if (size < 1)
        return 0;
    step = (data[0] & 7) < 4 ? (size_t)(data[0] & 3) + 1 : GTEE_RATLS_HELLO_MAX;
    data++;
    size--;
    /* As the relay reads: never more than the check still needs, stop at its verdict. */
    while (rc == 1 && have < size) {
        size_t n = step;

        if (n > GTEE_RATLS_HELLO_MAX - have)
            n = GTEE_RATLS_HELLO_MAX - have;
        if (n > size - have)
            n = size - have;
        memcpy(got + have, data + have, n);
        have += n;
        memset(&err, 0, sizeof(err));
        rc = gtee_ratls_relay_hello(got, have, &err);
        if (rc != 0 && rc != 1 && rc != GTEE_EFORMAT)
            abort();
        if (rc == 1 && have >= GTEE_RATLS_HELLO_MAX)
            abort(); /* it asked for more than it promised to need */
        if (rc < 0)
            for (const char *c = err.msg; *c; c++)
                if (*c < 0x20 || *c > 0x7e)
                    abort();
    }
    whole_len = size < GTEE_RATLS_HELLO_MAX ? size : GTEE_RATLS_HELLO_MAX;
    whole = gtee_ratls_relay_hello(data, whole_len, NULL);
    /* The same verdict whole as in pieces (a refusal may come earlier in pieces: same code). */
    if ((rc < 0) != (whole < 0) || (rc >= 0 && rc != whole))
        abort();
    return 0;
}
