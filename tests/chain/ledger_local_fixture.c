/* For tests/chain/test_ledger_local_cli.sh (not a test itself): in a local ledger that
 * `gtee chain deploy --ledger local:PATH` made, the governor accepts the simulated device's
 * measurement and an operator registers a simulated enclave (its evidence verified by the
 * ledger); then the enclave's proofs seq 1..N are written to OUT/pK.json, another proof with
 * seq N to OUT/equivocating.json and one with seq N+2 to OUT/gap.json. Prints the Enclave ID. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain/ledger_rules.h"

/* A key file as the chain commands read it: 0x and 64 hex digits. */
static int key_read(const char *path, uint8_t key[32], struct gtee_err *err)
{
    char buf[80] = {0};
    FILE *f = fopen(path, "r");
    int ok = f && fgets(buf, sizeof(buf), f) && (buf[strcspn(buf, "\n")] = '\0', gtee_hex_decode(buf, key, 32) == 0);

    if (f)
        fclose(f);
    gtee_wipe(buf, sizeof(buf));
    return ok ? 0 : GTEE_FAIL(err, GTEE_EFORMAT, "key file %s: expected 0x and 64 hex digits", path);
}

static int write_proof(const char *dir, const char *name, const struct gtee_proof *p)
{
    struct gtee_err err = {0};
    char path[512], *json = NULL;
    FILE *f;
    int ok;

    if (gtee_proof_encode(p, &json, &err) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    ok = f && fputs(json, f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    free(json);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct gtee_ledger_local_options o = {0};
    struct gtee_ledger *gov = NULL, *op = NULL;
    struct gtee_ledger_registration r;
    struct rules_world w = {0};
    struct rules_enclave e = {0};
    struct gtee_proof p;
    struct gtee_err err = {0};
    uint8_t kgov[32], kop[32], prev[32];
    char id[GTEE_ETH_ADDR_HEX_LEN + 1], name[32];
    int n, rc = 1;

    if (argc != 6 || (n = atoi(argv[5])) < 1 || n > 64) {
        fprintf(stderr, "usage: ledger_local_fixture LEDGER GOVERNOR_KEY_FILE OPERATOR_KEY_FILE OUT N\n");
        return 2;
    }
    if (rules_sim_open(&w) != 0)
        return 1;
    o.evidence_policy = &w.policy;
    o.anchors = &w.anchors;
    if (key_read(argv[2], kgov, &err) || key_read(argv[3], kop, &err) ||
        gtee_ledger_open_local(argv[1], &o, kgov, &gov, &err) || gtee_ledger_open_local(argv[1], &o, kop, &op, &err) ||
        gtee_ledger_set_measurement(gov, w.id.mrenclave, 1, NULL, &err) ||
        gtee_ledger_set_min_tcb(gov, RULES_TEE_SIM, w.tcb, NULL, &err))
        goto out;
    if (rules_enclave_make(&w, &e) != 0)
        goto out;
    rules_registration(&w, op, &e, (uint64_t)time(NULL) - 10, &r);
    if (gtee_ledger_register(op, &r, 0, NULL, &err) != 0)
        goto out;
    for (int i = 1; i <= n; i++) {
        rules_proof(op, &e, (uint64_t)i, i == 1 ? NULL : prev, 4, NULL, &p);
        if (i == n) {
            struct gtee_proof q;

            rules_proof(op, &e, (uint64_t)i, i == 1 ? NULL : prev, 9, NULL, &q);
            if (write_proof(argv[4], "equivocating.json", &q) != 0)
                goto out;
        }
        gtee_proof_hash(&p, prev);
        snprintf(name, sizeof(name), "p%d.json", i);
        if (write_proof(argv[4], name, &p) != 0)
            goto out;
    }
    rules_proof(op, &e, (uint64_t)n + 2, prev, 4, NULL, &p);
    if (write_proof(argv[4], "gap.json", &p) != 0)
        goto out;
    gtee_eth_address_hex(e.id, id);
    printf("%s\n", id);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "ledger_local_fixture: %s\n", err.msg[0] ? err.msg : "failed");
    rules_enclave_free(&e);
    gtee_ledger_close(gov);
    gtee_ledger_close(op);
    rules_sim_close(&w);
    gtee_wipe(kgov, sizeof(kgov));
    gtee_wipe(kop, sizeof(kop));
    return rc;
}
