/* `gtee verifier join` and `gtee verifier run` (docs/chain.md "Verifiers"): a staked verifier
 * watches the Glacier contract's registrations from a durable cursor, attests each
 * registered enclave over its evidence URL with its own anchors and policy (the clients'
 * code, bound to a fresh nonce and to the registered Enclave ID) and votes; it reads each
 * registered node's published Work Proofs, checks them, and reports two different proofs of
 * one enclave with one seq (one of them the chain's) as an equivocation. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/guard.h"
#include "chain/abi.h"
#include "chain/glacier.h"
#include "cli/chain_cli.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/http.h"
#include "cli/node_client.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "gtee/ledger.h"
#include "gtee/tee_kind.h"

#define STATE_FORMAT "gtee-verifier-state-1"
#define STATE_MAX (16u << 20)
#define LOG_CHUNK 2000     /* blocks per eth_getLogs */
#define LOGS_MAX 10000     /* logs per eth_getLogs answer */
#define BACKOFF_MAX_S 60

static const char join_usage[] =
    "Usage: gtee verifier join --ledger evm:URL,ADDRESS --key FILE [--stake WEI] [--json]\n"
    "\n"
    "Stakes the key's account as a verifier of the Glacier contract (joinVerifiers), with\n"
    "--stake wei (default: the contract's minimum verifier stake). A key already staked at\n"
    "or above the minimum is left as it is.\n"
    "\n"
    "Options:\n" CHAIN_OPTIONS_HELP
    "      --key FILE          the verifier's secp256k1 key (0x and 64 hex digits, mode 0600)\n"
    "      --stake WEI         the stake to add (default: the minimum verifier stake)\n"
    "      --json              print the result as one JSON object\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 staked, 7 the chain refused (its reason is printed), 3 the chain did not\n"
    "answer, 5 a malformed answer, 6 the key file is readable by others, 2 usage.\n";

static const char run_usage[] =
    "Usage: gtee verifier run --ledger evm:URL,ADDRESS --key FILE [--state FILE] [options]\n"
    "\n"
    "A verifier of the Glacier contract (docs/chain.md, \"Verifiers\"). It joins the verifiers\n"
    "with the minimum stake if its key has none, then, each pass: reads the contract's\n"
    "Registered events from its cursor; attests each open registration's enclave over the\n"
    "registration's evidence URL (a fresh nonce; the evidence verified with this verifier's\n"
    "own anchors, collateral and policy, bound to the registered Enclave ID, with the\n"
    "registered TEE type, measurement and TCB figure, that figure not below the minimum)\n"
    "and votes approve or reject (a rejection names the verdict's code); reads each\n"
    "registered node's published Work Proofs (GET NODE_URL/api/v1/proofs), checks them\n"
    "(signature, signer the Enclave ID, hash chain) against the proofs the chain accepted,\n"
    "and reports two different proofs with one seq from one enclave (reportEquivocation:\n"
    "the operator is slashed, the reporter rewarded).\n"
    "The local ledger verifies evidence itself and keeps no proofs' signatures: it has no\n"
    "verifiers, and this command refuses it.\n"
    "\n"
    "Options:\n" CHAIN_OPTIONS_HELP
    "      --key FILE          the verifier's secp256k1 key (0x and 64 hex digits, mode 0600)\n"
    "      --policy POLICY, --collateral DIR, --sim-root DER   what this verifier accepts, as\n"
    "                          for gtee attest (default: the strict policy, no collateral)\n"
    "      --state FILE        the durable cursor and open work (written through the safe\n"
    "                          writer after each step; default: none, every run starts at\n"
    "                          --from-block and the contract refuses a second vote)\n"
    "      --from-block N      where a new cursor starts (default: the block the contract was\n"
    "                          deployed in)\n"
    "      --interval S        seconds between passes (default 5)\n"
    "      --fetch-timeout S   the bound on one evidence or proofs request (default 20)\n"
    "      --fetch-tries N     passes an unreachable evidence URL is tried before the\n"
    "                          registration is rejected as evidence_unavailable (default 5)\n"
    "      --once              one pass, then exit (for tests and cron)\n"
    "      --json              one JSON object a line, for machines (default: plain lines)\n"
    "  -h, --help              show this help\n"
    "\n"
    "SIGTERM or SIGINT stops it between steps. A pass that fails (a chain that does not\n"
    "answer, a refused transaction) is logged and tried again with backoff doubling up to\n"
    "60 s; with --once it is the exit status.\n"
    "\n"
    "Exit status: 0 stopped or the pass done, 3 the chain or a file could not be reached,\n"
    "5 a malformed state file or answer, 6 the key file is readable by others, 7 the chain\n"
    "refused to stake this verifier, 2 usage (a local ledger).\n";

struct verifier {
    struct gtee_ledger *l;
    struct gtee_evm *evm;
    uint8_t contract[20], self[20];
    struct gtee_proof_domain dom;
    struct cli_attest_opts ao;
    long fetch_timeout;
    int resumed; /* the state was read from its file: its cursor, not --from-block, is where it starts */
    unsigned fetch_tries;
    const char *state_path;
    json_t *state; /* {format, chain_id, contract, next_block, pending: [{enclave, round, tries}], enclaves: [..], checked: {id: seq}} */
    uint8_t t_registered[32], t_accepted[32];
    json_t *noted; /* {enclave: the last proofs problem said}: a node away is said once, not each pass */
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

/* One line of what the verifier did: plain, or the JSON object with its event and message. */
static void say(const char *event, json_t *fields, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(const char *event, json_t *fields, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cli_json()) {
        json_t *o = fields ? fields : json_object();

        json_object_set_new(o, "event", json_string(event));
        json_object_set_new(o, "message", json_string(msg));
        json_object_set_new(o, "time", json_integer((json_int_t)time(NULL)));
        cli_json_emit(o);
    } else {
        printf("verifier: %s: %s\n", event, msg);
        fflush(stdout);
        json_decref(fields);
    }
}

static const char *str(json_t *j)
{
    const char *s = json_string_value(j);

    return s ? s : "";
}

static void addr_hex(const uint8_t a[20], char out[43])
{
    gtee_eth_address_hex(a, out);
}

static int hex_addr(const char *s, uint8_t a[20])
{
    return s && strlen(s) == 42 && !strncmp(s, "0x", 2) && gtee_hex_decode(s + 2, a, 20) == 0 ? 0 : -1;
}

/* ---- the state file ---- */
static int state_save(struct verifier *v, struct gtee_err *err)
{
    char *text;
    int rc;

    if (!v->state_path)
        return 0;
    text = json_dumps(v->state, JSON_INDENT(1) | JSON_SORT_KEYS);
    ENSURE(text, err, GTEE_ENOMEM, "verifier: out of memory writing the state");
    rc = gtee_file_write(v->state_path, text, strlen(text), 0600, GTEE_FILE_REPLACE, err);
    free(text);
out:
    return rc;
}

static int state_load(struct verifier *v, uint64_t from_block, struct gtee_err *err)
{
    uint8_t *buf = NULL, c[20];
    size_t len = 0;
    json_error_t je;
    json_t *s = NULL;
    char ch[43];
    json_int_t next;
    struct stat st;
    int rc = 0;

    addr_hex(v->contract, ch);
    if (v->state_path && (lstat(v->state_path, &st) == 0 || errno != ENOENT))
        TRY(gtee_file_read(v->state_path, STATE_MAX, &buf, &len, err));
    if (buf) {
        v->resumed = 1;
        s = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
        ENSURE(json_is_object(s), err, GTEE_EFORMAT, "state %s: not a JSON object (line %d: %s)", v->state_path,
               je.line, je.text);
        ENSURE(!strcmp(str(json_object_get(s, "format")), STATE_FORMAT), err, GTEE_EFORMAT,
               "state %s: not a %s file", v->state_path, STATE_FORMAT);
        ENSURE(hex_addr(json_string_value(json_object_get(s, "contract")), c) == 0 && !memcmp(c, v->contract, 20) &&
                   json_integer_value(json_object_get(s, "chain_id")) == (json_int_t)v->dom.chain_id,
               err, GTEE_EFORMAT, "state %s: kept for another chain or contract than %s", v->state_path, ch);
        next = json_integer_value(json_object_get(s, "next_block"));
        ENSURE(json_is_integer(json_object_get(s, "next_block")) && next >= 0 &&
                   json_is_array(json_object_get(s, "pending")) && json_is_array(json_object_get(s, "enclaves")) &&
                   json_is_object(json_object_get(s, "checked")),
               err, GTEE_EFORMAT, "state %s: next_block, pending, enclaves or checked is missing or malformed",
               v->state_path);
    } else {
        s = json_pack("{s:s, s:I, s:s, s:I, s:[], s:[], s:{}}", "format", STATE_FORMAT, "chain_id",
                      (json_int_t)v->dom.chain_id, "contract", ch, "next_block", (json_int_t)from_block, "pending",
                      "enclaves", "checked");
        ENSURE(s, err, GTEE_ENOMEM, "verifier: out of memory");
    }
    v->state = s;
    s = NULL;
out:
    json_decref(s);
    free(buf);
    return rc;
}

/* ---- registrations ---- */
static void remember_enclave(struct verifier *v, const char *id)
{
    json_t *a = json_object_get(v->state, "enclaves");
    size_t i;
    json_t *x;

    json_array_foreach(a, i, x)
        if (!strcmp(str(x), id))
            return;
    json_array_append_new(a, json_string(id));
}

static void add_pending(struct verifier *v, const char *id, uint64_t round)
{
    json_t *a = json_object_get(v->state, "pending"), *x;
    size_t i;

    json_array_foreach(a, i, x)
        if (!strcmp(str(json_object_get(x, "enclave")), id) &&
            json_integer_value(json_object_get(x, "round")) == (json_int_t)round)
            return;
    json_array_append_new(a, json_pack("{s:s, s:I, s:i}", "enclave", id, "round", (json_int_t)round, "tries", 0));
}

/* The Registered events from the cursor to the head: each an open round to vote on. */
static int scan(struct verifier *v, struct gtee_err *err)
{
    struct gtee_evm_log *logs = NULL;
    uint64_t head = 0, from = (uint64_t)json_integer_value(json_object_get(v->state, "next_block")), round = 0;
    size_t n = 0;
    char id[43];
    int rc;

    TRY(gtee_evm_block_number(v->evm, &head, err));
    while (from <= head && !stopping) {
        uint64_t to = head - from < LOG_CHUNK ? head : from + LOG_CHUNK - 1;

        TRY(gtee_evm_logs(v->evm, v->contract, (const uint8_t(*)[32])v->t_registered, 1, from, to, LOGS_MAX, &logs, &n,
                          err));
        for (size_t i = 0; i < n; i++) {
            ENSURE(logs[i].n_topics >= 2, err, GTEE_EFORMAT, "a Registered event without its Enclave ID");
            TRY(abi_word_u64(logs[i].data, logs[i].len, 0, &round, err));
            addr_hex(logs[i].topics[1] + 12, id);
            remember_enclave(v, id);
            add_pending(v, id, round);
            say("registered", json_pack("{s:s, s:I, s:I}", "enclave", id, "round", (json_int_t)round, "block",
                                        (json_int_t)logs[i].block),
                "enclave %s registered round %llu (block %llu)", id, (unsigned long long)round,
                (unsigned long long)logs[i].block);
        }
        gtee_evm_logs_free(logs, n);
        logs = NULL;
        n = 0;
        json_object_set_new(v->state, "next_block", json_integer((json_int_t)(to + 1)));
        /* the cursor moves with the open rounds it found, in one write */
        TRY(state_save(v, err));
        from = to + 1;
    }
out:
    gtee_evm_logs_free(logs, n);
    return rc;
}

static int vote(struct verifier *v, const struct gtee_ledger_enclave *e, const char *id, uint32_t round, int approve,
                const char *code, const char *why, struct gtee_err *err)
{
    struct gtee_evm_receipt r;
    char tx[67] = "0x";
    int rc = gtee_ledger_vote(v->l, e->enclave_id, round, approve, &r, err);

    /* another verifier's vote may close the round between the estimate and the block */
    if (rc == GTEE_EPOLICY && (strstr(err->msg, "already voted") || strstr(err->msg, "not the open round") ||
                               strstr(err->msg, "nothing to vote on") || strstr(err->msg, "reverted on chain"))) {
        say("vote-skipped", json_pack("{s:s, s:I}", "enclave", id, "round", (json_int_t)round),
            "enclave %s round %u: the contract takes no vote from this verifier now (%s)", id, round, err->msg);
        return 0;
    }
    if (rc < 0)
        return rc;
    gtee_hex_encode(r.tx_hash, 32, tx + 2);
    say(approve ? "approved" : "rejected",
        json_pack("{s:s, s:I, s:b, s:s, s:s, s:s}", "enclave", id, "round", (json_int_t)round, "approve", approve,
                  "code", code, "reason", why, "tx", tx),
        "enclave %s round %u: voted %s%s%s: %s (tx %s)", id, round, approve ? "approve" : "reject",
        approve ? "" : ", code ", approve ? "" : code, why, tx);
    return 0;
}

/* One open round: 1 done (voted, or nothing to vote on), 0 to try again next pass. */
static int handle_round(struct verifier *v, json_t *item, struct gtee_err *err)
{
    const char *id = json_string_value(json_object_get(item, "enclave"));
    uint32_t round = (uint32_t)json_integer_value(json_object_get(item, "round"));
    struct gtee_ledger_enclave e;
    struct cli_enclave ce;
    struct gtee_err why = {0};
    uint8_t eid[20];
    char m1[65], m2[65], msg[GTEE_ERR_MSG_MAX + 64], t1[GTEE_LEDGER_TCB_TEXT_MAX], t2[GTEE_LEDGER_TCB_TEXT_MAX];
    uint32_t min = 0;
    int rc, tries;

    memset(&e, 0, sizeof(e));
    if (hex_addr(id, eid) < 0)
        return 1;
    TRY(gtee_ledger_enclave(v->l, eid, &e, err));
    if (e.round != round || e.approved_round >= round ||
        (e.status != GTEE_ENCLAVE_PENDING && e.status != GTEE_ENCLAVE_ACTIVE)) {
        say("round-closed", json_pack("{s:s, s:I}", "enclave", id, "round", (json_int_t)round),
            "enclave %s round %u is decided or superseded (now round %u, status %d): no vote", id, round, e.round,
            (int)e.status);
        rc = 1;
        goto out;
    }
    rc = cli_attest_evidence_url(e.evidence_url, &v->ao, v->fetch_timeout, eid, &ce, &why);
    if (rc == GTEE_EPOLICY && ce.reject_code[0]) {
        TRY(vote(v, &e, id, round, 0, ce.reject_code, why.msg, err));
    } else if (rc == GTEE_EIO) {
        tries = (int)json_integer_value(json_object_get(item, "tries")) + 1;
        json_object_set_new(item, "tries", json_integer(tries));
        if ((unsigned)tries < v->fetch_tries) {
            say("evidence-retry", json_pack("{s:s, s:I, s:i}", "enclave", id, "round", (json_int_t)round, "tries", tries),
                "enclave %s round %u: its evidence could not be fetched (try %d of %u): %s", id, round, tries,
                v->fetch_tries, why.msg);
            rc = 0;
            goto out;
        }
        TRY(vote(v, &e, id, round, 0, "evidence_unavailable", why.msg, err));
    } else if (rc < 0) {
        snprintf(msg, sizeof(msg), "%s", why.msg);
        TRY(vote(v, &e, id, round, 0, rc == GTEE_EFORMAT ? "evidence_malformed" : "evidence_invalid", msg, err));
    } else if (ce.tee_kind != e.tee_type) {
        snprintf(msg, sizeof(msg), "the evidence is of TEE type %u, the registration names %u", ce.tee_kind, e.tee_type);
        TRY(vote(v, &e, id, round, 0, "registration_tee_type_mismatch", msg, err));
    } else if (memcmp(ce.measurement, e.measurement, 32)) {
        gtee_hex_encode(ce.measurement, 32, m1);
        gtee_hex_encode(e.measurement, 32, m2);
        snprintf(msg, sizeof(msg), "the evidence measures 0x%s, the registration names 0x%s", m1, m2);
        TRY(vote(v, &e, id, round, 0, "registration_measurement_mismatch", msg, err));
    } else if (ce.tcb != e.tcb) {
        snprintf(msg, sizeof(msg), "the registration declares TCB %s, the evidence shows TCB %s",
                 gtee_ledger_tcb_text(e.tee_type, e.tcb, t1), gtee_ledger_tcb_text(e.tee_type, ce.tcb, t2));
        TRY(vote(v, &e, id, round, 0, "registration_tcb_mismatch", msg, err));
    } else if ((rc = gtee_ledger_min_tcb(v->l, e.tee_type, &min, err)) < 0) {
        goto out;
    } else if (!gtee_ledger_tcb_meets(e.tee_type, ce.tcb, min)) {
        /* the minimum may have been raised since the registration was sent */
        snprintf(msg, sizeof(msg), "the evidence shows TCB %s, below the ledger's minimum %s",
                 gtee_ledger_tcb_text(e.tee_type, ce.tcb, t1), gtee_ledger_tcb_text(e.tee_type, min, t2));
        TRY(vote(v, &e, id, round, 0, "registration_tcb_below_minimum", msg, err));
    } else {
        snprintf(msg, sizeof(msg), "the evidence verifies under this verifier's policy (%s%s), bound to the Enclave ID",
                 ce.tee, ce.simulated ? ", SIMULATED" : "");
        TRY(vote(v, &e, id, round, 1, "ok", msg, err));
    }
    rc = 1;
out:
    gtee_ledger_enclave_free(&e);
    return rc;
}

static int vote_pending(struct verifier *v, struct gtee_err *err)
{
    json_t *a = json_object_get(v->state, "pending");
    int rc = 0, k;

    for (size_t i = 0; i < json_array_size(a) && !stopping;) {
        k = handle_round(v, json_array_get(a, i), err);
        if (k < 0)
            return k; /* the chain: the whole pass is retried */
        if (k == 1)
            json_array_remove(a, i);
        else
            i++;
        TRY(state_save(v, err));
    }
out:
    return rc;
}

/* ---- proofs ---- */
static int report(struct verifier *v, const struct gtee_proof *a, const struct gtee_proof *b, const char *id,
                  struct gtee_err *err)
{
    struct gtee_evm_receipt r;
    char tx[67] = "0x";
    int rc = gtee_ledger_report_equivocation(v->l, a, b, &r, err);

    /* another reporter may be first, between the estimate and the block */
    if (rc == GTEE_EPOLICY && (strstr(err->msg, "already slashed") || strstr(err->msg, "reverted on chain"))) {
        say("report-skipped", json_pack("{s:s, s:I}", "enclave", id, "seq", (json_int_t)a->seq),
            "enclave %s seq %llu: the equivocation was reported first by another (%s)", id, (unsigned long long)a->seq,
            err->msg);
        return 0;
    }
    if (rc < 0) {
        say("report-failed", json_pack("{s:s, s:I}", "enclave", id, "seq", (json_int_t)a->seq),
            "enclave %s seq %llu: the equivocation report failed: %s", id, (unsigned long long)a->seq, err->msg);
        return rc == GTEE_EPOLICY ? 0 : rc;
    }
    gtee_hex_encode(r.tx_hash, 32, tx + 2);
    say("equivocation", json_pack("{s:s, s:I, s:s}", "enclave", id, "seq", (json_int_t)a->seq, "tx", tx),
        "enclave %s signed two different proofs with seq %llu: reported, its operator slashed (tx %s)", id,
        (unsigned long long)a->seq, tx);
    return 0;
}

/* The proof the chain accepted for id at seq (from its ProofAccepted event and the
 * transaction that carried it): 1 found, 0 none. */
static int chain_proof(struct verifier *v, const uint8_t id[20], uint64_t seq, struct gtee_proof *out,
                       uint8_t hash[32], struct gtee_err *err)
{
    uint8_t topics[3][32] = {{0}}, *input = NULL, h[32];
    struct gtee_evm_log *logs = NULL;
    struct gtee_proof *p = NULL;
    uint64_t head = 0;
    size_t n = 0, k = 0;
    int rc, found = 0;

    memcpy(topics[0], v->t_accepted, 32);
    memcpy(topics[1] + 12, id, 20);
    for (int i = 0; i < 8; i++)
        topics[2][31 - i] = (uint8_t)(seq >> (8 * i));
    TRY(gtee_evm_block_number(v->evm, &head, err));
    TRY(gtee_evm_logs(v->evm, v->contract, (const uint8_t(*)[32])topics, 3, 0, head, 4, &logs, &n, err));
    if (!n)
        goto out;
    TRY(abi_word(logs[0].data, logs[0].len, 0, hash, err));
    TRY(gtee_evm_tx_input(v->evm, logs[0].tx_hash, &input, &k, err));
    {
        size_t np = 0;

        TRY(glacier_submit_decode(input, k, &v->dom, 64, &p, &np, err));
        for (size_t i = 0; i < np && !found; i++) {
            if (memcmp(p[i].enclave_id, id, 20) || p[i].seq != seq)
                continue;
            gtee_proof_hash(&p[i], h);
            if (!memcmp(h, hash, 32)) {
                *out = p[i];
                found = 1;
            }
        }
    }
    ENSURE(found, err, GTEE_EFORMAT, "the transaction of the chain's proof seq %llu does not carry it",
           (unsigned long long)seq);
out:
    gtee_evm_logs_free(logs, n);
    free(input);
    free(p);
    return rc < 0 ? rc : found;
}

/* The node's published proofs, through the proof file parser: *p malloc'ed. */
static int fetch_proofs(struct verifier *v, const char *node_url, struct gtee_proof **p, size_t *n,
                        struct gtee_err *err)
{
    struct cli_http_resp r = {0};
    json_t *arr = json_array(), *list, *x;
    char full[1200], why[GTEE_ERR_MSG_MAX], *text = NULL;
    size_t i;
    int rc;

    *p = NULL;
    *n = 0;
    ENSURE(arr, err, GTEE_ENOMEM, "out of memory");
    ENSURE(cli_http_url(full, sizeof(full), node_url, "/api/v1/proofs") == 0, err, GTEE_EINVAL,
           "node URL %.200s: not an http:// or https:// URL", node_url);
    TRY(cli_http_request("GET", full, NULL, NULL, 0, -1, 0, -1, v->fetch_timeout, NULL, NULL, &r, err));
    ENSURE(r.status == 200, err, GTEE_EIO, "%s: %s", full, cli_http_error(&r, why, sizeof(why)));
    list = json_object_get(r.json, "proofs");
    ENSURE(json_is_array(list), err, GTEE_EFORMAT, "%s: the answer has no proofs array", full);
    if (!json_array_size(list))
        goto out;
    json_array_foreach(list, i, x)
        json_array_append(arr, json_object_get(x, "proof") ? json_object_get(x, "proof") : json_null());
    text = json_dumps(arr, JSON_COMPACT);
    ENSURE(text, err, GTEE_ENOMEM, "out of memory");
    TRY(gtee_proof_parse(text, strlen(text), p, n, err));
out:
    free(text);
    json_decref(arr);
    cli_http_resp_free(&r);
    return rc;
}

static int cmp_seq(const void *a, const void *b)
{
    const struct gtee_proof *x = a, *y = b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int check_proofs(struct verifier *v, const char *id, struct gtee_err *err)
{
    struct gtee_ledger_enclave e;
    struct gtee_proof *p = NULL, cp;
    uint8_t eid[20], (*h)[32] = NULL, ch[32];
    json_t *checked = json_object_get(v->state, "checked");
    uint64_t done = (uint64_t)json_integer_value(json_object_get(checked, id)), good = done;
    struct gtee_err why = {0};
    size_t n = 0, k = 0;
    int rc = 0, found;

    memset(&e, 0, sizeof(e));
    if (hex_addr(id, eid) < 0)
        return 0;
    TRY(gtee_ledger_enclave(v->l, eid, &e, err));
    if (e.status == GTEE_ENCLAVE_UNREGISTERED || e.slashed || !e.node_url[0])
        goto out;
    if (fetch_proofs(v, e.node_url, &p, &n, &why) < 0) {
        if (strcmp(str(json_object_get(v->noted, id)), why.msg)) {
            json_object_set_new(v->noted, id, json_string(why.msg));
            say("proofs-unavailable", json_pack("{s:s}", "enclave", id), "enclave %s: its node's proofs: %s", id,
                why.msg);
        }
        goto out;
    }
    json_object_del(v->noted, id);
    h = calloc(n ? n : 1, sizeof(*h));
    ENSURE(h, err, GTEE_ENOMEM, "out of memory");
    /* keep the proofs that verify as this enclave's, for this contract */
    for (size_t i = 0; i < n; i++) {
        struct gtee_err pe = {0};
        int ok = !memcmp(p[i].enclave_id, eid, 20) && p[i].domain.chain_id == v->dom.chain_id &&
                 !memcmp(p[i].domain.contract, v->contract, 20) && gtee_proof_verify(&p[i], h[k], &pe) == 0;

        if (!ok) {
            say("proof-refused", json_pack("{s:s, s:I}", "enclave", id, "seq", (json_int_t)p[i].seq),
                "enclave %s: its node publishes a proof seq %llu that is not a valid proof of this enclave on this "
                "contract%s%s",
                id, (unsigned long long)p[i].seq, pe.msg[0] ? ": " : "", pe.msg);
            continue;
        }
        if (k != i)
            p[k] = p[i];
        k++;
    }
    n = k;
    if (n > 1)
        qsort(p, n, sizeof(*p), cmp_seq);
    for (size_t i = 0; i < n; i++)
        gtee_proof_hash(&p[i], h[i]);
    /* two of them with one seq: an equivocation without the chain's help */
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i].seq == p[i + 1].seq && memcmp(h[i], h[i + 1], 32)) {
            TRY(report(v, &p[i], &p[i + 1], id, err));
            goto out;
        }
    }
    if (n && gtee_proof_chain_check(p, (const uint8_t(*)[32])h, n, &why) < 0)
        say("proof-chain-broken", json_pack("{s:s}", "enclave", id), "enclave %s: its published proofs: %s", id,
            why.msg);
    /* each against the chain's proof of its seq, past what was checked before */
    for (size_t i = 0; i < n; i++) {
        if (p[i].seq <= done || p[i].seq > e.last_seq)
            continue;
        TRY(chain_proof(v, eid, p[i].seq, &cp, ch, err));
        found = rc;
        rc = 0;
        if (!found)
            continue;
        if (memcmp(ch, h[i], 32)) {
            TRY(report(v, &cp, &p[i], id, err));
            goto out;
        }
        if (p[i].seq == good + 1)
            good = p[i].seq;
    }
    if (good != done) {
        json_object_set_new(checked, id, json_integer((json_int_t)good));
        say("proofs-checked", json_pack("{s:s, s:I}", "enclave", id, "seq", (json_int_t)good),
            "enclave %s: its proofs up to seq %llu match the chain's", id, (unsigned long long)good);
    }
out:
    gtee_ledger_enclave_free(&e);
    free(p);
    free(h);
    return rc;
}

static int pass(struct verifier *v, struct gtee_err *err)
{
    json_t *ids;
    size_t i;
    int rc;

    TRY(scan(v, err));
    TRY(vote_pending(v, err));
    ids = json_object_get(v->state, "enclaves");
    for (i = 0; i < json_array_size(ids) && !stopping; i++)
        TRY(check_proofs(v, json_string_value(json_array_get(ids, i)), err));
    TRY(state_save(v, err));
out:
    return rc;
}

/* Stakes the key when it holds less than the minimum; stake NULL: the minimum. */
static int join(struct gtee_ledger *l, const uint8_t *stake, int quiet, struct gtee_err *err)
{
    struct gtee_ledger_policy p;
    struct gtee_evm_receipt r;
    uint8_t gov[20], self[20], have[32], zero[32] = {0};
    char a[43], w[80], tx[67] = "0x";
    int rc;

    gtee_ledger_operator(l, self);
    addr_hex(self, a);
    TRY(gtee_ledger_policy(l, &p, gov, err));
    TRY(gtee_ledger_verifier_stake(l, self, have, err));
    if (memcmp(have, zero, 32) && memcmp(have, p.min_verifier_stake, 32) >= 0 && !stake) {
        if (!quiet)
            say("staked", json_pack("{s:s, s:s}", "verifier", a, "stake", chain_wei_str(have, w)),
                "verifier %s holds a stake of %s wei", a, w);
        goto out;
    }
    if (!stake) {
        stake = p.min_verifier_stake;
        if (!memcmp(stake, zero, 32)) {
            static const uint8_t one[32] = { [31] = 1 }; /* the contract takes no empty stake */

            stake = one;
        }
    }
    TRY(gtee_ledger_join_verifiers(l, stake, &r, err));
    TRY(gtee_ledger_verifier_stake(l, self, have, err));
    gtee_hex_encode(r.tx_hash, 32, tx + 2);
    say("joined", json_pack("{s:s, s:s, s:s}", "verifier", a, "stake", chain_wei_str(have, w), "tx", tx),
        "verifier %s joined with a stake of %s wei (tx %s)", a, w, tx);
out:
    return rc;
}

static int run_cmd(int argc, char **argv, int joining)
{
    static const struct option opts[] = {
        CHAIN_LONG_OPTIONS,
        { "policy", required_argument, NULL, 'p' },
        { "collateral", required_argument, NULL, 'c' },
        { "sim-root", required_argument, NULL, 's' },
        { "state", required_argument, NULL, 'S' },
        { "from-block", required_argument, NULL, 'F' },
        { "interval", required_argument, NULL, 'i' },
        { "fetch-timeout", required_argument, NULL, 'f' },
        { "fetch-tries", required_argument, NULL, 'n' },
        { "stake", required_argument, NULL, 'k' },
        { "once", no_argument, NULL, 'o' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct chain_opts co = { .retries = 3 };
    struct verifier v;
    struct gtee_err err = {0};
    struct sigaction sa;
    const char *kind = NULL, *rest = NULL;
    uint8_t stake[32];
    int c, rc = 0, once = 0, have_stake = 0, from_set = 0;
    long interval = 5, from_block = 0;
    unsigned backoff = 0;
    char *end;

    memset(&v, 0, sizeof(v));
    v.fetch_timeout = 20;
    v.fetch_tries = 5;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = chain_opt(&co, c, optarg);

        if (k < 0)
            return -k;
        if (k)
            continue;
        if (joining && strchr("pcsSFifno", c))
            return cli_bad_option(argc, argv);
        if (!joining && c == 'k')
            return cli_bad_option(argc, argv);
        switch (c) {
        case 'p': v.ao.policy = optarg; break;
        case 'c': v.ao.collateral = optarg; break;
        case 's': v.ao.sim_root = optarg; break;
        case 'S': v.state_path = optarg; break;
        case 'F':
        case 'i':
        case 'f':
        case 'n': {
            long x = strtol(optarg, &end, 10);

            if (!*optarg || *end || x < (c == 'F' ? 0 : 1) || x > (c == 'F' ? 0x7fffffffffffL : 86400))
                return cli_usage_error("--%s %.40s: expected a whole number from %d to %ld",
                                       c == 'F' ? "from-block" : c == 'i' ? "interval" : c == 'f' ? "fetch-timeout"
                                                                                                : "fetch-tries",
                                       optarg, c == 'F' ? 0 : 1, c == 'F' ? 0x7fffffffffffL : 86400L);
            if (c == 'F')
                from_block = x, from_set = 1;
            else if (c == 'i')
                interval = x;
            else if (c == 'f')
                v.fetch_timeout = x;
            else
                v.fetch_tries = (unsigned)x;
            break;
        }
        case 'k':
            if (chain_wei(optarg, stake, "--stake", &err) < 0)
                return cli_usage_error("%s", err.msg);
            have_stake = 1;
            break;
        case 'o': once = 1; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(joining ? join_usage : run_usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (optind != argc)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!co.key)
        return cli_usage_error("--key FILE (the verifier's key) is required");
    if (co.ledger && gtee_ledger_spec_parse(co.ledger, &kind, &rest, &err) == 0 && !strcmp(kind, "local"))
        return cli_usage_error("--ledger local: the local ledger verifies registrations' evidence itself and keeps no "
                               "proofs' signatures: it has no verifiers (docs/chain.md, \"Verifiers\")");
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* the daemon waits for a chain that is away at start as for one that goes away later */
    while ((rc = chain_ledger(&co, 1, &v.l, &err)) == GTEE_EIO && !joining && !once && !stopping) {
        backoff = backoff ? (backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2) : (unsigned)interval;
        say("chain-unavailable", json_pack("{s:i}", "retry_s", (int)backoff), "%s (tried again in %u s)", err.msg,
            backoff);
        for (long t = 0; t < 10L * backoff && !stopping; t++)
            nanosleep(&(struct timespec){ .tv_nsec = 100000000L }, NULL);
    }
    backoff = 0;
    if (stopping && !v.l) {
        say("stopped", NULL, "signal received: stopped before the chain answered");
        rc = 0;
        goto out;
    }
    TRY(rc);
    v.evm = gtee_ledger_evm(v.l);
    ENSURE(v.evm, &err, GTEE_EINVAL, "a verifier needs an evm ledger");
    if (joining) {
        TRY(join(v.l, have_stake ? stake : NULL, 0, &err));
        goto out;
    }
    gtee_ledger_contract(v.l, v.contract);
    gtee_ledger_operator(v.l, v.self);
    gtee_ledger_domain(v.l, &v.dom);
    {
        static const char reg[] =
            "Registered(address,address,uint32,uint8,bytes32,uint32,bytes32,uint64,string,string)";
        static const char acc[] = "ProofAccepted(address,uint64,bytes32,bytes32,uint8,uint64,address)";

        gtee_keccak256(reg, strlen(reg), v.t_registered);
        gtee_keccak256(acc, strlen(acc), v.t_accepted);
    }
    if (!from_set) {
        uint64_t at = 0;

        TRY(gtee_ledger_deployed_at(v.l, &at, &err));
        from_block = (long)at;
    }
    TRY(state_load(&v, (uint64_t)from_block, &err));
    {
        json_int_t next = json_integer_value(json_object_get(v.state, "next_block"));

        /* where the watch starts: a state's cursor wins over --from-block, which places a new
         * state's cursor only, so a restart with the same command line resumes */
        if (v.resumed)
            say("started", json_pack("{s:I, s:b}", "from_block", next, "resumed", 1),
                "resuming from the state's cursor: registrations from block %lld%s", (long long)next,
                from_set && next != (json_int_t)from_block ? " (--from-block places a new state's cursor only)" : "");
        else
            say("started", json_pack("{s:I, s:b}", "from_block", next, "resumed", 0),
                "reading registrations from block %lld", (long long)next);
    }
    v.noted = json_object();
    ENSURE(v.noted, &err, GTEE_ENOMEM, "out of memory");
    while (!stopping) {
        /* joining is part of a pass: a chain down at start is waited for like any other */
        rc = join(v.l, NULL, 1, &err);
        if (rc == 0)
            rc = pass(&v, &err);
        if (once)
            break;
        if (rc < 0) {
            /* whatever failed (a chain away, a refusal) is tried again: the daemon only stops
             * on a signal */
            backoff = backoff ? (backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2) : (unsigned)interval;
            say(rc == GTEE_EIO ? "chain-unavailable" : "pass-failed", json_pack("{s:i}", "retry_s", (int)backoff),
                "%s (the pass is tried again in %u s)", err.msg, backoff);
        } else {
            backoff = 0;
        }
        for (long t = 0; t < 10 * (long)(backoff ? backoff : (unsigned)interval) && !stopping; t++)
            nanosleep(&(struct timespec){ .tv_nsec = 100000000L }, NULL);
        rc = 0;
    }
    if (stopping && rc == 0)
        say("stopped", NULL, "signal received: stopped between steps");
out:
    json_decref(v.noted);
    json_decref(v.state);
    gtee_ledger_close(v.l);
    if (rc == GTEE_EINVAL)
        return cli_usage_error("%s", err.msg);
    return rc < 0 ? cli_fail_err(rc, &err) : 0;
}

static int cmd_verifier_run(int argc, char **argv)
{
    return run_cmd(argc, argv, 0);
}

static int cmd_verifier_join(int argc, char **argv)
{
    return run_cmd(argc, argv, 1);
}

int cmd_verifier(int argc, char **argv)
{
    static const struct cli_cmd sub[] = {
        { "run", "Watch registrations and proofs; vote, and report equivocation", cmd_verifier_run },
        { "join", "Stake the key as a verifier", cmd_verifier_join },
    };

    return cli_dispatch(sub, GTEE_ARRAY_LEN(sub), argc, argv);
}
