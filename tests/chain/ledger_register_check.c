/* Test helper (not a test itself; tests/chain/test_chain_anvil.sh runs it): registers an
 * enclave through the ledger interface (gtee_ledger_register) and prints its standing.
 * Usage: ledger_register_check RPC CONTRACT OPERATOR_KEY_HEX ENCLAVE_ID CONSENT_SIG_HEX
 *                              EVIDENCE_TIME
 * The registration: SGX, measurement 0x..aaaa, TCB 7, evidence hash 0x..e5, a stake of 1
 * ether. Exit 0 registered (prints "status S active A"), 7 refused by the contract (the
 * message on stderr), 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/crypto.h"
#include "gtee/ledger.h"

int main(int argc, char **argv)
{
    struct gtee_evm_options o = { .retries = 1 };
    struct gtee_ledger_registration r = {0};
    struct gtee_ledger_standing s;
    struct gtee_evm_receipt rc;
    struct gtee_ledger *l = NULL;
    struct gtee_err err = {0};
    uint8_t key[32], contract[20];
    static const uint8_t ether[8] = { 0x0d, 0xe0, 0xb6, 0xb3, 0xa7, 0x64, 0x00, 0x00 }; /* 10^18 */
    int ret;

    if (argc != 7) {
        fprintf(stderr, "usage: ledger_register_check RPC CONTRACT KEY ENCLAVE_ID CONSENT_SIG EVIDENCE_TIME\n");
        return 1;
    }
    o.rpc_url = argv[1];
    if (gtee_hex_decode(argv[2], contract, 20) || gtee_hex_decode(argv[3], key, 32) ||
        gtee_hex_decode(argv[4], r.enclave_id, 20) || gtee_hex_decode(argv[5], r.consent_sig, 65)) {
        fprintf(stderr, "ledger_register_check: malformed hex argument\n");
        return 1;
    }
    r.tee_type = 2;
    r.measurement[30] = 0xaa;
    r.measurement[31] = 0xaa;
    r.tcb = 7;
    r.evidence_hash[31] = 0xe5;
    r.evidence_time = strtoull(argv[6], NULL, 10);
    r.evidence_url = "https://node.example/evidence/e5";
    r.node_url = "https://node.example:8443";
    memcpy(r.stake + 24, ether, 8);
    if (gtee_ledger_open_evm(&o, key, contract, &l, &err) != 0 || (ret = gtee_ledger_register(l, &r, 0, &rc, &err)) != 0 ||
        gtee_ledger_standing(l, r.enclave_id, &s, &err) != 0) {
        fprintf(stderr, "ledger_register_check: %s\n", err.msg);
        gtee_ledger_close(l);
        return err.code == GTEE_EPOLICY ? 7 : 1;
    }
    printf("status %d active %d\n", (int)s.status, s.active);
    gtee_ledger_close(l);
    return 0;
}
