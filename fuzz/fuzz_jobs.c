/* libFuzzer target: the grant, job, job record and result notice parsers (gtee/jobs.h) on
 * arbitrary bytes (the enclave reads the first two from clients, clients read records from
 * the enclave, the node reads notices from the enclave), and a result opened under a fixed
 * record and key. An accepted input must encode back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/jobs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gtee_grant g;
    struct gtee_job j;
    struct gtee_job_record r;
    struct gtee_result_notice n;
    uint8_t out[GTEE_GRANT_MAX_LEN + GTEE_JOB_MAX_LEN], *rec = NULL, *pt = NULL, sk[32] = { 1 };
    size_t len = 0, pt_len = 0;

    if (size < 1)
        return 0;
    switch (data[0] % 5) {
    case 0:
        if (gtee_grant_parse(data + 1, size - 1, &g, NULL) == 0 &&
            (gtee_grant_encode(&g, out, &len, NULL) != 0 || len != size - 1 || memcmp(out, data + 1, len)))
            abort();
        break;
    case 1:
        if (gtee_job_parse(data + 1, size - 1, &j, NULL) == 0 &&
            (gtee_job_encode(&j, out, &len, NULL) != 0 || len != size - 1 || memcmp(out, data + 1, len)))
            abort();
        break;
    case 2:
        if (gtee_job_record_parse(data + 1, size - 1, &r, NULL) == 0) {
            if (gtee_job_record_encode(&r, &rec, &len, NULL) != 0 || len != size - 1 || memcmp(rec, data + 1, len))
                abort();
            free(rec);
            gtee_job_record_free(&r);
        }
        break;
    case 4:
        if (gtee_result_notice_parse(data + 1, size - 1, &n, NULL) == 0) {
            gtee_result_notice_encode(&n, out);
            if (!gtee_result_notice_is(data + 1, size - 1) || size - 1 != GTEE_RESULT_NOTICE_LEN ||
                memcmp(out, data + 1, GTEE_RESULT_NOTICE_LEN))
                abort();
        }
        break;
    default:
        memset(&r, 0, sizeof(r));
        r.kind = 1;
        r.recipient = 1;
        r.result_len = size - 1;
        if (gtee_result_open(&r, sk, data + 1, size - 1, &pt, &pt_len, NULL) == 0)
            abort(); /* its SHA-256 cannot match the zero one in r */
        if (gtee_result_open_alone(sk, data + 1, size - 1, &r, &pt, &pt_len, NULL) == 0) {
            free(pt);
            gtee_job_record_free(&r);
        }
        break;
    }
    return 0;
}
