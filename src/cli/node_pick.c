/* Picking a node from a ledger for a client's job: the ledger lists who may earn now; the
 * client trusts none of it until the node's own evidence, fetched with a fresh nonce and
 * verified with the client's anchors and policy, binds the Enclave ID the ledger names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "cli/chain_cli.h"
#include "cli/cli.h"
#include "cli/http.h"
#include "cli/node_pick.h"

void cli_nodes_free(struct cli_node_entry *nodes, size_t n)
{
    for (size_t i = 0; nodes && i < n; i++)
        gtee_ledger_enclave_free(&nodes[i].e);
    free(nodes);
}

int cli_nodes_list(struct gtee_ledger *l, int active_only, struct cli_node_entry **out, size_t *n,
                   struct gtee_err *err)
{
    uint8_t (*ids)[GTEE_PROOF_ID_LEN] = NULL;
    size_t count = 0, k = 0;
    uint32_t min = 0;
    int rc;

    *out = NULL;
    *n = 0;
    TRY(gtee_ledger_enclave_ids(l, &ids, &count, err));
    if (!count)
        goto out;
    *out = calloc(count, sizeof(**out));
    ENSURE(*out, err, GTEE_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        struct cli_node_entry *e = &(*out)[k];

        TRY(gtee_ledger_enclave(l, ids[i], &e->e, err));
        if (active_only && !e->e.active) {
            gtee_ledger_enclave_free(&e->e);
            continue;
        }
        TRY(gtee_ledger_min_tcb(l, e->e.tee_type, &min, err));
        e->tcb_ok = gtee_ledger_tcb_meets(e->e.tee_type, e->e.tcb, min);
        k++;
    }
out:
    if (*out)
        *n = k;
    free(ids);
    if (rc < 0) {
        cli_nodes_free(*out, k);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int cli_node_pick(const char *ledger_spec, const struct cli_attest_opts *o, long timeout_s, int quiet,
                  struct cli_enclave *e, struct gtee_err *err)
{
    struct chain_opts co = { .ledger = ledger_spec, .retries = 3 };
    struct gtee_ledger *l = NULL;
    struct cli_node_entry *nodes = NULL;
    size_t n = 0, refused = 0;
    char full[1200], id[43];
    int rc;

    TRY(chain_ledger(&co, 0, &l, err));
    TRY(cli_nodes_list(l, 1, &nodes, &n, err));
    ENSURE(n, err, GTEE_EIO, "--ledger %s: no active node to run the job", ledger_spec);
    for (size_t i = 0; i < n; i++) {
        struct gtee_err why = {0};

        gtee_eth_address_hex(nodes[i].e.enclave_id, id);
        if (strlen(nodes[i].e.node_url) >= sizeof(e->url) ||
            cli_http_url(full, sizeof(full), nodes[i].e.node_url, "/api/v1/evidence") != 0) {
            if (!quiet)
                fprintf(stderr, "gtee: node %s (enclave %s): its URL is not usable; trying the next\n",
                        nodes[i].e.node_url, id);
            continue;
        }
        rc = cli_attest_evidence_url(full, o, timeout_s, nodes[i].e.enclave_id, e, &why);
        if (rc == 0) {
            snprintf(e->url, sizeof(e->url), "%s", nodes[i].e.node_url);
            goto out;
        }
        refused += rc == GTEE_EPOLICY;
        if (!quiet)
            fprintf(stderr, "gtee: node %s (enclave %s) %s: %s; trying the next\n", nodes[i].e.node_url, id,
                    rc == GTEE_EPOLICY ? "fails attestation" : "does not answer", why.msg);
    }
    rc = GTEE_FAIL(err, refused ? GTEE_EPOLICY : GTEE_EIO, "--ledger %s: none of its %zu active nodes %s", ledger_spec,
                   n, refused ? "answered with evidence this client accepts" : "answered");
out:
    cli_nodes_free(nodes, n);
    gtee_ledger_close(l);
    return rc;
}
