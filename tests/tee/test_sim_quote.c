/* Simulated DCAP quotes: every check runs with one offset logic over the real Intel
 * samples (tests/vectors) and over generated quotes, so the generated fields are shown
 * to sit where real hardware puts them and to bind the same keys the same way. */
#include <jansson.h>

#include "gtee/crypto.h"
#include "tee/sim_testlib.h"

struct fixture {
    char *dir;
    struct gtee_sim *sim;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct gtee_err err = { 0 };

    f->dir = make_device();
    if (gtee_sim_open(f->dir, &f->sim, &err) != 0)
        fail_msg("gtee_sim_open: %s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    gtee_sim_close(f->sim);
    rm_device(f->dir);
    free(f);
    return 0;
}

static const struct gtee_sim_identity ID = {
    .mrenclave = { 0xe1, 0xe2, 0xe3, [31] = 0xef },
    .mrsigner = { 0x51, 0x52, [31] = 0x5f },
    .isv_prod_id = 0x1234,
    .isv_svn = 0x0607,
    .debug = 0,
};

static void report_data(uint8_t rd[64])
{
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)(0xa0 + i);
}

static uint8_t *make_quote(struct gtee_sim *sim, int version, const struct gtee_sim_identity *id, size_t *len)
{
    uint8_t rd[64], *q = NULL;
    struct gtee_err err = { 0 };

    report_data(rd);
    if (gtee_sim_quote(sim, version, id, rd, &q, len, &err) != 0)
        fail_msg("gtee_sim_quote v%d: %s", version, err.msg);
    return q;
}

static uint8_t *real_quote(int version, size_t *len)
{
    char path[1024];

    vector_path(path, sizeof(path), version == 4 ? "tdx/tdx-1/quote.bin" : "sgx/sgx-1/quote.bin");
    return read_all(path, len);
}

static void check_same_layout(int version, struct gtee_sim *sim)
{
    size_t rlen, glen;
    uint8_t *real = real_quote(version, &rlen);
    uint8_t *gen = make_quote(sim, version, &ID, &glen);
    struct quote_layout r, g;

    assert_int_equal(parse_quote(real, rlen, &r), 0);
    assert_int_equal(parse_quote(gen, glen, &g), 0);
    assert_int_equal(g.version, version);
    assert_int_equal(g.version, r.version);
    assert_int_equal(g.att_key_type, r.att_key_type);
    assert_int_equal(g.att_key_type, 2); /* ECDSA-256-with-P-256 */
    assert_int_equal(g.tee_type, r.tee_type);
    assert_int_equal(g.tee_type, version == 4 ? 0x81 : 0);
    assert_memory_equal(gen + 12, real + 12, 16); /* QE vendor ID */
    assert_int_equal(g.body_off, r.body_off);
    assert_int_equal(g.sig_data_len_off, r.sig_data_len_off);
    assert_int_equal(g.sig_off, r.sig_off);
    assert_int_equal(g.att_key_off, r.att_key_off);
    assert_int_equal(g.outer_cert_type, r.outer_cert_type);
    assert_int_equal(g.outer_cert_type, version == 4 ? 6 : 5);
    assert_int_equal(g.qe_report_off, r.qe_report_off);
    assert_int_equal(g.qe_report_sig_off, r.qe_report_sig_off);
    assert_int_equal(g.qe_auth_len_off, r.qe_auth_len_off);
    assert_int_equal(g.qe_auth_len, r.qe_auth_len);
    assert_int_equal(g.cert_type_off, r.cert_type_off);
    assert_int_equal(g.cert_type, 5);
    assert_int_equal(r.cert_type, 5);
    /* The generated quote ends where its signature data ends. */
    assert_int_equal(glen, g.sig_data_len_off + 4 + g.sig_data_len);
    assert_true(rlen >= r.sig_data_len_off + 4 + r.sig_data_len);
    /* Both chains are PEM text ending in a NUL. */
    assert_int_equal(gen[g.cert_off + g.cert_len - 1], 0);
    assert_int_equal(real[r.cert_off + r.cert_len - 1], 0);
    assert_memory_equal(gen + g.cert_off, "-----BEGIN CERTIFICATE-----", 27);
    assert_memory_equal(real + r.cert_off, "-----BEGIN CERTIFICATE-----", 27);
    free(real);
    free(gen);
}

static void test_sgx_quote_v3_has_the_real_sample_layout(void **state)
{
    check_same_layout(3, ((struct fixture *)*state)->sim);
}

static void test_tdx_quote_v4_has_the_real_sample_layout(void **state)
{
    check_same_layout(4, ((struct fixture *)*state)->sim);
}

static void test_sgx_identity_lands_in_the_report_body(void **state)
{
    struct fixture *f = *state;
    size_t glen, rlen;
    uint8_t *gen = make_quote(f->sim, 3, &ID, &glen), *real = real_quote(3, &rlen);
    const uint8_t *b = gen + Q_HEADER_LEN;
    uint8_t rd[64];

    report_data(rd);
    /* The real sample's enclave put "Hello, world!" at the report data offset (320). */
    assert_memory_equal(real + Q_HEADER_LEN + 320, "Hello, world!", 13);
    assert_memory_equal(b + 64, ID.mrenclave, 32);
    assert_memory_equal(b + 128, ID.mrsigner, 32);
    assert_int_equal(b[256] | b[257] << 8, ID.isv_prod_id);
    assert_int_equal(b[258] | b[259] << 8, ID.isv_svn);
    assert_memory_equal(b + 320, rd, 64);
    /* ATTRIBUTES.FLAGS: INIT and MODE64BIT set (as in the real sample), DEBUG clear. */
    assert_int_equal(b[48] & 0x05, 0x05);
    assert_int_equal(real[Q_HEADER_LEN + 48] & 0x05, 0x05);
    assert_int_equal(b[48] & 0x02, 0);
    free(gen);
    free(real);
}

static void test_debug_flag_lands_in_attributes(void **state)
{
    struct fixture *f = *state;
    struct gtee_sim_identity dbg = ID;
    size_t len;
    uint8_t *q;

    dbg.debug = 1;
    q = make_quote(f->sim, 3, &dbg, &len);
    assert_int_equal(q[Q_HEADER_LEN + 48] & 0x02, 0x02); /* SGX ATTRIBUTES.DEBUG, bit 1 */
    free(q);
    q = make_quote(f->sim, 4, &dbg, &len);
    assert_int_equal(q[Q_HEADER_LEN + 120] & 0x01, 0x01); /* TDATTRIBUTES.DEBUG, bit 0 */
    free(q);
    q = make_quote(f->sim, 4, &ID, &len);
    assert_int_equal(q[Q_HEADER_LEN + 120] & 0x01, 0);
    free(q);
}

static void test_tdx_identity_mapping(void **state)
{
    struct fixture *f = *state;
    static const uint8_t zero[48];
    size_t glen, rlen;
    uint8_t *gen = make_quote(f->sim, 4, &ID, &glen), *real = real_quote(4, &rlen);
    const uint8_t *b = gen + Q_HEADER_LEN, *rb = real + Q_HEADER_LEN;
    uint8_t rd[64];

    report_data(rd);
    assert_memory_equal(b + 136, ID.mrenclave, 32); /* MRTD */
    assert_memory_equal(b + 136 + 32, zero, 16);
    assert_memory_equal(b + 232, ID.mrsigner, 32); /* MROWNER */
    assert_memory_equal(b + 232 + 32, zero, 16);
    assert_int_equal(b[280] | b[281] << 8, ID.isv_prod_id); /* MROWNERCONFIG */
    assert_int_equal(b[282] | b[283] << 8, ID.isv_svn);
    assert_memory_equal(b + 184, zero, 48);  /* MRCONFIGID */
    assert_memory_equal(b + 472, zero, 48);  /* RTMR3 */
    assert_memory_equal(b + 520, rd, 64);    /* REPORTDATA */
    /* As in the real sample: MRSIGNERSEAM zero (Intel-signed module), SEAMATTRIBUTES
     * zero, TDATTRIBUTES SEPT_VE_DISABLE, the same XFAM, nonzero MRSEAM and RTMR0..2. */
    assert_memory_equal(b + 64, rb + 64, 48 + 8 + 8 + 8);
    assert_memory_not_equal(b + 16, zero, 48);
    assert_memory_not_equal(rb + 16, zero, 48);
    for (int i = 0; i < 3; i++)
        assert_memory_not_equal(b + 328 + 48 * i, zero, 48);
    /* TEE_TCB_SVN: module SVN, major version 1 (TDX_01), as on the sample's platform. */
    assert_int_equal(b[1], rb[1]);
    free(gen);
    free(real);
}

static void check_quote_signature(const uint8_t *q, size_t len)
{
    struct quote_layout l;
    EVP_PKEY *att;
    uint8_t *copy;

    assert_int_equal(parse_quote(q, len, &l), 0);
    att = p256_from_raw(q + l.att_key_off);
    assert_true(verify_raw(att, q, l.body_off + l.body_len, q + l.sig_off));
    copy = malloc(len);
    memcpy(copy, q, len);
    copy[l.body_off + l.body_len - 1] ^= 1; /* last report data byte */
    assert_false(verify_raw(att, copy, l.body_off + l.body_len, copy + l.sig_off));
    free(copy);
    EVP_PKEY_free(att);
}

static void test_quote_signature_verifies_with_attestation_key(void **state)
{
    struct fixture *f = *state;

    for (int v = 3; v <= 4; v++) {
        size_t glen, rlen;
        uint8_t *gen = make_quote(f->sim, v, &ID, &glen), *real = real_quote(v, &rlen);

        check_quote_signature(real, rlen);
        check_quote_signature(gen, glen);
        free(gen);
        free(real);
    }
}

static void check_qe_report(const uint8_t *q, size_t len)
{
    struct quote_layout l;
    STACK_OF(X509) *chain;
    EVP_PKEY *pck;
    uint8_t bound[64 + 256], digest[32];
    static const uint8_t zero[32];

    assert_int_equal(parse_quote(q, len, &l), 0);
    /* The QE report signature verifies with the PCK leaf's key. */
    chain = pem_certs(q + l.cert_off, l.cert_len);
    assert_int_equal(sk_X509_num(chain), 3);
    pck = X509_get0_pubkey(sk_X509_value(chain, 0));
    assert_non_null(pck);
    assert_true(verify_raw(pck, q + l.qe_report_off, Q_SGX_BODY_LEN, q + l.qe_report_sig_off));
    assert_false(verify_raw(pck, q + l.body_off, Q_SGX_BODY_LEN, q + l.qe_report_sig_off));
    /* QE report data = SHA-256(attestation key || QE auth data) || 32 zero bytes. */
    assert_true(l.qe_auth_len <= 256);
    memcpy(bound, q + l.att_key_off, 64);
    memcpy(bound + 64, q + l.qe_auth_off, l.qe_auth_len);
    assert_int_equal(gtee_sha256(bound, 64 + (size_t)l.qe_auth_len, digest), 0);
    assert_memory_equal(q + l.qe_report_off + 320, digest, 32);
    assert_memory_equal(q + l.qe_report_off + 352, zero, 32);
    sk_X509_pop_free(chain, X509_free);
}

static void test_qe_report_is_signed_by_pck_and_binds_attestation_key(void **state)
{
    struct fixture *f = *state;

    for (int v = 3; v <= 4; v++) {
        size_t glen, rlen;
        uint8_t *gen = make_quote(f->sim, v, &ID, &glen), *real = real_quote(v, &rlen);

        check_qe_report(real, rlen);
        check_qe_report(gen, glen);
        free(gen);
        free(real);
    }
}

/* The QE report's MRSIGNER, ISVPRODID and ISVSVN against the QE identity's. */
static void check_qe_identity(const uint8_t *q, size_t len, const char *identity_path)
{
    struct quote_layout l;
    json_error_t jerr;
    json_t *root = json_load_file(identity_path, 0, &jerr);
    json_t *id = json_object_get(root, "enclaveIdentity");
    uint8_t mrsigner[32];
    int prod, svn, best;

    assert_non_null(id);
    assert_int_equal(parse_quote(q, len, &l), 0);
    assert_int_equal(gtee_hex_decode(json_string_value(json_object_get(id, "mrsigner")), mrsigner, 32), 0);
    assert_memory_equal(q + l.qe_report_off + 128, mrsigner, 32);
    prod = q[l.qe_report_off + 256] | q[l.qe_report_off + 257] << 8;
    svn = q[l.qe_report_off + 258] | q[l.qe_report_off + 259] << 8;
    assert_int_equal(prod, json_integer_value(json_object_get(id, "isvprodid")));
    best = (int)json_integer_value(
        json_object_get(json_object_get(json_array_get(json_object_get(id, "tcbLevels"), 0), "tcb"), "isvsvn"));
    assert_true(svn >= best); /* meets the highest (UpToDate) level */
    /* MISCSELECT and ATTRIBUTES under their masks. */
    assert_int_equal(q[l.qe_report_off + 48] & 0xfb, 0x11);
    json_decref(root);
}

static void test_qe_report_matches_qe_identity(void **state)
{
    struct fixture *f = *state;
    char path[1024];

    for (int v = 3; v <= 4; v++) {
        size_t glen, rlen;
        uint8_t *gen = make_quote(f->sim, v, &ID, &glen), *real = real_quote(v, &rlen);

        vector_path(path, sizeof(path), v == 4 ? "tdx/tdx-1/qe_identity.json" : "sgx/sgx-1/qe_identity.json");
        check_qe_identity(real, rlen, path);
        path_join(path, sizeof(path), f->dir, v == 4 ? "tdx/qe_identity.json" : "sgx/qe_identity.json");
        check_qe_identity(gen, glen, path);
        free(gen);
        free(real);
    }
}

/* TEE_TCB_SVN and the module fields against the TDX TCB info: the first level's
 * tdxtcbcomponents and the tdxModuleIdentities entry "TDX_<major>" (Intel's TDX TCB
 * evaluation), on the real sample and on a generated quote. */
static void check_tdx_module(const uint8_t *q, size_t len, const char *tcb_info_path)
{
    json_error_t jerr;
    json_t *root = json_load_file(tcb_info_path, 0, &jerr);
    json_t *info = json_object_get(root, "tcbInfo"), *ids, *mod = NULL, *comps;
    const uint8_t *b = q + Q_HEADER_LEN;
    uint8_t mrsigner[48], attrs[8];
    char want[16];
    size_t i;

    assert_non_null(info);
    assert_int_equal(q[4], 0x81);
    comps = json_object_get(json_object_get(json_array_get(json_object_get(info, "tcbLevels"), 0), "tcb"),
                            "tdxtcbcomponents");
    assert_int_equal(json_array_size(comps), 16);
    for (i = 0; i < 16; i++)
        assert_true(b[i] >= json_integer_value(json_object_get(json_array_get(comps, i), "svn")));
    snprintf(want, sizeof(want), "TDX_%02d", b[1]);
    ids = json_object_get(info, "tdxModuleIdentities");
    for (i = 0; i < json_array_size(ids); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(ids, i), "id")), want))
            mod = json_array_get(ids, i);
    assert_non_null(mod);
    assert_int_equal(gtee_hex_decode(json_string_value(json_object_get(mod, "mrsigner")), mrsigner, 48), 0);
    assert_memory_equal(b + 64, mrsigner, 48); /* MRSIGNERSEAM */
    assert_int_equal(gtee_hex_decode(json_string_value(json_object_get(mod, "attributes")), attrs, 8), 0);
    assert_memory_equal(b + 112, attrs, 8);    /* SEAMATTRIBUTES */
    assert_true(b[0] >= json_integer_value(json_object_get(
                            json_object_get(json_array_get(json_object_get(mod, "tcbLevels"), 0), "tcb"), "isvsvn")));
    (void)len;
    json_decref(root);
}

static void test_tdx_module_matches_tcb_info(void **state)
{
    struct fixture *f = *state;
    char path[1024];
    size_t glen, rlen;
    uint8_t *gen = make_quote(f->sim, 4, &ID, &glen), *real = real_quote(4, &rlen);

    vector_path(path, sizeof(path), "tdx/tdx-1/tcb_info.json");
    check_tdx_module(real, rlen, path);
    path_join(path, sizeof(path), f->dir, "tdx/tcb_info.json");
    check_tdx_module(gen, glen, path);
    free(gen);
    free(real);
}

static void test_certification_data_is_the_device_pck_chain(void **state)
{
    struct fixture *f = *state;
    char path[1024];
    size_t plen, qlen;
    uint8_t *pem, *q = make_quote(f->sim, 3, &ID, &qlen);
    struct quote_layout l;

    path_join(path, sizeof(path), f->dir, GTEE_SIM_PCK_CHAIN_FILE);
    pem = read_all(path, &plen);
    assert_int_equal(parse_quote(q, qlen, &l), 0);
    assert_int_equal(l.cert_len, plen + 1);
    assert_memory_equal(q + l.cert_off, pem, plen + 1);
    free(pem);
    free(q);
}

static void test_quote_rejects_unknown_version(void **state)
{
    struct fixture *f = *state;
    uint8_t rd[64] = { 0 }, *q = (uint8_t *)1;
    size_t len = 7;
    struct gtee_err err = { 0 };

    assert_int_equal(gtee_sim_quote(f->sim, 5, &ID, rd, &q, &len, &err), GTEE_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "version 5"));
    assert_null(q);
    assert_int_equal(len, 0);
    assert_int_equal(gtee_sim_quote(NULL, 3, &ID, rd, &q, &len, &err), GTEE_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sgx_quote_v3_has_the_real_sample_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tdx_quote_v4_has_the_real_sample_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sgx_identity_lands_in_the_report_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debug_flag_lands_in_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tdx_identity_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quote_signature_verifies_with_attestation_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qe_report_is_signed_by_pck_and_binds_attestation_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_qe_report_matches_qe_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tdx_module_matches_tcb_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_certification_data_is_the_device_pck_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quote_rejects_unknown_version, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
