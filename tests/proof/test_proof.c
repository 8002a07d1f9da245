/* Work Proofs: the EIP-712 hash against anvil's eth_signTypedData_v4 (a signature anvil made
 * over the same proof with the same key must be the one we make: RFC 6979 nonces are
 * deterministic), a signature through the SDK's signing slot recovering to the Enclave ID,
 * every signed field covered, non-canonical signatures refused, the per-enclave hash chain
 * (replay, equivocation, gaps, wrong prev_hash) and the strict file format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gtee/crypto.h"
#include "gtee/proof.h"

/* anvil's first dev account (its well-known test key) */
static const char anvil_key[] = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
static const char anvil_addr[] = "f39fd6e51aad88f6f4ce6ab8827279cfffb92266";
/* anvil 1.7.1's eth_signTypedData_v4 over fill() below (tests/proof/anvil_sign.py made it;
 * tests/proof/test_proof_anvil.sh makes it again against a running anvil) */
static const char anvil_sig[] = "69bdf04be33d6d9ae1ccc4be9ad9a95bc1dbda75d8305f49d500734ba6b9a6d5"
                                "641ec79b9b925aa0dbd82b296f5384eecc2313231d23c58115107e5c7e9abb1c1c";

static void hex(const char *s, uint8_t *out, size_t n)
{
    assert_int_equal(gtee_hex_decode(s, out, n), 0);
}

static void fill(struct gtee_proof *p)
{
    memset(p, 0, sizeof(*p));
    p->domain.chain_id = 31337;
    hex("5fbdb2315678afecb367f032d93f642f64180aa3", p->domain.contract, 20);
    hex(anvil_addr, p->enclave_id, 20);
    memset(p->job_id, 0x11, 32);
    p->job_kind = GTEE_JOB_TRAINING;
    memset(p->model_cid, 0x22, 32);
    memset(p->input_cid, 0x33, 32);
    memset(p->output_cid, 0x44, 32);
    p->units = 123456789;
    memset(p->receipt_hash, 0x55, 32);
    p->start_time = 1780000000;
    p->end_time = 1780000360;
    p->seq = 1;
    memset(p->evidence_hash, 0x66, 32);
}

static void test_proof_hash_and_signature_match_anvil(void **state)
{
    struct gtee_proof p;
    struct gtee_err err = {0};
    uint8_t key[32], want[65];

    (void)state;
    fill(&p);
    hex(anvil_key, key, 32);
    hex(anvil_sig, want, 65);
    assert_int_equal(gtee_proof_sign_key(&p, key, &err), 0);
    assert_memory_equal(p.sig, want, 65);
    assert_int_equal(gtee_proof_verify(&p, NULL, &err), 0);
}

/* The consent and key-release records against anvil's eth_signTypedData_v4 over the same
 * values with the same key (the contract's Consent and KeyRelease types). */
static void test_consent_and_keyrelease_hashes_match_anvil(void **state)
{
    static const char consent_sig[] = "b8d8d4aa12262026aa192e47b02ccac351502fc5ea45def10e0d1a7ba6630c7a"
                                      "13b7e653df4c25b46783460e95a5c3daafe38a11cbd6eb950fc5842cd39c90671b";
    static const char keyrelease_sig[] = "2319182982499cf731fb4a23e6fd30942b6f6fe1251761c792e559a197b6d194"
                                         "3f171656e9d4374952ad4825f80d83522a1b39d94f1fb27b426b22250c8b861f1b";
    struct gtee_proof p;
    uint8_t key[32], op[20], h[32], blob[32], grant[32], sig[65], want[65];

    (void)state;
    fill(&p);
    hex(anvil_key, key, 32);
    hex("70997970c51812dc3a010c7d01b50e0d17dc79c8", op, 20);
    gtee_proof_consent_hash(&p.domain, p.enclave_id, op, p.evidence_hash, h);
    assert_int_equal(gtee_secp256k1_sign(key, h, sig), 0);
    sig[64] += 27;
    hex(consent_sig, want, 65);
    assert_memory_equal(sig, want, 65);
    memset(blob, 0xb1, 32);
    memset(grant, 0x6a, 32);
    gtee_proof_keyrelease_hash(&p.domain, p.enclave_id, blob, grant, 1780000123, h);
    assert_int_equal(gtee_secp256k1_sign(key, h, sig), 0);
    sig[64] += 27;
    hex(keyrelease_sig, want, 65);
    assert_memory_equal(sig, want, 65);
}

/* Changing any one signed field (domain included) must break the signature. */
static void test_proof_every_field_is_signed(void **state)
{
    struct gtee_proof p, q;
    struct gtee_err err = {0};
    uint8_t key[32];
    size_t offs[] = {
        offsetof(struct gtee_proof, domain.chain_id), offsetof(struct gtee_proof, domain.contract),
        offsetof(struct gtee_proof, job_id), offsetof(struct gtee_proof, model_cid),
        offsetof(struct gtee_proof, input_cid), offsetof(struct gtee_proof, output_cid),
        offsetof(struct gtee_proof, units), offsetof(struct gtee_proof, receipt_hash),
        offsetof(struct gtee_proof, start_time), offsetof(struct gtee_proof, evidence_hash),
        offsetof(struct gtee_proof, gpu_evidence_hash),
    };

    (void)state;
    fill(&p);
    hex(anvil_key, key, 32);
    assert_int_equal(gtee_proof_sign_key(&p, key, &err), 0);
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        q = p;
        ((uint8_t *)&q)[offs[i]] ^= 1;
        assert_int_equal(gtee_proof_verify(&q, NULL, &err), GTEE_EAUTH);
    }
    q = p;
    q.job_kind = GTEE_JOB_INFERENCE;
    assert_int_equal(gtee_proof_verify(&q, NULL, &err), GTEE_EAUTH);
    q = p;
    q.end_time++;
    assert_int_equal(gtee_proof_verify(&q, NULL, &err), GTEE_EAUTH);
    q = p;
    q.seq = 2;
    memset(q.prev_hash, 7, 32);
    assert_int_equal(gtee_proof_verify(&q, NULL, &err), GTEE_EAUTH);
    /* another key's signature over the same proof: signed, but not by the Enclave ID */
    q = p;
    key[31] ^= 1;
    assert_int_equal(gtee_proof_sign_key(&q, key, &err), 0);
    assert_int_equal(gtee_proof_verify(&q, NULL, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "not by the Enclave ID"));
}

/* n - s (the other valid encoding) and a raw recovery id are refused. */
static void test_proof_signature_must_be_canonical(void **state)
{
    static const uint8_t n[32] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
        0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
    };
    struct gtee_proof p, q;
    struct gtee_err err = {0};
    uint8_t key[32];
    int borrow = 0;

    (void)state;
    fill(&p);
    hex(anvil_key, key, 32);
    assert_int_equal(gtee_proof_sign_key(&p, key, &err), 0);
    q = p;
    for (int i = 31; i >= 0; i--) {
        int d = n[i] - p.sig[32 + i] - borrow;

        borrow = d < 0;
        q.sig[32 + i] = (uint8_t)(d + 256 * borrow);
    }
    q.sig[64] = p.sig[64] == 27 ? 28 : 27;
    assert_int_equal(gtee_proof_verify(&q, NULL, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "n/2"));
    q = p;
    q.sig[64] -= 27;
    assert_int_equal(gtee_proof_verify(&q, NULL, &err), GTEE_EAUTH);
}

static void test_proof_field_rules(void **state)
{
    struct gtee_proof p;
    struct gtee_err err = {0};
    uint8_t key[32];

    (void)state;
    hex(anvil_key, key, 32);
    fill(&p);
    p.seq = 0;
    assert_int_equal(gtee_proof_sign_key(&p, key, &err), GTEE_EFORMAT);
    fill(&p);
    p.seq = 2; /* a later proof must name its predecessor */
    assert_int_equal(gtee_proof_sign_key(&p, key, &err), GTEE_EFORMAT);
    fill(&p);
    p.prev_hash[0] = 1; /* the first proof has none */
    assert_int_equal(gtee_proof_sign_key(&p, key, &err), GTEE_EFORMAT);
    fill(&p);
    p.end_time = p.start_time - 1;
    assert_int_equal(gtee_proof_sign_key(&p, key, &err), GTEE_EFORMAT);
    fill(&p);
    p.job_kind = 9;
    assert_int_equal(gtee_proof_sign_key(&p, key, &err), GTEE_EFORMAT);
}

/* A chain of four proofs of one enclave, signed in turn; hashes[i] of each. */
static void chain(struct gtee_proof *p, uint8_t (*h)[32], size_t n)
{
    struct gtee_err err = {0};
    uint8_t key[32];

    hex(anvil_key, key, 32);
    for (size_t i = 0; i < n; i++) {
        fill(&p[i]);
        p[i].seq = i + 1;
        p[i].units = 10 * (i + 1);
        if (i)
            memcpy(p[i].prev_hash, h[i - 1], 32);
        assert_int_equal(gtee_proof_sign_key(&p[i], key, &err), 0);
        assert_int_equal(gtee_proof_verify(&p[i], h[i], &err), 0);
    }
}

static void test_proof_chain(void **state)
{
    struct gtee_proof p[5], q[5];
    uint8_t h[5][32], hq[5][32];
    struct gtee_err err = {0};
    uint8_t key[32];

    (void)state;
    hex(anvil_key, key, 32);
    chain(p, h, 4);
    assert_int_equal(gtee_proof_chain_check(p, (const uint8_t(*)[32])h, 4, &err), 0);
    /* any order; a chain may start past seq 1 */
    memcpy(q, p, sizeof(p));
    memcpy(hq, h, sizeof(h));
    q[0] = p[3], q[3] = p[0], memcpy(hq[0], h[3], 32), memcpy(hq[3], h[0], 32);
    assert_int_equal(gtee_proof_chain_check(q, (const uint8_t(*)[32])hq, 4, &err), 0);
    assert_int_equal(gtee_proof_chain_check(p + 1, (const uint8_t(*)[32])(h + 1), 3, &err), 0);
    /* a skipped sequence number */
    memcpy(q, p, sizeof(p));
    memcpy(hq, h, sizeof(h));
    q[1] = p[3], memcpy(hq[1], h[3], 32);
    assert_int_equal(gtee_proof_chain_check(q, (const uint8_t(*)[32])hq, 2, &err), GTEE_EPOLICY);
    assert_non_null(strstr(err.msg, "missing"));
    /* a replayed proof */
    memcpy(q, p, sizeof(p));
    memcpy(hq, h, sizeof(h));
    q[4] = p[2], memcpy(hq[4], h[2], 32);
    assert_int_equal(gtee_proof_chain_check(q, (const uint8_t(*)[32])hq, 5, &err), GTEE_EPOLICY);
    assert_non_null(strstr(err.msg, "replayed"));
    /* equivocation: another proof signed with seq 3 */
    q[4] = p[2];
    q[4].units++;
    assert_int_equal(gtee_proof_sign_key(&q[4], key, &err), 0);
    assert_int_equal(gtee_proof_verify(&q[4], hq[4], &err), 0);
    assert_int_equal(gtee_proof_chain_check(q, (const uint8_t(*)[32])hq, 5, &err), GTEE_EPOLICY);
    assert_non_null(strstr(err.msg, "equivocation"));
    /* seq one past, but naming another proof's hash */
    memcpy(q, p, sizeof(p));
    memcpy(hq, h, sizeof(h));
    memcpy(q[2].prev_hash, h[0], 32);
    assert_int_equal(gtee_proof_sign_key(&q[2], key, &err), 0);
    assert_int_equal(gtee_proof_verify(&q[2], hq[2], &err), 0);
    assert_int_equal(gtee_proof_chain_check(q, (const uint8_t(*)[32])hq, 4, &err), GTEE_EPOLICY);
    assert_non_null(strstr(err.msg, "prev_hash"));
    /* the same seq under another contract is another chain */
    memcpy(q, p, sizeof(p));
    memcpy(hq, h, sizeof(h));
    q[1] = p[0];
    q[1].domain.contract[0] ^= 1;
    assert_int_equal(gtee_proof_sign_key(&q[1], key, &err), 0);
    assert_int_equal(gtee_proof_verify(&q[1], hq[1], &err), 0);
    assert_int_equal(gtee_proof_chain_check(q, (const uint8_t(*)[32])hq, 2, &err), 0);
}

static void test_proof_file_round_trip_and_strictness(void **state)
{
    struct gtee_proof p, *out = NULL;
    struct gtee_err err = {0};
    uint8_t key[32];
    char *js = NULL, *bad;
    size_t n = 0;
    static const char *const mutations[][2] = {
        { "\"units\": 123456789", "\"units\": -1" },
        { "\"units\": 123456789", "\"units\": 1.5" },
        { "\"units\": 123456789", "\"units\": \"123456789\"" },
        { "\"job_kind\": \"training\"", "\"job_kind\": \"mining\"" },
        { "\"format\": \"gtee-work-proof-1\"", "\"format\": \"gtee-work-proof-2\"" },
        { "\"units\": 123456789", "\"units\": 123456789, \"bonus\": 1" },
        { "\"units\": 123456789", "\"units\": 123456789, \"units\": 1" },
        { "\"units\": 123456789,", "" },
        { "\"chain_id\": 31337", "\"chain_id\": 0" },
        { "\"job_id\": \"0x", "\"job_id\": \"" },
        { "\"job_id\": \"0x11", "\"job_id\": \"0x1" },
        { "\"job_id\": \"0x11", "\"job_id\": \"0xzz" },
    };

    (void)state;
    fill(&p);
    hex(anvil_key, key, 32);
    assert_int_equal(gtee_proof_sign_key(&p, key, &err), 0);
    assert_int_equal(gtee_proof_encode(&p, &js, &err), 0);
    assert_int_equal(gtee_proof_parse(js, strlen(js), &out, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_memory_equal(out, &p, sizeof(p));
    free(out);
    for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
        const char *at = strstr(js, mutations[i][0]);
        size_t pre, from = strlen(mutations[i][0]), to = strlen(mutations[i][1]);

        assert_non_null(at);
        pre = (size_t)(at - js);
        bad = malloc(strlen(js) + to + 1);
        assert_non_null(bad);
        memcpy(bad, js, pre);
        memcpy(bad + pre, mutations[i][1], to);
        strcpy(bad + pre + to, at + from);
        out = NULL;
        if (gtee_proof_parse(bad, strlen(bad), &out, &n, &err) != GTEE_EFORMAT)
            fail_msg("mutation %zu accepted: %s", i, bad);
        assert_null(out);
        free(bad);
    }
    assert_int_equal(gtee_proof_parse("[]", 2, &out, &n, &err), GTEE_EFORMAT);
    assert_int_equal(gtee_proof_parse("7", 1, &out, &n, &err), GTEE_EFORMAT);
    free(js);
}

/* Replaces the first "from" in js by "to" (a new string). */
static char *replace(const char *js, const char *from, const char *to)
{
    const char *at = strstr(js, from);
    size_t pre, fl = strlen(from), tl = strlen(to);
    char *out;

    assert_non_null(at);
    pre = (size_t)(at - js);
    out = malloc(strlen(js) + tl + 1);
    assert_non_null(out);
    memcpy(out, js, pre);
    memcpy(out + pre, to, tl);
    strcpy(out + pre + tl, at + fl);
    return out;
}

/* The reader takes any JSON spelling of a proof (escapes, blanks, key order), refuses what
 * a strict JSON parser refuses, and its errors say where: the proof's index, the field, the
 * line, column and byte of the file. */
static void test_proof_file_spelling_and_error_location(void **state)
{
    struct gtee_proof p, *out = NULL;
    struct gtee_err err = {0};
    uint8_t key[32];
    char *js = NULL, *three, *bad, *t;
    size_t n = 0, len;

    (void)state;
    fill(&p);
    hex(anvil_key, key, 32);
    assert_int_equal(gtee_proof_sign_key(&p, key, &err), 0);
    assert_int_equal(gtee_proof_encode(&p, &js, &err), 0);
    len = strlen(js);
    three = malloc(3 * len + 8);
    assert_non_null(three);
    sprintf(three, "[%s,\n%s,\n%s]", js, js, js);
    assert_int_equal(gtee_proof_parse(three, strlen(three), &out, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(&out[2], &p, sizeof(p));
    free(out);

    /* another spelling of the same proof: escaped key and value characters, the domain's
     * keys swapped, tabs and CRs */
    t = replace(js, "\"format\"", "\"\\u0066orm\\u0061t\"");
    bad = replace(t, "\"gtee-work-proof-1\"", "\t\"gtee\\u002dwork-proof-1\"\r");
    free(t);
    t = replace(bad, "\"chain_id\": 31337,\n    \"contract\": ", "\"contract\":");
    free(bad);
    bad = replace(t, "\"\n  },", "\",\"chain_id\":31337},");
    free(t);
    t = replace(bad, "\"job_id\": \"0x1111", "\"job_id\": \"0x11\\u0031\\u0031");
    free(bad);
    assert_int_equal(gtee_proof_parse(t, strlen(t), &out, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_memory_equal(out, &p, sizeof(p));
    free(out);
    free(t);

    /* the largest integer the format holds, and one past it */
    t = replace(js, "\"units\": 123456789", "\"units\": 9223372036854775807");
    assert_int_equal(gtee_proof_parse(t, strlen(t), &out, &n, &err), 0);
    assert_true(out[0].units == 9223372036854775807ULL);
    free(out);
    free(t);
    t = replace(js, "\"units\": 123456789", "\"units\": 9223372036854775808");
    assert_int_equal(gtee_proof_parse(t, strlen(t), &out, &n, &err), GTEE_EFORMAT);
    free(t);

    /* an error in the third proof names it, its field and where it is */
    t = replace(three + 2 * len, "\"units\": 123456789", "\"units\": 1.5");
    bad = malloc(3 * len + strlen(t) + 8);
    assert_non_null(bad);
    memcpy(bad, three, 2 * len);
    strcpy(bad + 2 * len, t);
    free(t);
    out = NULL;
    assert_int_equal(gtee_proof_parse(bad, strlen(bad), &out, &n, &err), GTEE_EFORMAT);
    assert_null(out);
    assert_non_null(strstr(err.msg, "proof 2 "));
    assert_non_null(strstr(err.msg, "'units'"));
    {
        size_t at = (size_t)(strstr(bad + 2 * len, "1.5") - bad);
        int line = 1;
        char want[64];

        for (size_t i = 0; i < at; i++)
            line += bad[i] == '\n';
        snprintf(want, sizeof(want), "line %d, column 12, byte %zu", line, at);
        if (!strstr(err.msg, want))
            fail_msg("'%s' does not say '%s'", err.msg, want);
    }
    free(bad);

    /* what a strict JSON parser refuses */
    {
        static const char *const trail[] = { "]x", ",]", "]]", "" };

        for (size_t i = 0; i < sizeof(trail) / sizeof(trail[0]); i++) {
            char *c = malloc(3 * len + 16);

            assert_non_null(c);
            sprintf(c, "[%s%s", js, trail[i]);
            if (gtee_proof_parse(c, strlen(c), &out, &n, &err) != GTEE_EFORMAT)
                fail_msg("accepted: ...%s", trail[i]);
            free(c);
        }
    }
    t = replace(js, "\"units\": 123456789", "\"units\": 0123");
    assert_int_equal(gtee_proof_parse(t, strlen(t), &out, &n, &err), GTEE_EFORMAT);
    free(t);
    t = replace(js, "\"job_kind\": \"training\"", "\"job_kind\": \"train\\u0000ing\"");
    assert_int_equal(gtee_proof_parse(t, strlen(t), &out, &n, &err), GTEE_EFORMAT);
    free(t);
    free(three);
    free(js);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proof_hash_and_signature_match_anvil),
        cmocka_unit_test(test_consent_and_keyrelease_hashes_match_anvil),
        cmocka_unit_test(test_proof_every_field_is_signed),
        cmocka_unit_test(test_proof_signature_must_be_canonical),
        cmocka_unit_test(test_proof_field_rules),
        cmocka_unit_test(test_proof_chain),
        cmocka_unit_test(test_proof_file_round_trip_and_strictness),
        cmocka_unit_test(test_proof_file_spelling_and_error_location),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
