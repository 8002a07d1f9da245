/* The node's check of its own enclave's evidence after each start, for the operator's status
 * (docs/node.md, "Evidence verdict"): the same verifier and policy engine as a client's
 * (gtee/evidence.h), bound to the keys INFO reported and a nonce the node chose. It proves
 * nothing to anyone else: each client verifies with its own anchors and policy. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/guard.h"
#include "gtee/bundle.h"
#include "gtee/crypto.h"
#include "gtee/evidence.h"
#include "gtee/file.h"
#include "gtee/msg.h"
#include "node/supervise.h"

static void set(struct gtee_node_enclave *e, const char *verdict, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set(struct gtee_node_enclave *e, const char *verdict, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&e->mu);
    snprintf(e->verdict, sizeof(e->verdict), "%s", verdict);
    va_start(ap, fmt);
    vsnprintf(e->verdict_detail, sizeof(e->verdict_detail), fmt, ap);
    va_end(ap);
    e->verdict_at = (int64_t)time(NULL);
    pthread_mutex_unlock(&e->mu);
}

void gtee_node_collateral_dir(const char *dir, const uint8_t *ev, size_t len, char *out, size_t n)
{
    struct stat st;
    char sub[GTEE_FILE_PATH_MAX];
    const uint8_t *q;
    size_t qlen;

    /* A bundle's CVM part decides (its DIR/sgx or DIR/tdx then holds cvm/ and gpuN/). */
    gtee_bundle_cvm(ev, len, &q, &qlen);
    snprintf(sub, sizeof(sub), "%s/sgx", dir);
    if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(out, n, "%s/%s", dir, qlen >= 2 && q[0] == 4 && q[1] == 0 ? "tdx" : "sgx");
    else
        snprintf(out, n, "%s", dir);
}

void gtee_node_selfcheck(struct gtee_node_enclave *e)
{
    uint8_t nonce[GTEE_MSG_NONCE_LEN], *r = NULL, *root = NULL;
    size_t n = 0, root_len = 0;
    struct gtee_collateral col;
    struct gtee_anchors anchors = { 0 };
    struct gtee_policy policy;
    struct gtee_binding_expect bx;
    struct gtee_verdict *v = calloc(1, sizeof(*v));
    struct gtee_err err = { 0 };
    char dir[GTEE_FILE_PATH_MAX];
    int have_col = 0, rc;

    memset(&col, 0, sizeof(col));
    if (!v) {
        set(e, "not checked", "out of memory");
        return;
    }
    gtee_policy_default(&policy);
    if (e->policy[0] && gtee_policy_load(e->policy, &policy, &err) < 0) {
        set(e, "not checked", "policy: %s", err.msg);
        goto out;
    }
    /* The operator chose the simulation by name: the check accepts it, and says so. */
    if (e->simulated)
        policy.allow_simulation = true;
    if (gtee_random(nonce, sizeof(nonce)) != 0 ||
        gtee_enclave_call(&e->proc, GTEE_MSG_EVIDENCE, nonce, sizeof(nonce), &r, &n, &err) != 0 || n < 64) {
        set(e, "not checked", "no evidence from the enclave: %s", err.msg[0] ? err.msg : "short answer");
        goto out;
    }
    if (e->collateral[0]) {
        gtee_node_collateral_dir(e->collateral, r + 64, n - 64, dir, sizeof(dir));
        if ((rc = gtee_collateral_load(dir, &col, &err)) < 0) {
            set(e, "not checked", "collateral: %s", err.msg);
            goto out;
        }
        have_col = 1;
    }
    if (e->sim_root[0]) {
        if (gtee_file_read(e->sim_root, 64 << 10, &root, &root_len, &err) < 0) {
            set(e, "not checked", "simulated root: %s", err.msg);
            goto out;
        }
        anchors.sim_root_der = root;
        anchors.sim_root_len = root_len;
    }
    memset(&bx, 0, sizeof(bx));
    bx.has_keys = true;
    memcpy(bx.enclave_pub, e->info.enclave_pub, sizeof(bx.enclave_pub));
    memcpy(bx.channel_pub, e->info.channel_pub, sizeof(bx.channel_pub));
    bx.has_nonce = true;
    memcpy(bx.nonce, nonce, sizeof(bx.nonce));
    rc = gtee_evidence_verify_bound(r + 64, n - 64, have_col ? &col : NULL, &anchors, &policy, &bx,
                                    (int64_t)time(NULL), v, &err);
    if (rc == 0 && v->accepted)
        set(e, e->simulated ? "accepted (SIMULATED)" : "accepted", "%s", e->simulated ? "SIMULATED evidence, accepted only because this node's check allows "
                                                "the simulation; it proves nothing about confidentiality"
                                              : "verified against the vendor's root, the collateral and the policy");
    else if (v->n_reasons)
        set(e, "rejected", "%s: %s%s", v->reasons[0].code, v->reasons[0].msg,
            v->n_reasons > 1 ? " (and more)" : "");
    else
        set(e, "rejected", "%s", err.msg[0] ? err.msg : gtee_strerror(rc));
    gtee_node_store_event(e->store, strncmp(e->verdict, "accepted", 8) ? "error" : "info", "evidence check: %s: %s",
                          e->verdict, e->verdict_detail);
out:
    if (!strcmp(e->verdict, "not checked"))
        gtee_node_store_event(e->store, "warn", "evidence check: %s: %s", e->verdict, e->verdict_detail);
    if (have_col)
        gtee_collateral_free(&col);
    free(root);
    free(r);
    free(v);
}
