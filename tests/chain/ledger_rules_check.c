/* The ledger's rule table (tests/chain/ledger_rules.h) against the evm ledger: the Glacier
 * contract on anvil, deployed by tests/chain/test_chain_anvil.sh with quorum 1, epoch 600 s,
 * freshness 3600 s and simulation allowed. A verifier's vote approves each registration (the
 * local ledger verifies the evidence instead), and anvil's evm_increaseTime moves the clock.
 * The restart is the script's to make (only it holds anvil): this writes DIR/restart and waits,
 * bounded, for the script to stop anvil, start it again on the same port with its state and
 * answer with DIR/restarted.
 * Not a test itself: the script runs it. Exit 0: every case as the table says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chain/abi.h"
#include "chain/buf.h"
#include "chain/ledger_rules.h"
#include "chain/rpc.h"
#include "gtee/evm.h"

struct anvil {
    struct rpc rpc;
    struct gtee_evm *verifier;
    uint8_t contract[20];
    const char *restart_dir;
};

#define RESTART_WAIT_S 60

/* Asks the script to restart anvil and waits for it (the RPC connections are opened anew per
 * request, so the ledgers go on as they are). */
static int a_restart(struct rules_world *w, struct gtee_err *err)
{
    struct anvil *a = w->arg;
    char ask[512], done[512];
    time_t end = time(NULL) + RESTART_WAIT_S;
    int rc;

    snprintf(ask, sizeof(ask), "%s/restart", a->restart_dir);
    snprintf(done, sizeof(done), "%s/restarted", a->restart_dir);
    if ((rc = gtee_file_write(ask, "1", 1, 0600, 0, err)) != 0)
        return rc;
    while (access(done, F_OK) != 0) {
        if (time(NULL) >= end)
            return GTEE_FAIL(err, GTEE_EIO, "anvil was not restarted within %d s (%s never came)", RESTART_WAIT_S, done);
        usleep(100 * 1000);
    }
    if (unlink(done) != 0)
        return GTEE_FAIL(err, GTEE_EIO, "cannot remove %s", done);
    return 0;
}

static uint64_t a_now(struct rules_world *w)
{
    struct anvil *a = w->arg;
    struct gtee_err err = {0};
    json_t *res = NULL;
    uint64_t t = 0;

    if (rpc_call(&a->rpc, "eth_getBlockByNumber", json_pack("[s, b]", "latest", 0), &res, &err) != 0 ||
        rpc_quantity(json_object_get(res, "timestamp"), &t, &err) != 0)
        fprintf(stderr, "ledger rules: the block's time: %s\n", err.msg);
    json_decref(res);
    return t;
}

static void a_advance(struct rules_world *w, uint64_t s)
{
    struct anvil *a = w->arg;
    struct gtee_err err = {0};
    json_t *res = NULL;

    if (rpc_call(&a->rpc, "evm_increaseTime", json_pack("[I]", (json_int_t)s), &res, &err) != 0)
        fprintf(stderr, "ledger rules: evm_increaseTime: %s\n", err.msg);
    json_decref(res);
    res = NULL;
    if (rpc_call(&a->rpc, "evm_mine", json_array(), &res, &err) != 0)
        fprintf(stderr, "ledger rules: evm_mine: %s\n", err.msg);
    json_decref(res);
}

/* vote(enclaveId, round, true) for the round enclave() names. */
static int a_approve(struct rules_world *w, const uint8_t id[20], struct gtee_err *err)
{
    struct anvil *a = w->arg;
    struct gtee_evm_receipt r;
    struct chain_buf b = {0};
    uint8_t *d = NULL;
    uint64_t round = 0;
    size_t n = 0;
    int rc;

    abi_selector(&b, "enclave(address)");
    abi_address(&b, id);
    rc = gtee_evm_call(a->verifier, a->contract, b.p, b.len, &d, &n, err);
    chain_buf_free(&b);
    if (rc == 0)
        rc = abi_word_u64(d, n, 1 + 6, &round, err);
    free(d);
    if (rc != 0)
        return rc;
    abi_selector(&b, "vote(address,uint32,bool)");
    abi_address(&b, id);
    abi_u64(&b, round);
    abi_u64(&b, 1);
    rc = b.oom ? GTEE_ENOMEM : gtee_evm_send(a->verifier, a->contract, NULL, b.p, b.len, &r, err);
    chain_buf_free(&b);
    return rc;
}

static int key_arg(const char *s, uint8_t key[32])
{
    return gtee_hex_decode(s, key, 32);
}

int main(int argc, char **argv)
{
    struct gtee_evm_options o = {0};
    struct rules_world w = {0};
    struct anvil a = {0};
    struct gtee_err err = {0};
    struct gtee_evm_receipt r;
    struct chain_buf b = {0};
    uint8_t kgov[32], kop[32], kother[32], kver[32], one_wei[32] = {0}; /* a value in wei */
    int failures = 1;

    if (argc != 8) {
        fprintf(stderr,
                "usage: ledger_rules_check RPC CONTRACT GOVERNOR_KEY OPERATOR_KEY OTHER_KEY VERIFIER_KEY RESTART_DIR\n");
        return 2;
    }
    a.restart_dir = argv[7];
    o.rpc_url = argv[1];
    if (gtee_hex_decode(argv[2], a.contract, 20) || key_arg(argv[3], kgov) || key_arg(argv[4], kop) ||
        key_arg(argv[5], kother) || key_arg(argv[6], kver)) {
        fprintf(stderr, "ledger_rules_check: malformed hex argument\n");
        return 2;
    }
    if (rules_sim_open(&w) != 0)
        return 1;
    if (rpc_open(&a.rpc, argv[1], 10000, 2, &err) != 0 || gtee_ledger_open_evm(&o, kgov, a.contract, &w.gov, &err) ||
        gtee_ledger_open_evm(&o, kop, a.contract, &w.op, &err) ||
        gtee_ledger_open_evm(&o, kother, a.contract, &w.other, &err) || gtee_evm_open(&o, kver, &a.verifier, &err)) {
        fprintf(stderr, "ledger_rules_check: %s\n", err.msg);
        goto out;
    }
    /* the verifier stakes (the deployment's minimum is 0; the contract wants some) */
    one_wei[31] = 1;
    abi_selector(&b, "joinVerifiers()");
    if (b.oom || gtee_evm_send(a.verifier, a.contract, one_wei, b.p, b.len, &r, &err) != 0) {
        fprintf(stderr, "ledger_rules_check: joinVerifiers: %s\n", err.msg);
        goto out;
    }
    /* the reward pool pays the claims (the local ledger moves no money and has none) */
    chain_buf_free(&b);
    abi_selector(&b, "fundRewards()");
    one_wei[30] = 0x03; /* 1000 wei */
    one_wei[31] = 0xe8;
    if (b.oom || gtee_evm_send(a.verifier, a.contract, one_wei, b.p, b.len, &r, &err) != 0) {
        fprintf(stderr, "ledger_rules_check: fundRewards: %s\n", err.msg);
        goto out;
    }
    w.now = a_now;
    w.advance = a_advance;
    w.approve = a_approve;
    w.restart = a_restart;
    w.arg = &a;
    failures = rules_run(&w);
out:
    chain_buf_free(&b);
    gtee_ledger_close(w.gov);
    gtee_ledger_close(w.op);
    gtee_ledger_close(w.other);
    gtee_evm_close(a.verifier);
    rpc_close(&a.rpc);
    rules_sim_close(&w);
    return failures ? 1 : 0;
}
