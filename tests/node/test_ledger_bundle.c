/* A ledger registration whose evidence is a composite bundle (a simulated SGX quote over the
 * enclave's keys and the real h100-1 GPU report), on the local ledger: evidenceHash is the
 * Keccak-256 of the whole bundle, so a byte changed in the GPU part is "not the one
 * evidenceHash names"; the bundle is verified as a whole with the one entry, every part with
 * its collateral (DIR/cvm, DIR/gpu0), so the sample's GPU report, not over the quote's nonce,
 * is refused by name (bundle.gpu.binding); and a ledger whose evidence policy requires a GPU
 * refuses the quote alone (policy.gpu.required). No accepted bundle exists among the samples
 * (docs/evidence-nvidia.md, "The binding"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "chain/ledger_rules.h"
#include "evidence/nv_test_util.h"
#include "gtee/bundle.h"

struct fixture {
    char dir[64], path[96], bdir[128];
    struct rules_world w;
    struct gtee_ledger_local_options o;
    struct gtee_collateral bcol; /* the bundle's: cvm/ the device's SGX collateral, gpu0/ the sample's */
    uint8_t kgov[32], kop[32];
};

static void copy(const char *from, const char *dir, const char *name)
{
    char to[512];
    uint8_t *p = NULL;
    size_t len = 0;

    assert_int_equal(gtee_file_read(from, 8u << 20, &p, &len, NULL), 0);
    snprintf(to, sizeof(to), "%s/%s", dir, name);
    assert_int_equal(gtee_file_write(to, p, len, 0600, 0, NULL), 0);
    free(p);
}

static void make_bundle_dir(struct fixture *f)
{
    char sub[256], from[512], rel[128];
    struct dirent *d;
    DIR *dir;

    snprintf(f->bdir, sizeof(f->bdir), "%s/bundle", f->dir);
    assert_int_equal(mkdir(f->bdir, 0700), 0);
    snprintf(sub, sizeof(sub), "%s/cvm", f->bdir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(from, sizeof(from), "%s/%s", f->w.dev, GTEE_SIM_SGX_COLLATERAL_DIR);
    dir = opendir(from);
    assert_non_null(dir);
    while ((d = readdir(dir)) != NULL) {
        char file[768];
        struct stat st;

        snprintf(file, sizeof(file), "%s/%s", from, d->d_name);
        if (stat(file, &st) == 0 && S_ISREG(st.st_mode))
            copy(file, sub, d->d_name);
    }
    closedir(dir);
    snprintf(sub, sizeof(sub), "%s/gpu0", f->bdir);
    assert_int_equal(mkdir(sub, 0700), 0);
    copy(vector_path(from, sizeof(from), "nvidia/h100-1/cert_chain.pem"), sub, "cert_chain.pem");
    snprintf(rel, sizeof(rel), "nvidia/h100-1/production_rims/%s", "NV_GPU_DRIVER_GH100_550.90.07.xml");
    copy(vector_path(from, sizeof(from), rel), sub, "NV_GPU_DRIVER_GH100_550.90.07.xml");
    snprintf(rel, sizeof(rel), "nvidia/h100-1/production_rims/%s", "NV_GPU_VBIOS_1010_0200_882_96009F0001.xml");
    copy(vector_path(from, sizeof(from), rel), sub, "NV_GPU_VBIOS_1010_0200_882_96009F0001.xml");
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct gtee_err err = {0};
    uint8_t pub[65];

    assert_non_null(f);
    strcpy(f->dir, "/tmp/gtee-ledger-bundle-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/ledger.db", f->dir);
    assert_int_equal(rules_sim_open(&f->w), 0);
    /* the sample GPU's revocation cannot be checked offline (its OCSP responses are stale) */
    f->w.policy.gpu.allow_unchecked_revocation = true;
    make_bundle_dir(f);
    if (gtee_collateral_load(f->bdir, &f->bcol, &err) != 0)
        fail_msg("%s", err.msg);
    assert_non_null(f->bcol.cvm);
    assert_int_equal(f->bcol.n_gpus, 1);
    f->o.create = 1;
    f->o.chain_id = 1337;
    f->o.policy.freshness = RULES_FRESHNESS;
    f->o.policy.epoch = RULES_EPOCH;
    f->o.policy.quorum = 1;
    f->o.policy.allow_simulated = 1;
    f->o.policy.reward_per_unit[31] = 1;
    f->o.evidence_policy = &f->w.policy;
    f->o.anchors = &f->w.anchors;
    assert_int_equal(gtee_secp256k1_keypair(f->kgov, pub), 0);
    assert_int_equal(gtee_secp256k1_keypair(f->kop, pub), 0);
    if (gtee_ledger_open_local(f->path, &f->o, f->kgov, &f->w.gov, &err) != 0 ||
        gtee_ledger_open_local(f->path, &f->o, f->kop, &f->w.op, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(gtee_ledger_set_measurement(f->w.gov, f->w.id.mrenclave, 1, NULL, &err), 0);
    assert_int_equal(gtee_ledger_set_min_tcb(f->w.gov, RULES_TEE_SIM, f->w.tcb, NULL, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    gtee_ledger_close(f->w.gov);
    gtee_ledger_close(f->w.op);
    gtee_collateral_free(&f->bcol);
    rules_sim_close(&f->w);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void refused(int rc, const struct gtee_err *err, const char *reason)
{
    print_message("refused: %s\n", rc ? err->msg : "(accepted)");
    if (rc != GTEE_EPOLICY || !strstr(err->msg, reason))
        fail_msg("expected a refusal naming '%s', got %d: %s", reason, rc, rc ? err->msg : "accepted");
}

/* e's evidence becomes the bundle of its quote and the sample GPU report. */
static void bundle_of(struct rules_enclave *e)
{
    size_t gpu_len, len;
    uint8_t *gpu = nv_vec("nvidia/h100-1/report.bin", &gpu_len), *out;
    struct gtee_bundle b = { .cvm = e->quote, .cvm_len = e->quote_len, .n_gpu = 1, .gpu = { gpu }, .gpu_len = { gpu_len } };

    assert_int_equal(gtee_bundle_write(&b, &out, &len, NULL), 0);
    free(gpu);
    free(e->quote);
    e->quote = out;
    e->quote_len = len;
}

static void test_bundle_registration_verified_as_a_whole(void **state)
{
    struct fixture *f = *state;
    struct gtee_ledger_registration r;
    struct gtee_ledger_standing s;
    struct rules_enclave e;
    struct gtee_err err = {0};
    uint8_t h[32];

    assert_int_equal(rules_enclave_make(&f->w, &e), 0);
    bundle_of(&e);
    rules_registration(&f->w, f->w.op, &e, (uint64_t)time(NULL), &r);
    r.collateral = &f->bcol;
    gtee_keccak256(e.quote, e.quote_len, h);
    assert_memory_equal(r.evidence_hash, h, 32); /* the hash is over the whole bundle */

    /* A byte of the GPU part changed: not the evidence the hash (and the consent) names. */
    e.quote[e.quote_len - 1] ^= 1;
    refused(gtee_ledger_register(f->w.op, &r, 0, NULL, &err), &err,
            "registration: the evidence is not the one evidenceHash names");
    e.quote[e.quote_len - 1] ^= 1;

    /* The whole bundle verified: the quote bound to the consenting key, the GPU part with its
     * collateral, which the sample's nonce does not bind to this quote. */
    refused(gtee_ledger_register(f->w.op, &r, 0, NULL, &err), &err,
            "registration: the evidence does not verify under the ledger's policy");
    assert_non_null(strstr(err.msg, "bundle.gpu.binding"));
    assert_non_null(strstr(err.msg, "GPU 0"));
    assert_int_equal(gtee_ledger_standing(f->w.op, e.id, &s, &err), 0);
    assert_int_equal(s.status, GTEE_ENCLAVE_UNREGISTERED); /* nothing registered */

    /* Plain collateral for the bundle: its GPU has none, and the refusal says so. */
    r.collateral = &f->w.col;
    refused(gtee_ledger_register(f->w.op, &r, 0, NULL, &err), &err, "gpu.collateral.missing");
    rules_enclave_free(&e);
}

static void test_gpu_policy_refuses_the_quote_alone(void **state)
{
    struct fixture *f = *state;
    struct gtee_ledger_registration r;
    struct gtee_ledger *strict = NULL;
    struct gtee_ledger_local_options o = f->o;
    struct gtee_policy gpu = f->w.policy;
    struct rules_enclave e;
    struct gtee_err err = {0};

    assert_int_equal(rules_enclave_make(&f->w, &e), 0);
    gpu.gpu.min_count = 1;
    o.evidence_policy = &gpu;
    if (gtee_ledger_open_local(f->path, &o, f->kop, &strict, &err) != 0)
        fail_msg("%s", err.msg);
    rules_registration(&f->w, strict, &e, (uint64_t)time(NULL), &r);
    refused(gtee_ledger_register(strict, &r, 0, NULL, &err), &err, "policy.gpu.required");
    gtee_ledger_close(strict);
    /* the same quote on the ledger's own policy, which requires no GPU: registered */
    rules_registration(&f->w, f->w.op, &e, (uint64_t)time(NULL), &r);
    if (gtee_ledger_register(f->w.op, &r, 0, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    rules_enclave_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bundle_registration_verified_as_a_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpu_policy_refuses_the_quote_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
