/* Test helpers for the attested channel: simulated devices in a temporary directory, an
 * "enclave" side built from the sim device (evidence over the report data it is given),
 * a verifier configuration from the device's collateral and simulated root, and a server
 * thread that answers framed messages. Header-only, tests only. */
#ifndef GTEE_TESTS_RATLS_TESTLIB_H
#define GTEE_TESTS_RATLS_TESTLIB_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtee/crypto.h"
#include "gtee/ratls.h"
#include "gtee/sim.h"

/* ---- temporary directories ---- */
static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void t_rmtree(const char *dir)
{
    (void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void t_tmpdir(char *out, size_t n, const char *tag)
{
    const char *base = getenv("TMPDIR");
    int k = snprintf(out, n, "%s/gtee-%s-XXXXXX", base && *base ? base : "/tmp", tag);

    assert_true(k > 0 && (size_t)k < n);
    assert_non_null(mkdtemp(out));
}

static inline uint8_t *t_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* ---- an enclave on a simulated device ---- */
struct t_enclave {
    struct gtee_sim *sim;
    struct gtee_sim_identity id;
    int quote_version;                 /* GTEE_SIM_QUOTE_SGX or _TDX */
    uint8_t enclave_priv[32], enclave_pub[65];
    uint8_t channel_priv[32], channel_pub[65];
    /* Misbehaviour for the tests: evidence over another channel key than the certificate's. */
    int bind_other_key;
    uint8_t other_channel_pub[65];
};

static int t_evidence(void *arg, const uint8_t rd[64], uint8_t **ev, size_t *ev_len, struct gtee_err *err)
{
    struct t_enclave *e = arg;
    uint8_t own[64];

    memcpy(own, rd, 64);
    if (e->bind_other_key && gtee_ratls_report_data(e->enclave_pub, e->other_channel_pub, rd + 32, own) != 0)
        return GTEE_ECRYPTO;
    return gtee_sim_quote(e->sim, e->quote_version, &e->id, own, ev, ev_len, err);
}

static inline void t_enclave_open(struct t_enclave *e, const char *dir, uint8_t measurement_byte, int debug)
{
    struct gtee_err err = {0};

    memset(e, 0, sizeof(*e));
    if (gtee_sim_open(dir, &e->sim, &err) != 0)
        fail_msg("%s", err.msg);
    memset(e->id.mrenclave, measurement_byte, 32);
    memset(e->id.mrsigner, 0x5a, 32);
    e->id.isv_prod_id = 1;
    e->id.isv_svn = 1;
    e->id.debug = debug;
    e->quote_version = GTEE_SIM_QUOTE_SGX;
    assert_int_equal(gtee_secp256k1_keypair(e->enclave_priv, e->enclave_pub), 0);
    assert_int_equal(gtee_ecdsa_keypair(GTEE_EC_P256, e->channel_priv, e->channel_pub), 0);
}

static inline void t_enclave_close(struct t_enclave *e)
{
    gtee_sim_close(e->sim);
    gtee_wipe(e, sizeof(*e));
}

static inline struct gtee_ratls_cred t_cred(struct t_enclave *e)
{
    struct gtee_ratls_cred c;

    memset(&c, 0, sizeof(c));
    memcpy(c.channel_priv, e->channel_priv, 32);
    memcpy(c.channel_pub, e->channel_pub, 65);
    memcpy(c.enclave_pub, e->enclave_pub, 65);
    c.tee = e->quote_version == GTEE_SIM_QUOTE_TDX ? GTEE_TEE_TDX : GTEE_TEE_SGX;
    c.evidence = t_evidence;
    c.evidence_arg = e;
    return c;
}

/* ---- the verifier's side ---- */
struct t_verifier {
    struct gtee_collateral sgx, tdx;
    uint8_t *root;
    size_t root_len;
    struct gtee_anchors anchors;
    struct gtee_policy policy;
    struct gtee_ratls_verify vfy;
};

static inline void t_verifier_open(struct t_verifier *v, const char *dir, const char *policy_json)
{
    char path[PATH_MAX];
    struct gtee_err err = {0};

    memset(v, 0, sizeof(*v));
    snprintf(path, sizeof(path), "%s/%s", dir, GTEE_SIM_SGX_COLLATERAL_DIR);
    if (gtee_collateral_load(path, &v->sgx, &err) != 0)
        fail_msg("%s", err.msg);
    snprintf(path, sizeof(path), "%s/%s", dir, GTEE_SIM_TDX_COLLATERAL_DIR);
    if (gtee_collateral_load(path, &v->tdx, &err) != 0)
        fail_msg("%s", err.msg);
    snprintf(path, sizeof(path), "%s/%s", dir, GTEE_SIM_ROOT_CA_FILE);
    v->root = t_read_file(path, &v->root_len);
    v->anchors.sim_root_der = v->root;
    v->anchors.sim_root_len = v->root_len;
    if (gtee_policy_parse(policy_json, strlen(policy_json), &v->policy, &err) != 0)
        fail_msg("%s", err.msg);
    v->vfy.policy = &v->policy;
    v->vfy.sgx_col = &v->sgx;
    v->vfy.tdx_col = &v->tdx;
    v->vfy.anchors = &v->anchors;
}

static inline void t_verifier_close(struct t_verifier *v)
{
    gtee_collateral_free(&v->sgx);
    gtee_collateral_free(&v->tdx);
    free(v->root);
}

/* ---- a server thread: handshake, then echo APP messages and answer FRESH until closed ---- */
struct t_server {
    struct gtee_ratls_ctx *ctx;
    int fd;
    int accept_rc;                 /* the handshake's result */
    int serve_rc;                  /* the message loop's end: GTEE_ENOTFOUND on a clean close */
    int stale_fresh;               /* misbehave: answer FRESH with the certificate's evidence */
    struct gtee_ratls_peer peer;   /* the client, under mutual attestation */
    char msg[GTEE_ERR_MSG_MAX];
    pthread_t th;
};

static void *t_server_main(void *arg)
{
    struct t_server *s = arg;
    struct gtee_ratls_conn *c = NULL;
    struct gtee_err err = {0};

    s->accept_rc = gtee_ratls_accept(s->ctx, s->fd, &c, &s->peer, &err);
    s->serve_rc = s->accept_rc;
    for (int i = 0; s->accept_rc == 0 && i < 1000; i++) {
        uint8_t *body = NULL;
        size_t len = 0;
        uint16_t type = 0;
        int rc = gtee_ratls_recv_msg(c, &type, &body, &len, &err);

        if (rc == 0 && type == GTEE_RATLS_MSG_FRESH && s->stale_fresh) {
            uint8_t zero[32] = {0};
            rc = gtee_ratls_answer_fresh(c, zero, sizeof(zero), &err);
        } else if (rc == 0 && type == GTEE_RATLS_MSG_FRESH) {
            rc = gtee_ratls_answer_fresh(c, body, len, &err);
        } else if (rc == 0) {
            rc = gtee_ratls_send_msg(c, type, body, len, &err);
        }
        free(body);
        if (rc != 0) {
            s->serve_rc = rc;
            break;
        }
    }
    snprintf(s->msg, sizeof(s->msg), "%s", err.msg);
    gtee_ratls_conn_free(c);
    shutdown(s->fd, SHUT_RDWR);
    return NULL;
}

static inline void t_server_start(struct t_server *s, struct gtee_ratls_ctx *ctx, int fd, int stale_fresh)
{
    memset(s, 0, sizeof(*s));
    s->ctx = ctx;
    s->stale_fresh = stale_fresh;
    s->fd = fd;
    assert_int_equal(pthread_create(&s->th, NULL, t_server_main, s), 0);
}

static inline void t_server_join(struct t_server *s)
{
    assert_int_equal(pthread_join(s->th, NULL), 0);
}

#endif
