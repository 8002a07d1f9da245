/* Sealed state rolled back by the host (issue: the sequence number survives restarts without
 * being rolled back): an SDK application on the simulated TEE, registered in a local ledger
 * with its own evidence, signs proofs through its signing slot and seals its proof counter
 * (gtee_proof_counter, gtee_app_seal) after each; the proofs reach the ledger. At a restart
 * the counter it unseals is checked against the ledger's last proof
 * (gtee_ledger_check_sealed): the current sealed file passes, the old one the host kept and
 * restores is refused, and so is a counter of another proof with the ledger's last seq. */
#include "ratls/ratls_testlib.h"

#include "gtee/crypto.h"
#include "gtee/evidence.h"
#include "gtee/file.h"
#include "gtee/ledger.h"
#include "gtee/proof.h"
#include "gtee/sdk.h"

static char base[PATH_MAX], dev[PATH_MAX];

static int sign_in_app(void *arg, const uint8_t digest[32], uint8_t sig[65], struct gtee_err *err)
{
    return gtee_app_sign(arg, digest, sig, err);
}

/* The application seals its counter after signing proof p; the host keeps the blob. */
static void seal_counter(struct gtee_app *app, const struct gtee_proof *p, uint8_t **blob, size_t *len)
{
    struct gtee_proof_counter c = {0};
    uint8_t rec[GTEE_PROOF_COUNTER_LEN];
    struct gtee_err err = {0};

    memcpy(c.enclave_id, p->enclave_id, 20);
    c.seq = p->seq;
    gtee_proof_hash(p, c.hash);
    gtee_proof_counter_encode(&c, rec);
    if (gtee_app_seal(app, rec, sizeof(rec), blob, len, &err) != 0)
        fail_msg("seal: %s", err.msg);
}

/* At start: unseal what the host hands over and check it against the ledger. */
static int start_check(struct gtee_app *app, struct gtee_ledger *l, const uint8_t *blob, size_t len,
                       struct gtee_err *err)
{
    struct gtee_proof_counter c;
    struct gtee_app_identity id;
    uint8_t *pt = NULL;
    size_t n = 0;
    int rc;

    rc = gtee_app_unseal(app, blob, len, &pt, &n, err);
    if (rc == 0)
        rc = gtee_proof_counter_decode(pt, n, &c, err);
    gtee_app_free_secret(pt, n);
    if (rc != 0)
        return rc;
    gtee_app_identity(app, &id);
    if (memcmp(c.enclave_id, id.enclave_id, 20))
        return GTEE_FAIL(err, GTEE_ESTATE, "the sealed counter is another enclave's");
    return gtee_ledger_check_sealed(l, c.enclave_id, c.seq, c.hash, err);
}

static void test_restored_sealed_counter_is_refused(void **state)
{
    struct gtee_app_options o = { .tee = "sim", .sim_dir = dev, .config = "sealed counter v1" };
    struct gtee_ledger_local_options lo = { .create = 1, .chain_id = 1337 };
    struct gtee_ledger_registration r = {0};
    struct gtee_app *app = NULL;
    struct gtee_app_identity id;
    struct gtee_ledger *gov = NULL, *op = NULL;
    struct gtee_collateral col = {0};
    struct gtee_anchors anchors = {0};
    struct gtee_policy policy;
    struct gtee_verdict *v = calloc(1, sizeof(*v));
    struct gtee_proof p[5];
    struct gtee_proof_domain d;
    struct gtee_err err = {0};
    uint8_t kgov[32], kop[32], pub[65], rd[64], nonce[32] = {0}, h[32], opaddr[20], sig[65];
    uint8_t *ev = NULL, *root = NULL, *old = NULL, *cur = NULL, *other = NULL;
    size_t ev_len = 0, root_len = 0, old_len = 0, cur_len = 0, other_len = 0, skipped, sent;
    char path[PATH_MAX + 32];

    (void)state;
    assert_non_null(v);
    t_tmpdir(base, sizeof(base), "sealed");
    snprintf(dev, sizeof(dev), "%.*s/dev", PATH_MAX - 16, base);
    assert_int_equal(gtee_sim_init(dev, NULL), 0);
    if (gtee_app_open(&o, &app, &err) != 0)
        fail_msg("%s", err.msg);
    gtee_app_identity(app, &id);

    /* the application's own evidence, and what a verifier of it needs */
    snprintf(path, sizeof(path), "%s/%s", dev, GTEE_SIM_ROOT_CA_FILE);
    assert_int_equal(gtee_file_read(path, 1 << 16, &root, &root_len, &err), 0);
    anchors.sim_root_der = root;
    anchors.sim_root_len = root_len;
    snprintf(path, sizeof(path), "%s/%s", dev, GTEE_SIM_SGX_COLLATERAL_DIR);
    assert_int_equal(gtee_collateral_load(path, &col, &err), 0);
    gtee_policy_default(&policy);
    policy.allow_simulation = true;
    if (gtee_app_evidence(app, nonce, rd, &ev, &ev_len, &err) != 0)
        fail_msg("evidence: %s", err.msg);
    if (gtee_evidence_verify(ev, ev_len, &col, &anchors, &policy, time(NULL), v, &err) != 0 || !v->accepted)
        fail_msg("the application's evidence does not verify: %s", v->n_reasons ? v->reasons[0].msg : err.msg);

    /* a local ledger; the governor accepts the application's measurement; its operator
     * registers it, the ledger verifying the evidence itself */
    lo.evidence_policy = &policy;
    lo.anchors = &anchors;
    lo.policy.freshness = 3600;
    lo.policy.epoch = 3600;
    lo.policy.quorum = 1;
    lo.policy.allow_simulated = 1;
    assert_int_equal(gtee_secp256k1_keypair(kgov, pub), 0);
    assert_int_equal(gtee_secp256k1_keypair(kop, pub), 0);
    snprintf(path, sizeof(path), "%s/ledger.db", base);
    assert_int_equal(gtee_ledger_open_local(path, &lo, kgov, &gov, &err), 0);
    assert_int_equal(gtee_ledger_open_local(path, &lo, kop, &op, &err), 0);
    memcpy(r.enclave_id, id.enclave_id, 20);
    r.tee_type = 1; /* sim */
    gtee_ledger_measurement_of(&v->claims, r.measurement);
    r.tcb = v->claims.tcb_number; /* the TCB the evidence shows, which the ledger compares */
    assert_int_equal(gtee_ledger_set_measurement(gov, r.measurement, 1, NULL, &err), 0);
    gtee_keccak256(ev, ev_len, r.evidence_hash);
    r.evidence_time = (uint64_t)time(NULL) - 5;
    r.evidence_url = "https://node.example/evidence";
    r.node_url = "https://node.example:8443";
    r.evidence = ev;
    r.evidence_len = ev_len;
    r.collateral = &col;
    memcpy(r.channel_pub, id.channel_key, 65);
    gtee_ledger_domain(op, &d);
    gtee_ledger_operator(op, opaddr);
    gtee_proof_consent_hash(&d, id.enclave_id, opaddr, r.evidence_hash, h);
    assert_int_equal(gtee_app_sign(app, h, sig, &err), 0);
    memcpy(r.consent_sig, sig, 64);
    r.consent_sig[64] = (uint8_t)(27 + sig[64]);
    if (gtee_ledger_register(op, &r, 0, NULL, &err) != 0)
        fail_msg("register: %s", err.msg);

    /* five proofs signed inside the application, the counter sealed after each; the host
     * keeps the blob sealed after proof 3 */
    for (int i = 0; i < 5; i++) {
        memset(&p[i], 0, sizeof(p[i]));
        p[i].domain = d;
        memcpy(p[i].enclave_id, id.enclave_id, 20);
        p[i].job_kind = GTEE_JOB_APP;
        p[i].units = 1;
        p[i].seq = (uint64_t)i + 1;
        if (i)
            gtee_proof_hash(&p[i - 1], p[i].prev_hash);
        memcpy(p[i].evidence_hash, r.evidence_hash, 32);
        assert_int_equal(gtee_proof_sign(&p[i], sign_in_app, app, &err), 0);
        free(cur);
        cur = NULL;
        seal_counter(app, &p[i], &cur, &cur_len);
        if (i == 2) {
            old = malloc(cur_len);
            assert_non_null(old);
            memcpy(old, cur, cur_len);
            old_len = cur_len;
        }
    }
    {
        struct gtee_proof copy[5];

        memcpy(copy, p, sizeof(copy));
        if (gtee_ledger_submit(op, copy, 5, 32, NULL, NULL, &skipped, &sent, &err) != 0)
            fail_msg("submit: %s", err.msg);
        assert_int_equal(sent, 5);
    }

    /* the restart: the current sealed counter stands with the ledger */
    if (start_check(app, op, cur, cur_len, &err) != 0)
        fail_msg("the current sealed counter: %s", err.msg);
    /* the host restores the old sealed file: caught */
    assert_int_equal(start_check(app, op, old, old_len, &err), GTEE_ESTATE);
    assert_non_null(strstr(err.msg, "restored old sealed state"));
    /* a counter sealed for another proof with the ledger's last seq (a fork of the state) */
    {
        struct gtee_proof q = p[4];

        q.units = 2;
        assert_int_equal(gtee_proof_sign(&q, sign_in_app, app, &err), 0);
        seal_counter(app, &q, &other, &other_len);
        assert_int_equal(start_check(app, op, other, other_len, &err), GTEE_ESTATE);
        assert_non_null(strstr(err.msg, "restored other sealed state"));
    }
    /* a sealed blob changed by the host does not unseal */
    cur[cur_len / 2] ^= 1;
    assert_true(start_check(app, op, cur, cur_len, &err) < 0);

    gtee_ledger_close(gov);
    gtee_ledger_close(op);
    gtee_app_close(app);
    gtee_collateral_free(&col);
    free(v);
    free(ev);
    free(root);
    free(old);
    free(cur);
    free(other);
    t_rmtree(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restored_sealed_counter_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
