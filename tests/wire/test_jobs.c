/* The grant, job, job record and result formats (gtee/jobs.h, docs/tee.md §7.2): each
 * encoding parses back to what was encoded; the parsers are exact (every byte counted, each
 * field checked, the offset named); a result opens only with its record and its key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gtee/crypto.h"
#include "gtee/jobs.h"

static void test_grant_round_trip_and_exactness(void **state)
{
    struct gtee_grant g = {0}, back;
    struct gtee_err err = {0};
    uint8_t b[GTEE_GRANT_MAX_LEN + 1];
    size_t len = 0;

    (void)state;
    memset(g.content_id, 1, 32);
    memset(g.key, 2, 32);
    memset(g.owner, 3, 32);
    g.kinds = GTEE_GRANT_INFER | GTEE_GRANT_TRAIN;
    g.flags = GTEE_GRANT_WEIGHTS_TO_REQUESTER;
    g.until = 1893456000;
    g.n_to = 2;
    memset(g.to[0], 4, 32);
    memset(g.to[1], 5, 32);
    assert_int_equal(gtee_grant_encode(&g, b, &len, &err), 0);
    assert_int_equal(len, 107 + 64);
    assert_int_equal(gtee_grant_parse(b, len, &back, &err), 0);
    assert_memory_equal(&back, &g, sizeof(g));
    assert_int_equal(gtee_grant_parse(b, len - 1, &back, &err), GTEE_EFORMAT); /* a counterparty cut */
    assert_non_null(strstr(err.msg, "offset 107"));
    assert_int_equal(gtee_grant_parse(b, 100, &back, &err), GTEE_EFORMAT);
    b[96] = 0x04;
    assert_int_equal(gtee_grant_parse(b, len, &back, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "offset 96"));
    b[96] = 0x01;
    b[97] = 0x80;
    assert_int_equal(gtee_grant_parse(b, len, &back, &err), GTEE_EFORMAT);
    b[97] = 0;
    b[106] = 9;
    assert_int_equal(gtee_grant_parse(b, len, &back, &err), GTEE_EFORMAT);
    g.n_to = 9;
    assert_int_equal(gtee_grant_encode(&g, b, &len, &err), GTEE_EINVAL);
}

static void test_job_round_trip_and_ranges(void **state)
{
    struct gtee_job j = { .kind = GTEE_JOB_TRAIN, .model = 1, .input = 2, .labels = 3, .threads = 2, .optimizer = 2,
                          .epochs = 5, .batch = 64, .seed = 42, .lr = 0.001f },
                    back;
    struct gtee_err err = {0};
    uint8_t b[GTEE_JOB_MAX_LEN];
    size_t len = 0;

    (void)state;
    memset(j.requester, 7, 32);
    assert_int_equal(gtee_job_encode(&j, b, &len, &err), 0);
    assert_int_equal(len, 34 + GTEE_JOB_TRAIN_LEN);
    assert_int_equal(gtee_job_parse(b, len, &back, &err), 0);
    assert_memory_equal(&back, &j, sizeof(j));
    assert_int_equal(gtee_job_parse(b, len + 0, &back, &err), 0);
    assert_int_equal(gtee_job_parse(b, len - 1, &back, &err), GTEE_EFORMAT);
    j.epochs = 0;
    assert_int_equal(gtee_job_encode(&j, b, &len, &err), 0);
    assert_int_equal(gtee_job_parse(b, len, &back, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "offset 38"));
    j.epochs = 1;
    j.lr = -1.0f;
    assert_int_equal(gtee_job_encode(&j, b, &len, &err), 0);
    assert_int_equal(gtee_job_parse(b, len, &back, &err), GTEE_EFORMAT);
    j = (struct gtee_job){ .kind = GTEE_JOB_INFER, .model = 0, .input = 1, .threads = 65 };
    assert_int_equal(gtee_job_encode(&j, b, &len, &err), 0);
    assert_int_equal(len, 34 + GTEE_JOB_INFER_LEN);
    assert_int_equal(gtee_job_parse(b, len, &back, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "threads 65"));
    b[0] = 3;
    assert_int_equal(gtee_job_parse(b, len, &back, &err), GTEE_EFORMAT);
}

static void test_record_and_result(void **state)
{
    struct gtee_job_epoch ep[2] = { { 0.5, 10, 20 }, { 0.25, 15, 20 } };
    struct gtee_job_record r = { .kind = GTEE_JOB_TRAIN, .recipient = 1, .macs = 123, .samples = 40, .n_epochs = 2,
                                 .epochs = ep },
                           back = {0};
    struct gtee_err err = {0};
    uint8_t sk[32], pk[32], sk2[32], pk2[32], *rec = NULL, *res = NULL, *pt = NULL;
    size_t rec_len = 0, res_len = 0, pt_len = 0;
    const char msg[] = "the trained model";

    (void)state;
    memset(r.model, 1, 32);
    memset(r.input, 2, 32);
    memset(r.labels, 3, 32);
    assert_int_equal(gtee_x25519_keypair(sk, pk), 0);
    assert_int_equal(gtee_x25519_keypair(sk2, pk2), 0);
    assert_int_equal(gtee_result_seal(&r, pk, (const uint8_t *)msg, sizeof(msg), &res, &res_len, &err), 0);
    r.result_len = res_len;
    assert_int_equal(gtee_sha256(res, res_len, r.result_sha256), 0);
    assert_int_equal(gtee_job_record_encode(&r, &rec, &rec_len, &err), 0);
    assert_int_equal(rec_len, GTEE_JOB_RECORD_FIXED + 48);
    assert_int_equal(gtee_job_record_parse(rec, rec_len, &back, &err), 0);
    assert_int_equal(back.n_epochs, 2);
    assert_true(back.epochs[1].loss == 0.25 && back.epochs[1].correct == 15);
    assert_int_equal(back.macs, 123);
    assert_int_equal(gtee_result_open(&back, sk, res, res_len, &pt, &pt_len, &err), 0);
    assert_int_equal(pt_len, sizeof(msg));
    assert_memory_equal(pt, msg, sizeof(msg));
    free(pt);
    /* another key; another job's record; a changed byte */
    assert_int_equal(gtee_result_open(&back, sk2, res, res_len, &pt, &pt_len, &err), GTEE_EAUTH);
    back.input[0] ^= 1;
    assert_int_equal(gtee_result_open(&back, sk, res, res_len, &pt, &pt_len, &err), GTEE_EAUTH);
    back.input[0] ^= 1;
    res[res_len - 1] ^= 1;
    assert_int_equal(gtee_result_open(&back, sk, res, res_len, &pt, &pt_len, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "not the result its job record names"));
    res[res_len - 1] ^= 1;
    /* a record that names this result but says other metrics than the result's own */
    back.macs++;
    assert_int_equal(gtee_result_open(&back, sk, res, res_len, &pt, &pt_len, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "its record differs"));
    back.macs--;
    gtee_job_record_free(&back);
    /* with the recipient's key alone: the job's record comes out of the result itself */
    assert_int_equal(gtee_result_open_alone(sk, res, res_len, &back, &pt, &pt_len, &err), 0);
    assert_int_equal(pt_len, sizeof(msg));
    assert_memory_equal(pt, msg, sizeof(msg));
    free(pt);
    assert_int_equal(back.kind, GTEE_JOB_TRAIN);
    assert_int_equal(back.recipient, 1);
    assert_int_equal(back.macs, 123);
    assert_int_equal(back.samples, 40);
    assert_int_equal(back.n_epochs, 2);
    assert_true(back.epochs[0].loss == 0.5 && back.epochs[1].correct == 15 && back.epochs[1].samples == 20);
    assert_memory_equal(back.labels, r.labels, 32);
    assert_memory_equal(back.result_sha256, r.result_sha256, 32);
    assert_int_equal(back.result_len, res_len);
    gtee_job_record_free(&back);
    /* another identity: refused, nothing out; a header that names another job: refused */
    assert_int_equal(gtee_result_open_alone(sk2, res, res_len, &back, &pt, &pt_len, &err), GTEE_EAUTH);
    assert_null(pt);
    assert_non_null(strstr(err.msg, "does not open with this identity"));
    res[20] ^= 1;
    assert_int_equal(gtee_result_open_alone(sk, res, res_len, &back, &pt, &pt_len, &err), GTEE_EAUTH);
    res[20] ^= 1;
    assert_int_equal(gtee_result_open_alone(sk, res, 100, &back, &pt, &pt_len, &err), GTEE_EFORMAT);
    /* exactness of the record */
    assert_int_equal(gtee_job_record_parse(rec, rec_len - 1, &back, &err), GTEE_EFORMAT);
    rec[97] = 3;
    assert_int_equal(gtee_job_record_parse(rec, rec_len, &back, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "offset 97"));
    free(rec);
    free(res);
}

/* The result notice (docs/tee.md §7.1): round trip, and exact: magic, length, range. */
static void test_result_notice(void **state)
{
    struct gtee_result_notice n = { .len = 5u << 20 }, back;
    uint8_t b[GTEE_RESULT_NOTICE_LEN + 1];
    struct gtee_err err = { 0 };

    (void)state;
    memset(n.sha256, 0xa5, 32);
    gtee_result_notice_encode(&n, b);
    assert_true(gtee_result_notice_is(b, GTEE_RESULT_NOTICE_LEN));
    assert_int_equal(gtee_result_notice_parse(b, GTEE_RESULT_NOTICE_LEN, &back, &err), 0);
    assert_int_equal(back.len, n.len);
    assert_memory_equal(back.sha256, n.sha256, 32);
    assert_int_equal(gtee_result_notice_parse(b, GTEE_RESULT_NOTICE_LEN - 1, &back, &err), GTEE_EFORMAT);
    b[GTEE_RESULT_NOTICE_LEN] = 0;
    assert_int_equal(gtee_result_notice_parse(b, GTEE_RESULT_NOTICE_LEN + 1, &back, &err), GTEE_EFORMAT);
    n.len = 0;
    gtee_result_notice_encode(&n, b);
    assert_int_equal(gtee_result_notice_parse(b, GTEE_RESULT_NOTICE_LEN, &back, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "offset 9"));
    b[8] = 2;
    assert_int_equal(gtee_result_notice_parse(b, GTEE_RESULT_NOTICE_LEN, &back, &err), GTEE_EFORMAT);
    assert_false(gtee_result_notice_is((const uint8_t *)"GTEE-RES\x01", 9));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grant_round_trip_and_exactness),
        cmocka_unit_test(test_job_round_trip_and_ranges),
        cmocka_unit_test(test_record_and_result),
        cmocka_unit_test(test_result_notice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
