/* The service's side of key-release requests over a stream (docs/tee.md §4.3.1): one request
 * frame in, the answer frame or the refusal's reason out. The frames are
 * src/wire/keyrelease_wire.c's. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/keyrelease_service.h"
#include "wire/keyrelease_int.h"

int gtee_kr_wire_serve_one(struct gtee_kr_service *svc, int fd, struct gtee_err *err)
{
    uint8_t len4[4], *req = NULL, *resp = NULL;
    size_t resp_len = 0;
    struct gtee_err why = { 0 };
    uint32_t n;
    int rc = GTEE_EIO;

    ENSURE(gtee_kr_read_all(fd, len4, 4) == 0, err, GTEE_EIO, "keyrelease: no request frame");
    n = (uint32_t)len4[0] << 24 | (uint32_t)len4[1] << 16 | (uint32_t)len4[2] << 8 | len4[3];
    ENSURE(n > 0 && n <= KR_REQ_MAX, err, GTEE_EFORMAT, "keyrelease: request frame of %u bytes", n);
    req = malloc(n);
    ENSURE(req, err, GTEE_ENOMEM, "keyrelease: out of memory");
    ENSURE(gtee_kr_read_all(fd, req, n) == 0, err, GTEE_EIO, "keyrelease: request frame cut short");
    rc = gtee_kr_serve(svc, req, n, &resp, &resp_len, NULL, &why);
    if (rc < 0) {
        size_t ml = strnlen(why.msg, KR_REASON_MAX);

        (void)gtee_kr_send_frame(fd, 1, why.msg, ml);
        if (err)
            *err = why;
        goto out;
    }
    ENSURE(gtee_kr_send_frame(fd, 0, resp, resp_len) == 0, err, GTEE_EIO, "keyrelease: cannot send the answer");
out:
    free(req);
    free(resp);
    return rc;
}
