/* The simulated PKI and collateral: the PCK chain verifies to sim_root_ca.der (and not to
 * Intel's root); the SGX extension parses back to the platform the TCB info describes;
 * tcb_info.json and qe_identity.json signatures verify over the exact inner bytes; the
 * CRLs verify under their issuers. The parsers run on the real samples too. */
#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <time.h>

#include "gtee/crypto.h"
#include "tee/sim_testlib.h"

static int setup(void **state)
{
    *state = make_device();
    return 0;
}

static int teardown(void **state)
{
    rm_device(*state);
    return 0;
}

static X509 *load_der_cert(const char *path)
{
    size_t len;
    uint8_t *der = read_all(path, &len);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);

    assert_non_null(x);
    free(der);
    return x;
}

static STACK_OF(X509) *load_pem_chain(const char *path)
{
    size_t len;
    uint8_t *pem = read_all(path, &len);
    STACK_OF(X509) *sk = pem_certs(pem, len);

    free(pem);
    return sk;
}

/* X509_verify_cert of leaf with untrusted intermediates against one trusted root. */
static int chain_verifies(X509 *root, X509 *leaf, STACK_OF(X509) *untrusted)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok;

    assert_true(X509_STORE_add_cert(store, root));
    assert_true(X509_STORE_CTX_init(ctx, store, leaf, untrusted));
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
    ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

static void device_file(char *out, size_t n, const char *dir, const char *rel)
{
    path_join(out, n, dir, rel);
}

static void test_pck_chain_verifies_to_the_simulated_root_only(void **state)
{
    const char *dir = *state;
    char path[1024];
    X509 *root, *intel;
    STACK_OF(X509) *chain;

    device_file(path, sizeof(path), dir, GTEE_SIM_ROOT_CA_FILE);
    root = load_der_cert(path);
    device_file(path, sizeof(path), dir, GTEE_SIM_PCK_CHAIN_FILE);
    chain = load_pem_chain(path);
    assert_int_equal(sk_X509_num(chain), 3);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 2), root), 0);
    assert_true(chain_verifies(root, sk_X509_value(chain, 0), chain));
    vector_path(path, sizeof(path), "intel/sgx_root_ca.der");
    intel = load_der_cert(path);
    assert_false(chain_verifies(intel, sk_X509_value(chain, 0), chain));
    /* Every subject says it is simulated. */
    for (int i = 0; i < 3; i++) {
        char name[256];
        X509_NAME_oneline(X509_get_subject_name(sk_X509_value(chain, i)), name, sizeof(name));
        assert_non_null(strstr(name, "SIMULATED"));
        assert_non_null(strstr(name, "NOT SECURE"));
    }
    /* The leaf is an end entity for signatures; the CAs sign certificates (Intel profile). */
    assert_int_equal(X509_get_key_usage(sk_X509_value(chain, 0)), KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
    assert_int_equal(X509_get_key_usage(sk_X509_value(chain, 1)), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_int_equal(X509_check_ca(sk_X509_value(chain, 0)), 0);
    assert_true(X509_check_ca(sk_X509_value(chain, 1)) > 0);
    X509_free(intel);
    X509_free(root);
    sk_X509_pop_free(chain, X509_free);
}

/* ---- the SGX extension ---- */
#define SGX_OID "1.2.840.113741.1.13.1"

struct sgx_ext {
    uint8_t ppid[16], cpusvn[16], fmspc[6], pceid[2];
    int comp[16], pcesvn, sgx_type;
    int seen; /* bit per field found */
};

static STACK_OF(ASN1_TYPE) *seq_of(const ASN1_TYPE *t)
{
    const unsigned char *p;

    assert_int_equal(ASN1_TYPE_get(t), V_ASN1_SEQUENCE);
    p = t->value.sequence->data;
    return d2i_ASN1_SEQUENCE_ANY(NULL, &p, t->value.sequence->length);
}

/* One {OID, value} pair: the OID's text and the value. */
static const ASN1_TYPE *pair_of(const ASN1_TYPE *t, STACK_OF(ASN1_TYPE) **keep, char *oid, size_t n)
{
    *keep = seq_of(t);
    assert_non_null(*keep);
    assert_int_equal(sk_ASN1_TYPE_num(*keep), 2);
    assert_int_equal(ASN1_TYPE_get(sk_ASN1_TYPE_value(*keep, 0)), V_ASN1_OBJECT);
    assert_true(OBJ_obj2txt(oid, (int)n, sk_ASN1_TYPE_value(*keep, 0)->value.object, 1) > 0);
    return sk_ASN1_TYPE_value(*keep, 1);
}

static void octets(const ASN1_TYPE *v, uint8_t *out, int n)
{
    assert_int_equal(ASN1_TYPE_get(v), V_ASN1_OCTET_STRING);
    assert_int_equal(v->value.octet_string->length, n);
    memcpy(out, v->value.octet_string->data, (size_t)n);
}

static void parse_tcb(const ASN1_TYPE *tcb, struct sgx_ext *e)
{
    STACK_OF(ASN1_TYPE) *items = seq_of(tcb), *kv;
    char oid[80];

    assert_int_equal(sk_ASN1_TYPE_num(items), 18);
    for (int i = 0; i < 18; i++) {
        const ASN1_TYPE *v = pair_of(sk_ASN1_TYPE_value(items, i), &kv, oid, sizeof(oid));
        int k;
        assert_int_equal(sscanf(oid, SGX_OID ".2.%d", &k), 1);
        if (k >= 1 && k <= 17) {
            assert_int_equal(ASN1_TYPE_get(v), V_ASN1_INTEGER);
            if (k <= 16)
                e->comp[k - 1] = (int)ASN1_INTEGER_get(v->value.integer);
            else
                e->pcesvn = (int)ASN1_INTEGER_get(v->value.integer);
        } else {
            assert_int_equal(k, 18);
            octets(v, e->cpusvn, 16);
        }
        sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
    }
    sk_ASN1_TYPE_pop_free(items, ASN1_TYPE_free);
}

static void parse_sgx_ext(X509 *leaf, struct sgx_ext *e)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(SGX_OID, 1);
    int idx = X509_get_ext_by_OBJ(leaf, obj, -1);
    const ASN1_OCTET_STRING *data;
    const unsigned char *p;
    STACK_OF(ASN1_TYPE) *items, *kv;
    char oid[80];

    memset(e, 0, sizeof(*e));
    assert_true(idx >= 0);
    assert_false(X509_EXTENSION_get_critical(X509_get_ext(leaf, idx)));
    data = X509_EXTENSION_get_data(X509_get_ext(leaf, idx));
    p = data->data;
    items = d2i_ASN1_SEQUENCE_ANY(NULL, &p, data->length);
    assert_non_null(items);
    for (int i = 0; i < sk_ASN1_TYPE_num(items); i++) {
        const ASN1_TYPE *v = pair_of(sk_ASN1_TYPE_value(items, i), &kv, oid, sizeof(oid));
        if (!strcmp(oid, SGX_OID ".1"))
            octets(v, e->ppid, 16), e->seen |= 1;
        else if (!strcmp(oid, SGX_OID ".2"))
            parse_tcb(v, e), e->seen |= 2;
        else if (!strcmp(oid, SGX_OID ".3"))
            octets(v, e->pceid, 2), e->seen |= 4;
        else if (!strcmp(oid, SGX_OID ".4"))
            octets(v, e->fmspc, 6), e->seen |= 8;
        else if (!strcmp(oid, SGX_OID ".5")) {
            assert_int_equal(ASN1_TYPE_get(v), V_ASN1_ENUMERATED);
            e->sgx_type = (int)ASN1_ENUMERATED_get(v->value.enumerated);
            e->seen |= 16;
        }
        sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
    }
    sk_ASN1_TYPE_pop_free(items, ASN1_TYPE_free);
    ASN1_OBJECT_free(obj);
}

/* The extension against the first (UpToDate) level of a TCB info file. */
static void check_ext_against_tcb_info(const struct sgx_ext *e, const char *tcb_info_path, int must_match_level0)
{
    json_error_t jerr;
    json_t *root = json_load_file(tcb_info_path, 0, &jerr);
    json_t *info = json_object_get(root, "tcbInfo");
    json_t *tcb = json_object_get(json_array_get(json_object_get(info, "tcbLevels"), 0), "tcb");
    json_t *comps = json_object_get(tcb, "sgxtcbcomponents");
    uint8_t fmspc[6], pceid[2];

    assert_non_null(comps);
    assert_int_equal(e->seen, 31);
    assert_int_equal(gtee_hex_decode(json_string_value(json_object_get(info, "fmspc")), fmspc, 6), 0);
    assert_int_equal(gtee_hex_decode(json_string_value(json_object_get(info, "pceId")), pceid, 2), 0);
    assert_memory_equal(e->fmspc, fmspc, 6);
    assert_memory_equal(e->pceid, pceid, 2);
    if (must_match_level0) {
        for (int i = 0; i < 16; i++) {
            assert_int_equal(e->comp[i], json_integer_value(json_object_get(json_array_get(comps, (size_t)i), "svn")));
            assert_int_equal(e->cpusvn[i], e->comp[i]);
        }
        assert_int_equal(e->pcesvn, json_integer_value(json_object_get(tcb, "pcesvn")));
        assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(info, "tcbLevels"), 0),
                                                              "tcbStatus")),
                            "UpToDate");
    }
    json_decref(root);
}

static void test_sgx_extension_parses_back_to_the_tcb_info_platform(void **state)
{
    const char *dir = *state;
    char path[1024];
    STACK_OF(X509) *chain;
    struct sgx_ext e;
    size_t qlen;
    uint8_t *q;
    struct quote_layout l;

    device_file(path, sizeof(path), dir, GTEE_SIM_PCK_CHAIN_FILE);
    chain = load_pem_chain(path);
    parse_sgx_ext(sk_X509_value(chain, 0), &e);
    assert_int_equal(e.sgx_type, 1); /* Scalable: a Platform CA issued PCK */
    device_file(path, sizeof(path), dir, "sgx/tcb_info.json");
    check_ext_against_tcb_info(&e, path, 1);
    device_file(path, sizeof(path), dir, "tdx/tcb_info.json");
    check_ext_against_tcb_info(&e, path, 1);
    sk_X509_pop_free(chain, X509_free);

    /* The same parser on the real sample's PCK leaf (inside the quote) and its TCB info. */
    vector_path(path, sizeof(path), "sgx/sgx-1/quote.bin");
    q = read_all(path, &qlen);
    assert_int_equal(parse_quote(q, qlen, &l), 0);
    chain = pem_certs(q + l.cert_off, l.cert_len);
    parse_sgx_ext(sk_X509_value(chain, 0), &e);
    assert_int_equal(e.sgx_type, 0);
    vector_path(path, sizeof(path), "sgx/sgx-1/tcb_info.json");
    check_ext_against_tcb_info(&e, path, 0);
    assert_int_equal(e.comp[0], 11);
    assert_int_equal(e.pcesvn, 13);
    sk_X509_pop_free(chain, X509_free);
    free(q);
}

/* ---- signed collateral ---- */
/* Verifies {"<outer>":<inner>,"signature":"<hex>"} over the exact inner bytes with the
 * leaf of chain_path, and that chain to root. Returns the parsed file. */
static json_t *check_signed_json(const char *json_path, const char *chain_path, const char *outer, X509 *root)
{
    size_t len, inner_len;
    char *text = (char *)read_all(json_path, &len);
    char prefix[64];
    const char *sig_key = ",\"signature\":\"", *inner, *sig_at;
    uint8_t sig[64];
    char sig_hex[129];
    STACK_OF(X509) *chain = load_pem_chain(chain_path);
    json_error_t jerr;
    json_t *doc;

    snprintf(prefix, sizeof(prefix), "{\"%s\":", outer);
    assert_memory_equal(text, prefix, strlen(prefix));
    inner = text + strlen(prefix);
    sig_at = strstr(inner, sig_key);
    assert_non_null(sig_at);
    inner_len = (size_t)(sig_at - inner);
    assert_true(strlen(sig_at + strlen(sig_key)) == 128 + 2);
    memcpy(sig_hex, sig_at + strlen(sig_key), 128);
    sig_hex[128] = 0;
    assert_int_equal(gtee_hex_decode(sig_hex, sig, 64), 0);
    assert_int_equal(sk_X509_num(chain), 2);
    assert_true(verify_raw(X509_get0_pubkey(sk_X509_value(chain, 0)), inner, inner_len, sig));
    assert_false(verify_raw(X509_get0_pubkey(sk_X509_value(chain, 0)), inner, inner_len - 1, sig));
    assert_true(chain_verifies(root, sk_X509_value(chain, 0), chain));
    doc = json_loads(text, 0, &jerr);
    assert_non_null(doc);
    sk_X509_pop_free(chain, X509_free);
    free(text);
    return doc;
}

static void test_collateral_signatures_verify_over_the_exact_bytes(void **state)
{
    const char *dir = *state;
    static const char *const kinds[2] = { "sgx", "tdx" };
    char path[1024], json_path[1024], chain_path[1024];
    X509 *root;
    json_t *doc;

    /* Ground truth: the same check on Intel's collateral under Intel's root. */
    vector_path(path, sizeof(path), "intel/sgx_root_ca.der");
    root = load_der_cert(path);
    vector_path(json_path, sizeof(json_path), "sgx/sgx-1/tcb_info.json");
    vector_path(chain_path, sizeof(chain_path), "sgx/sgx-1/tcb_info_issuer_chain.pem");
    json_decref(check_signed_json(json_path, chain_path, "tcbInfo", root));
    X509_free(root);

    device_file(path, sizeof(path), dir, GTEE_SIM_ROOT_CA_FILE);
    root = load_der_cert(path);
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof(path), "%s/tcb_info.json", kinds[k]);
        device_file(json_path, sizeof(json_path), dir, path);
        snprintf(path, sizeof(path), "%s/tcb_info_issuer_chain.pem", kinds[k]);
        device_file(chain_path, sizeof(chain_path), dir, path);
        doc = check_signed_json(json_path, chain_path, "tcbInfo", root);
        assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "tcbInfo"), "id")),
                            k ? "TDX" : "SGX");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "tcbInfo"), "version")), 3);
        json_decref(doc);

        snprintf(path, sizeof(path), "%s/qe_identity.json", kinds[k]);
        device_file(json_path, sizeof(json_path), dir, path);
        snprintf(path, sizeof(path), "%s/qe_identity_issuer_chain.pem", kinds[k]);
        device_file(chain_path, sizeof(chain_path), dir, path);
        doc = check_signed_json(json_path, chain_path, "enclaveIdentity", root);
        assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "enclaveIdentity"), "id")),
                            k ? "TD_QE" : "QE");
        json_decref(doc);
    }
    X509_free(root);
}

static void test_collateral_is_valid_for_years(void **state)
{
    const char *dir = *state;
    char path[1024];
    json_error_t jerr;
    json_t *doc;
    struct tm tm = { 0 };
    time_t next, now = time(NULL);

    device_file(path, sizeof(path), dir, "sgx/tcb_info.json");
    doc = json_load_file(path, 0, &jerr);
    assert_non_null(strptime(json_string_value(json_object_get(json_object_get(doc, "tcbInfo"), "nextUpdate")),
                             "%Y-%m-%dT%H:%M:%SZ", &tm));
    next = timegm(&tm);
    assert_true(next > now + 9L * 365 * 86400);
    json_decref(doc);
}

static X509_CRL *load_crl(const char *path)
{
    size_t len;
    uint8_t *der = read_all(path, &len);
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);

    assert_non_null(crl);
    free(der);
    return crl;
}

static void test_crls_are_empty_and_signed_by_their_issuers(void **state)
{
    const char *dir = *state;
    char path[1024];
    X509 *root;
    STACK_OF(X509) *pck_chain, *crl_chain;
    X509_CRL *pck_crl, *root_crl;

    device_file(path, sizeof(path), dir, GTEE_SIM_ROOT_CA_FILE);
    root = load_der_cert(path);
    device_file(path, sizeof(path), dir, GTEE_SIM_PCK_CHAIN_FILE);
    pck_chain = load_pem_chain(path);
    device_file(path, sizeof(path), dir, "sgx/pck_crl_issuer_chain.pem");
    crl_chain = load_pem_chain(path);
    device_file(path, sizeof(path), dir, "sgx/pck_crl.der");
    pck_crl = load_crl(path);
    device_file(path, sizeof(path), dir, "tdx/root_ca_crl.der");
    root_crl = load_crl(path);

    /* The PCK CRL's issuer is the PCK leaf's issuer (the Platform CA). */
    assert_int_equal(X509_cmp(sk_X509_value(crl_chain, 0), sk_X509_value(pck_chain, 1)), 0);
    assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(pck_crl), X509_get_issuer_name(sk_X509_value(pck_chain, 0))), 0);
    assert_int_equal(X509_CRL_verify(pck_crl, X509_get0_pubkey(sk_X509_value(crl_chain, 0))), 1);
    assert_int_equal(X509_CRL_verify(root_crl, X509_get0_pubkey(root)), 1);
    assert_int_not_equal(X509_CRL_verify(root_crl, X509_get0_pubkey(sk_X509_value(crl_chain, 0))), 1);
    ERR_clear_error();
    assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(pck_crl)) <= 0); /* none (or no list) */
    assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(root_crl)) <= 0); /* none (or no list) */
    assert_true(X509_cmp_time(X509_CRL_get0_nextUpdate(pck_crl), NULL) > 0);

    X509_CRL_free(pck_crl);
    X509_CRL_free(root_crl);
    sk_X509_pop_free(crl_chain, X509_free);
    sk_X509_pop_free(pck_chain, X509_free);
    X509_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pck_chain_verifies_to_the_simulated_root_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sgx_extension_parses_back_to_the_tcb_info_platform, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collateral_signatures_verify_over_the_exact_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collateral_is_valid_for_years, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crls_are_empty_and_signed_by_their_issuers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
