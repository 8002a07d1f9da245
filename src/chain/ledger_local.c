/* The local ledger (docs/chain.md "The local ledger"): the Glacier contract's rules enforced
 * over a SQLite file on one machine, for a node that needs no chain. Each operation is one
 * transaction (WAL, synchronous FULL: durable once it returns, all or nothing); refusals carry
 * the contract's revert reasons. Where the contract waits for verifier votes, this ledger
 * verifies the registration's evidence itself under its policy and activates it at once. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/guard.h"
#include "chain/ledger_impl.h"
#include "gtee/crypto.h"

#define SCHEMA_VERSION 1
#define TEE_SIM 1
#define TEE_SNP 4

struct local {
    sqlite3 *db;
    char *path;
    struct gtee_policy evidence_policy;
    int has_evidence_policy;
    const struct gtee_anchors *anchors;
    gtee_ledger_clock_fn clock;
    void *clock_arg;
};

static const char schema[] =
    "CREATE TABLE ledger(id INTEGER PRIMARY KEY CHECK (id = 1), chain_id INTEGER NOT NULL, contract BLOB NOT NULL,"
    " governor BLOB NOT NULL, freshness INTEGER NOT NULL, epoch INTEGER NOT NULL, quorum INTEGER NOT NULL,"
    " allow_simulated INTEGER NOT NULL, min_stake BLOB NOT NULL, min_verifier_stake BLOB NOT NULL,"
    " reward_per_unit BLOB NOT NULL, commits INTEGER NOT NULL);"
    "CREATE TABLE measurements(m BLOB PRIMARY KEY);"
    "CREATE TABLE min_tcb(tee_type INTEGER PRIMARY KEY, tcb INTEGER NOT NULL);"
    "CREATE TABLE enclaves(id BLOB PRIMARY KEY, operator BLOB NOT NULL, tee_type INTEGER NOT NULL,"
    " status INTEGER NOT NULL, slashed INTEGER NOT NULL, tcb INTEGER NOT NULL, expires INTEGER NOT NULL,"
    " round INTEGER NOT NULL, last_seq INTEGER NOT NULL, last_hash BLOB NOT NULL, measurement BLOB NOT NULL,"
    " evidence_hash BLOB NOT NULL, evidence_time INTEGER NOT NULL, closed_at INTEGER NOT NULL,"
    " evidence_url TEXT NOT NULL, node_url TEXT NOT NULL);"
    "CREATE TABLE proofs(enclave BLOB NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, job_id BLOB NOT NULL,"
    " job_kind INTEGER NOT NULL, units INTEGER NOT NULL, operator BLOB NOT NULL, commit_no INTEGER NOT NULL,"
    " PRIMARY KEY (enclave, seq));"
    "CREATE TABLE rewards(operator BLOB PRIMARY KEY, units INTEGER NOT NULL);"
    "CREATE TABLE claims(commit_no INTEGER PRIMARY KEY, operator BLOB NOT NULL, units INTEGER NOT NULL);"
    "CREATE TABLE key_releases(receipt BLOB PRIMARY KEY, enclave BLOB NOT NULL, blob BLOB NOT NULL,"
    " grant_id BLOB NOT NULL, time INTEGER NOT NULL, commit_no INTEGER NOT NULL);"
    "CREATE TABLE blob_uses(blob BLOB PRIMARY KEY, uses INTEGER NOT NULL);"
    "CREATE TABLE slashings(enclave BLOB PRIMARY KEY, reporter BLOB NOT NULL, seq INTEGER NOT NULL,"
    " commit_no INTEGER NOT NULL);";

static struct local *L_of(struct gtee_ledger *l)
{
    return l->impl;
}

static uint64_t now_of(struct local *L)
{
    return L->clock ? L->clock(L->clock_arg) : (uint64_t)time(NULL);
}

static int db_fail(struct local *L, struct gtee_err *err, const char *what)
{
    int code = sqlite3_errcode(L->db);

    return GTEE_FAIL(err, GTEE_EIO, "ledger %s: %s: %s%s", L->path, what, sqlite3_errmsg(L->db),
                     code == SQLITE_BUSY ? " (another opener held the ledger past the busy timeout)" : "");
}

static int exec(struct local *L, const char *sql, struct gtee_err *err)
{
    if (sqlite3_exec(L->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(L, err, sql);
    return 0;
}

/* A statement with its parameters bound by fmt: 'a' an address (20 bytes), 'h' 32 bytes,
 * 'i' a uint64_t (stored as its two's-complement int64), 't' a string. */
static int prep(struct local *L, sqlite3_stmt **st, struct gtee_err *err, const char *sql, const char *fmt, ...)
{
    va_list ap;
    int rc = 0, k = 0;

    *st = NULL;
    if (sqlite3_prepare_v2(L->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_fail(L, err, "prepare");
    va_start(ap, fmt);
    for (const char *f = fmt; *f && k == SQLITE_OK; f++) {
        int i = (int)(f - fmt) + 1;

        switch (*f) {
        case 'a': k = sqlite3_bind_blob(*st, i, va_arg(ap, const uint8_t *), 20, SQLITE_TRANSIENT); break;
        case 'h': k = sqlite3_bind_blob(*st, i, va_arg(ap, const uint8_t *), 32, SQLITE_TRANSIENT); break;
        case 'i': k = sqlite3_bind_int64(*st, i, (sqlite3_int64)va_arg(ap, uint64_t)); break;
        case 't': k = sqlite3_bind_text(*st, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT); break;
        default: k = SQLITE_MISUSE; break;
        }
    }
    va_end(ap);
    if (k != SQLITE_OK) {
        rc = db_fail(L, err, "bind");
        sqlite3_finalize(*st);
        *st = NULL;
    }
    return rc;
}

/* Runs a statement that returns no row. */
static int run(struct local *L, struct gtee_err *err, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    int rc = 0, k = 0;

    if (sqlite3_prepare_v2(L->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(L, err, "prepare");
    va_start(ap, fmt);
    for (const char *f = fmt; *f && k == SQLITE_OK; f++) {
        int i = (int)(f - fmt) + 1;

        switch (*f) {
        case 'a': k = sqlite3_bind_blob(st, i, va_arg(ap, const uint8_t *), 20, SQLITE_TRANSIENT); break;
        case 'h': k = sqlite3_bind_blob(st, i, va_arg(ap, const uint8_t *), 32, SQLITE_TRANSIENT); break;
        case 'i': k = sqlite3_bind_int64(st, i, (sqlite3_int64)va_arg(ap, uint64_t)); break;
        case 't': k = sqlite3_bind_text(st, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT); break;
        default: k = SQLITE_MISUSE; break;
        }
    }
    va_end(ap);
    if (k != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
        rc = db_fail(L, err, "write");
    sqlite3_finalize(st);
    return rc;
}

static uint64_t col_u64(sqlite3_stmt *st, int i)
{
    return (uint64_t)sqlite3_column_int64(st, i);
}

static void col_blob(sqlite3_stmt *st, int i, uint8_t *out, size_t n)
{
    const void *p = sqlite3_column_blob(st, i);

    memset(out, 0, n);
    if (p && (size_t)sqlite3_column_bytes(st, i) == n)
        memcpy(out, p, n);
}

/* ---- transactions: every change is one, and so is every read of several rows ---- */
static int begin(struct local *L, int write, struct gtee_err *err)
{
    return exec(L, write ? "BEGIN IMMEDIATE" : "BEGIN", err);
}

static void rollback(struct local *L)
{
    (void)sqlite3_exec(L->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Numbers the change (the receipt's block), then commits it. */
static int commit(struct gtee_ledger *l, struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    struct local *L = L_of(l);
    sqlite3_stmt *st = NULL;
    uint8_t msg[20 + 8 + 20];
    uint64_t n = 0;
    int rc;

    TRY(run(L, err, "UPDATE ledger SET commits = commits + 1", ""));
    TRY(prep(L, &st, err, "SELECT commits FROM ledger", ""));
    ENSURE(sqlite3_step(st) == SQLITE_ROW, err, GTEE_EIO, "ledger %s: no ledger row", L->path);
    n = col_u64(st, 0);
    TRY(exec(L, "COMMIT", err));
    if (receipt) {
        memset(receipt, 0, sizeof(*receipt));
        receipt->block = n;
        /* a name for the change: the ledger, its number and the sender */
        memcpy(msg, l->contract, 20);
        for (int i = 0; i < 8; i++)
            msg[20 + i] = (uint8_t)(n >> (56 - 8 * i));
        memcpy(msg + 28, l->operator_addr, 20);
        gtee_keccak256(msg, sizeof(msg), receipt->tx_hash);
    }
out:
    sqlite3_finalize(st);
    return rc;
}

/* ---- the contract's state ---- */
struct enclave {
    int found;
    uint8_t operator_addr[20];
    unsigned tee_type, status;
    int slashed;
    uint32_t tcb;
    uint64_t expires, round, last_seq, evidence_time, closed_at;
    uint8_t last_hash[32], measurement[32], evidence_hash[32];
};

static int load_enclave(struct local *L, const uint8_t id[20], struct enclave *e, struct gtee_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc, k;

    memset(e, 0, sizeof(*e));
    TRY(prep(L, &st, err,
             "SELECT operator, tee_type, status, slashed, tcb, expires, round, last_seq, last_hash, measurement,"
             " evidence_hash, evidence_time, closed_at FROM enclaves WHERE id = ?",
             "a", id));
    k = sqlite3_step(st);
    ENSURE(k == SQLITE_ROW || k == SQLITE_DONE, err, GTEE_EIO, "ledger %s: %s", L->path, sqlite3_errmsg(L->db));
    if (k == SQLITE_DONE)
        goto out;
    e->found = 1;
    col_blob(st, 0, e->operator_addr, 20);
    e->tee_type = (unsigned)sqlite3_column_int(st, 1);
    e->status = (unsigned)sqlite3_column_int(st, 2);
    e->slashed = sqlite3_column_int(st, 3);
    e->tcb = (uint32_t)sqlite3_column_int64(st, 4);
    e->expires = col_u64(st, 5);
    e->round = col_u64(st, 6);
    e->last_seq = col_u64(st, 7);
    col_blob(st, 8, e->last_hash, 32);
    col_blob(st, 9, e->measurement, 32);
    col_blob(st, 10, e->evidence_hash, 32);
    e->evidence_time = col_u64(st, 11);
    e->closed_at = col_u64(st, 12);
out:
    sqlite3_finalize(st);
    return rc;
}

static int load_policy(struct local *L, struct gtee_ledger_policy *p, uint8_t governor[20], struct gtee_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    memset(p, 0, sizeof(*p));
    TRY(prep(L, &st, err,
             "SELECT governor, freshness, epoch, quorum, allow_simulated, min_stake, min_verifier_stake,"
             " reward_per_unit FROM ledger",
             ""));
    ENSURE(sqlite3_step(st) == SQLITE_ROW, err, GTEE_EIO, "ledger %s: no ledger row", L->path);
    if (governor)
        col_blob(st, 0, governor, 20);
    p->freshness = col_u64(st, 1);
    p->epoch = col_u64(st, 2);
    p->quorum = (uint16_t)sqlite3_column_int(st, 3);
    p->allow_simulated = sqlite3_column_int(st, 4);
    col_blob(st, 5, p->min_stake, 32);
    col_blob(st, 6, p->min_verifier_stake, 32);
    col_blob(st, 7, p->reward_per_unit, 32);
out:
    sqlite3_finalize(st);
    return rc;
}

/* One value of a query with one row (or none: *found 0); fmt is "" or one blob ('a', 'h'). */
static int query_u64(struct local *L, uint64_t *v, int *found, struct gtee_err *err, const char *sql, const char *fmt,
                     const uint8_t *arg)
{
    sqlite3_stmt *st = NULL;
    int rc, k;

    *v = 0;
    *found = 0;
    TRY(prep(L, &st, err, sql, fmt, arg));
    k = sqlite3_step(st);
    ENSURE(k == SQLITE_ROW || k == SQLITE_DONE, err, GTEE_EIO, "ledger %s: %s", L->path, sqlite3_errmsg(L->db));
    if (k == SQLITE_ROW) {
        *found = 1;
        *v = col_u64(st, 0);
    }
out:
    sqlite3_finalize(st);
    return rc;
}

static int accepted(struct local *L, const uint8_t m[32], int *yes, struct gtee_err *err)
{
    uint64_t v;

    return query_u64(L, &v, yes, err, "SELECT 1 FROM measurements WHERE m = ?", "h", m);
}

static int min_tcb_of(struct local *L, unsigned tee_type, uint32_t *tcb, struct gtee_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc, k;

    *tcb = 0;
    TRY(prep(L, &st, err, "SELECT tcb FROM min_tcb WHERE tee_type = ?", "i", (uint64_t)tee_type));
    k = sqlite3_step(st);
    ENSURE(k == SQLITE_ROW || k == SQLITE_DONE, err, GTEE_EIO, "ledger %s: %s", L->path, sqlite3_errmsg(L->db));
    if (k == SQLITE_ROW)
        *tcb = (uint32_t)sqlite3_column_int64(st, 0);
out:
    sqlite3_finalize(st);
    return rc;
}

/* isActive(enclaveId) */
static int is_active(struct local *L, const struct enclave *e, int *active, struct gtee_err *err)
{
    struct gtee_ledger_policy p;
    uint32_t min = 0;
    int ok = 0, rc;

    *active = 0;
    if (!e->found || e->status != GTEE_ENCLAVE_ACTIVE || now_of(L) >= e->expires)
        return 0;
    TRY(load_policy(L, &p, NULL, err));
    TRY(accepted(L, e->measurement, &ok, err));
    TRY(min_tcb_of(L, e->tee_type, &min, err));
    *active = ok && gtee_ledger_tcb_meets(e->tee_type, e->tcb, min) && (e->tee_type != TEE_SIM || p.allow_simulated);
out:
    return rc;
}

/* ---- signatures, as contracts/Eip712.sol's recover ---- */
static const uint8_t half_order[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
};

static int refuse(struct gtee_err *err, const char *reason)
{
    return GTEE_FAIL(err, GTEE_EPOLICY, "the local ledger refused: %s", reason);
}

static int recover(const uint8_t digest[32], const uint8_t sig[65], uint8_t pub[65], uint8_t signer[20],
                   struct gtee_err *err)
{
    uint8_t s[65];

    if (sig[64] != 27 && sig[64] != 28)
        return refuse(err, "signature: v is not 27 or 28");
    if (memcmp(sig + 32, half_order, 32) > 0)
        return refuse(err, "signature: s above n/2");
    memcpy(s, sig, 64);
    s[64] = (uint8_t)(sig[64] - 27);
    if (gtee_secp256k1_recover(digest, s, pub) != 0 || gtee_eth_address(pub, signer) != 0)
        return refuse(err, "signature: does not recover");
    return 0;
}

/* ---- registration ---- */

/* Registry.checkEvidence, then what the verifiers would vote on: the evidence itself. */
static int check_evidence(struct gtee_ledger *l, const struct gtee_ledger_registration *r, struct gtee_err *err)
{
    static const unsigned tee_of_type[] = { 0, 0, GTEE_TEE_SGX, GTEE_TEE_TDX, GTEE_TEE_SNP };
    struct local *L = L_of(l);
    struct gtee_ledger_policy p;
    struct gtee_proof_domain d;
    struct gtee_binding_expect want = {0};
    struct gtee_verdict *v = NULL;
    uint8_t consent[32], pub[65], signer[20], h[32], m[32];
    char t1[GTEE_LEDGER_TCB_TEXT_MAX], t2[GTEE_LEDGER_TCB_TEXT_MAX];
    uint64_t now = now_of(L);
    uint32_t min = 0;
    int ok = 0, rc;

    TRY(load_policy(L, &p, NULL, err));
    ENSURE(r->tee_type >= TEE_SIM && r->tee_type <= TEE_SNP, err, GTEE_EPOLICY,
           "the local ledger refused: registration: unknown TEE type");
    ENSURE(r->tee_type != TEE_SIM || p.allow_simulated, err, GTEE_EPOLICY,
           "the local ledger refused: registration: simulated TEE not allowed by policy");
    TRY(accepted(L, r->measurement, &ok, err));
    ENSURE(ok, err, GTEE_EPOLICY, "the local ledger refused: registration: measurement not accepted");
    TRY(min_tcb_of(L, r->tee_type, &min, err));
    ENSURE(gtee_ledger_tcb_meets(r->tee_type, r->tcb, min), err, GTEE_EPOLICY,
           "the local ledger refused: registration: TCB below the minimum");
    ENSURE(r->evidence_time <= now, err, GTEE_EPOLICY, "the local ledger refused: registration: evidence from the future");
    ENSURE(now - r->evidence_time <= p.freshness, err, GTEE_EPOLICY,
           "the local ledger refused: registration: evidence older than the freshness window");
    gtee_ledger_domain(l, &d);
    gtee_proof_consent_hash(&d, r->enclave_id, l->operator_addr, r->evidence_hash, consent);
    TRY(recover(consent, r->consent_sig, pub, signer, err));
    ENSURE(!memcmp(signer, r->enclave_id, 20), err, GTEE_EPOLICY,
           "the local ledger refused: registration: the enclave did not sign this operator's consent");

    /* In place of the verifiers' votes: the evidence, verified here under the ledger's
     * policy, must be the one the registration names and bind the consenting Enclave key. */
    ENSURE(L->has_evidence_policy, err, GTEE_EINVAL,
           "ledger %s: no evidence policy given: the local ledger verifies registrations' evidence itself", L->path);
    ENSURE(r->evidence && r->evidence_len, err, GTEE_EPOLICY,
           "the local ledger refused: registration: no evidence given (the local ledger verifies it itself)");
    gtee_keccak256(r->evidence, r->evidence_len, h);
    ENSURE(!memcmp(h, r->evidence_hash, 32), err, GTEE_EPOLICY,
           "the local ledger refused: registration: the evidence is not the one evidenceHash names");
    v = calloc(1, sizeof(*v));
    ENSURE(v, err, GTEE_ENOMEM, "ledger: out of memory");
    want.has_keys = true;
    memcpy(want.enclave_pub, pub, 65);
    memcpy(want.channel_pub, r->channel_pub, 65);
    want.has_enclave_id = true;
    memcpy(want.enclave_id, r->enclave_id, 20);
    rc = gtee_evidence_verify_bound(r->evidence, r->evidence_len, r->collateral, L->anchors, &L->evidence_policy,
                                    &want, (int64_t)now, v, err);
    if (rc == GTEE_EPOLICY || rc == GTEE_EFORMAT || rc == GTEE_EAUTH) {
        gtee_err_wrap(err, "the local ledger refused: registration: the evidence does not verify under the "
                           "ledger's policy: ");
        rc = GTEE_EPOLICY;
        goto out;
    }
    TRY(rc);
    ENSURE(v->accepted && v->claims.binding.bound, err, GTEE_EPOLICY,
           "the local ledger refused: registration: the evidence does not verify under the ledger's policy (%s%s%s)",
           v->n_reasons ? v->reasons[0].code : "not bound to the Enclave key", v->n_reasons ? ": " : "",
           v->n_reasons ? v->reasons[0].msg : "");
    ENSURE(r->tee_type == TEE_SIM ? v->claims.simulated : (!v->claims.simulated && v->claims.tee == tee_of_type[r->tee_type]),
           err, GTEE_EPOLICY, "the local ledger refused: registration: the evidence is not of the TEE type registered");
    gtee_ledger_measurement_of(&v->claims, m);
    ENSURE(!memcmp(m, r->measurement, 32), err, GTEE_EPOLICY,
           "the local ledger refused: registration: the measurement is not the evidence's");
    /* The minimum was checked against the declared figure, as the contract checks it: it
     * holds only if the figure is the evidence's own (docs/chain.md, "The TCB rule"). */
    ENSURE(v->claims.tcb_number == r->tcb, err, GTEE_EPOLICY,
           "the local ledger refused: registration: the declared TCB %s is not the evidence's TCB %s",
           gtee_ledger_tcb_text(r->tee_type, r->tcb, t1), gtee_ledger_tcb_text(r->tee_type, v->claims.tcb_number, t2));
out:
    free(v);
    return rc;
}

static int local_register(struct gtee_ledger *l, const struct gtee_ledger_registration *r, int renew,
                          struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    struct local *L = L_of(l);
    struct gtee_ledger_policy p;
    struct enclave e;
    uint64_t now = now_of(L);
    static const uint8_t zero[32];
    int rc;

    TRY(begin(L, 1, err));
    TRY(load_enclave(L, r->enclave_id, &e, err));
    if (renew) {
        ENSURE(e.found && !memcmp(e.operator_addr, l->operator_addr, 20), err, GTEE_EPOLICY,
               "the local ledger refused: registration: not the enclave's operator");
        ENSURE(e.status == GTEE_ENCLAVE_ACTIVE || e.status == GTEE_ENCLAVE_PENDING, err, GTEE_EPOLICY,
               "the local ledger refused: registration: not active or pending");
    } else {
        ENSURE(!e.found || e.status == GTEE_ENCLAVE_UNREGISTERED ||
                   (e.status == GTEE_ENCLAVE_REJECTED && !memcmp(e.operator_addr, l->operator_addr, 20)),
               err, GTEE_EPOLICY, "the local ledger refused: registration: enclave already registered");
    }
    TRY(check_evidence(l, r, err));
    TRY(load_policy(L, &p, NULL, err));
    /* the contract's checked arithmetic reverts where this would wrap */
    ENSURE(now + p.epoch >= now, err, GTEE_EPOLICY, "the local ledger refused: the epoch overflows the expiry");
    /* verified here: approved at once, for one epoch from now */
    if (!e.found)
        TRY(run(L, err,
                "INSERT INTO enclaves(id, operator, tee_type, status, slashed, tcb, expires, round, last_seq, last_hash,"
                " measurement, evidence_hash, evidence_time, closed_at, evidence_url, node_url)"
                " VALUES (?, ?, 0, 0, 0, 0, 0, 0, 0, ?, ?, ?, 0, 0, '', '')",
                "aahhh", r->enclave_id, l->operator_addr, zero, zero, zero));
    TRY(run(L, err,
            "UPDATE enclaves SET operator = ?, tee_type = ?, status = 2, tcb = ?, expires = ?, round = round + 1,"
            " measurement = ?, evidence_hash = ?, evidence_time = ?, evidence_url = ?, node_url = ? WHERE id = ?",
            "aiiihhitta", l->operator_addr, (uint64_t)r->tee_type, (uint64_t)r->tcb, now + p.epoch, r->measurement,
            r->evidence_hash, r->evidence_time, r->evidence_url, r->node_url, r->enclave_id));
    TRY(commit(l, receipt, err));
out:
    if (rc < 0)
        rollback(L);
    return rc;
}

static int local_now(struct gtee_ledger *l, uint64_t *t, struct gtee_err *err)
{
    (void)err;
    *t = now_of(L_of(l));
    return 0;
}

static int local_standing(struct gtee_ledger *l, const uint8_t id[20], struct gtee_ledger_standing *s,
                          struct gtee_err *err)
{
    struct local *L = L_of(l);
    struct enclave e;
    int rc;

    TRY(begin(L, 0, err));
    TRY(load_enclave(L, id, &e, err));
    TRY(is_active(L, &e, &s->active, err));
    s->status = e.found ? (enum gtee_enclave_status)e.status : GTEE_ENCLAVE_UNREGISTERED;
    s->slashed = e.slashed;
    s->last_seq = e.last_seq;
    s->expires = e.found ? e.expires : 0;
    memcpy(s->last_hash, e.last_hash, 32);
    TRY(exec(L, "COMMIT", err));
out:
    if (rc < 0)
        rollback(L);
    return rc;
}

/* ---- proofs and rewards ---- */
static int credit(struct local *L, const uint8_t op[20], uint64_t units, struct gtee_err *err)
{
    uint64_t have = 0;
    int found = 0, rc;

    TRY(query_u64(L, &have, &found, err, "SELECT units FROM rewards WHERE operator = ?", "a", op));
    ENSURE(have + units >= have, err, GTEE_EPOLICY, "the local ledger refused: rewards: units overflow");
    TRY(run(L, err, "INSERT INTO rewards(operator, units) VALUES (?, ?) ON CONFLICT(operator) DO UPDATE SET units = ?",
            "aii", op, have + units, have + units));
out:
    return rc;
}

/* WorkProofs.accept, for each proof in order; all or nothing. */
static int local_submit(struct gtee_ledger *l, const struct gtee_proof *p, size_t n, struct gtee_evm_receipt *receipt,
                        struct gtee_err *err)
{
    struct local *L = L_of(l);
    uint64_t commit_no = 0;
    int found = 0, rc;

    TRY(begin(L, 1, err));
    TRY(query_u64(L, &commit_no, &found, err, "SELECT commits + 1 FROM ledger", "", NULL));
    for (size_t i = 0; i < n; i++) {
        struct enclave e;
        uint8_t h[32], pub[65], signer[20];
        int active = 0;

        gtee_proof_hash(&p[i], h);
        TRY(recover(h, p[i].sig, pub, signer, err));
        ENSURE(!memcmp(signer, p[i].enclave_id, 20), err, GTEE_EPOLICY,
               "the local ledger refused: proof: not signed by its Enclave ID");
        TRY(load_enclave(L, p[i].enclave_id, &e, err));
        TRY(is_active(L, &e, &active, err));
        ENSURE(active, err, GTEE_EPOLICY, "the local ledger refused: proof: enclave not active");
        ENSURE(p[i].seq == e.last_seq + 1, err, GTEE_EPOLICY,
               "the local ledger refused: proof: seq is not one past the enclave's last");
        ENSURE(!memcmp(p[i].prev_hash, e.last_hash, 32), err, GTEE_EPOLICY,
               "the local ledger refused: proof: prevHash is not the enclave's last proof");
        ENSURE(p[i].end_time >= p[i].start_time, err, GTEE_EPOLICY,
               "the local ledger refused: proof: endTime before startTime");
        TRY(run(L, err, "UPDATE enclaves SET last_seq = ?, last_hash = ? WHERE id = ?", "iha", p[i].seq, h,
                p[i].enclave_id));
        TRY(run(L, err,
                "INSERT INTO proofs(enclave, seq, hash, job_id, job_kind, units, operator, commit_no)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                "aihhiiai", p[i].enclave_id, p[i].seq, h, p[i].job_id, (uint64_t)p[i].job_kind, p[i].units,
                e.operator_addr, commit_no));
        TRY(credit(L, e.operator_addr, p[i].units, err));
    }
    TRY(commit(l, receipt, err));
out:
    if (rc < 0)
        rollback(L);
    return rc;
}

static void u64_be32(uint64_t v, uint8_t out[32])
{
    memset(out, 0, 32);
    for (int i = 0; i < 8; i++)
        out[31 - i] = (uint8_t)(v >> (8 * i));
}

static int local_rewards(struct gtee_ledger *l, const uint8_t op[20], struct gtee_ledger_rewards *r,
                         struct gtee_err *err)
{
    struct local *L = L_of(l);
    struct gtee_ledger_policy p;
    uint64_t units = 0;
    int found = 0, rc;

    TRY(begin(L, 0, err));
    TRY(query_u64(L, &units, &found, err, "SELECT units FROM rewards WHERE operator = ?", "a", op));
    TRY(load_policy(L, &p, NULL, err));
    TRY(exec(L, "COMMIT", err));
    u64_be32(units, r->units);
    memcpy(r->reward_per_unit, p.reward_per_unit, 32);
    memset(r->pool, 0, 32); /* no money moves on the local ledger */
out:
    if (rc < 0)
        rollback(L);
    return rc;
}

/* claimRewards(): the units are zeroed and the claim recorded; nothing is paid. */
static int local_claim(struct gtee_ledger *l, uint8_t claimed[32], struct gtee_evm_receipt *receipt,
                       struct gtee_err *err)
{
    struct local *L = L_of(l);
    uint64_t units = 0, commit_no = 0;
    int found = 0, rc;

    TRY(begin(L, 1, err));
    TRY(query_u64(L, &units, &found, err, "SELECT units FROM rewards WHERE operator = ?", "a", l->operator_addr));
    ENSURE(units > 0, err, GTEE_EPOLICY, "the local ledger refused: rewards: nothing to claim");
    TRY(query_u64(L, &commit_no, &found, err, "SELECT commits + 1 FROM ledger", "", NULL));
    TRY(run(L, err, "UPDATE rewards SET units = 0 WHERE operator = ?", "a", l->operator_addr));
    TRY(run(L, err, "INSERT INTO claims(commit_no, operator, units) VALUES (?, ?, ?)", "iai", commit_no,
            l->operator_addr, units));
    TRY(commit(l, receipt, err));
    u64_be32(units, claimed);
out:
    if (rc < 0)
        rollback(L);
    return rc;
}

/* reportEquivocation(a, b): the enclave revoked and marked slashed (no stake to move here). */
static int local_equivocation(struct gtee_ledger *l, const struct gtee_proof *a, const struct gtee_proof *b,
                              struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    struct local *L = L_of(l);
    struct enclave e;
    uint8_t ha[32], hb[32], pub[65], sa[20], sb[20];
    uint64_t commit_no = 0;
    int found = 0, rc;

    TRY(begin(L, 1, err));
    ENSURE(!memcmp(a->enclave_id, b->enclave_id, 20) && a->seq == b->seq, err, GTEE_EPOLICY,
           "the local ledger refused: equivocation: not one enclave and one seq");
    gtee_proof_hash(a, ha);
    gtee_proof_hash(b, hb);
    ENSURE(memcmp(ha, hb, 32), err, GTEE_EPOLICY, "the local ledger refused: equivocation: the same proof twice");
    TRY(recover(ha, a->sig, pub, sa, err));
    TRY(recover(hb, b->sig, pub, sb, err));
    ENSURE(!memcmp(sa, a->enclave_id, 20) && !memcmp(sb, a->enclave_id, 20), err, GTEE_EPOLICY,
           "the local ledger refused: equivocation: not both signed by the enclave");
    TRY(load_enclave(L, a->enclave_id, &e, err));
    ENSURE(e.found && e.status != GTEE_ENCLAVE_UNREGISTERED, err, GTEE_EPOLICY,
           "the local ledger refused: equivocation: enclave not registered");
    ENSURE(!e.slashed, err, GTEE_EPOLICY, "the local ledger refused: equivocation: already slashed");
    TRY(query_u64(L, &commit_no, &found, err, "SELECT commits + 1 FROM ledger", "", NULL));
    TRY(run(L, err,
            "UPDATE enclaves SET slashed = 1, closed_at = CASE WHEN status = 4 THEN closed_at ELSE ? END, status = 4"
            " WHERE id = ?",
            "ia", now_of(L), a->enclave_id));
    TRY(run(L, err, "INSERT INTO slashings(enclave, reporter, seq, commit_no) VALUES (?, ?, ?, ?)", "aaii",
            a->enclave_id, l->operator_addr, a->seq, commit_no));
    TRY(commit(l, receipt, err));
out:
    if (rc < 0)
        rollback(L);
    return rc;
}

static int is_governor(struct local *L, const uint8_t who[20], int *yes, struct gtee_err *err)
{
    struct gtee_ledger_policy p;
    uint8_t gov[20];
    int rc;

    TRY(load_policy(L, &p, gov, err));
    *yes = !memcmp(gov, who, 20);
out:
    return rc;
}

static int local_revoke(struct gtee_ledger *l, const uint8_t id[20], struct gtee_evm_receipt *receipt,
                        struct gtee_err *err)
{
    struct local *L = L_of(l);
    struct enclave e;
    int gov = 0, rc;

    TRY(begin(L, 1, err));
    TRY(load_enclave(L, id, &e, err));
    TRY(is_governor(L, l->operator_addr, &gov, err));
    ENSURE(gov || (e.found && !memcmp(e.operator_addr, l->operator_addr, 20)), err, GTEE_EPOLICY,
           "the local ledger refused: revoke: not the governor or the operator");
    ENSURE(e.found && e.status != GTEE_ENCLAVE_UNREGISTERED && e.status != GTEE_ENCLAVE_REVOKED, err, GTEE_EPOLICY,
           "the local ledger refused: revoke: not registered");
    TRY(run(L, err, "UPDATE enclaves SET status = 4, closed_at = ? WHERE id = ?", "ia", now_of(L), id));
    TRY(commit(l, receipt, err));
out:
    if (rc < 0)
        rollback(L);
    return rc;
}

static int local_key_release(struct gtee_ledger *l, const uint8_t id[20], const uint8_t blob[32],
                             const uint8_t grant[32], uint64_t time, const uint8_t sig[65],
                             struct gtee_evm_receipt *receipt, struct gtee_err *err)
{
    struct local *L = L_of(l);
    struct gtee_proof_domain d;
    struct enclave e;
    uint8_t h[32], pub[65], signer[20];
    uint64_t uses = 0, commit_no = 0, v = 0;
    int found = 0, active = 0, rc;

    TRY(begin(L, 1, err));
    gtee_ledger_domain(l, &d);
    gtee_proof_keyrelease_hash(&d, id, blob, grant, time, h);
    TRY(recover(h, sig, pub, signer, err));
    ENSURE(!memcmp(signer, id, 20), err, GTEE_EPOLICY, "the local ledger refused: key release: not signed by the enclave");
    TRY(load_enclave(L, id, &e, err));
    ENSURE(e.found && !memcmp(e.operator_addr, l->operator_addr, 20), err, GTEE_EPOLICY,
           "the local ledger refused: key release: not the enclave's operator");
    TRY(is_active(L, &e, &active, err));
    ENSURE(active, err, GTEE_EPOLICY, "the local ledger refused: key release: enclave not active");
    TRY(query_u64(L, &v, &found, err, "SELECT 1 FROM key_releases WHERE receipt = ?", "h", h));
    ENSURE(!found, err, GTEE_EPOLICY, "the local ledger refused: key release: receipt already recorded");
    TRY(query_u64(L, &commit_no, &found, err, "SELECT commits + 1 FROM ledger", "", NULL));
    TRY(query_u64(L, &uses, &found, err, "SELECT uses FROM blob_uses WHERE blob = ?", "h", blob));
    TRY(run(L, err, "INSERT INTO key_releases(receipt, enclave, blob, grant_id, time, commit_no) VALUES (?, ?, ?, ?, ?, ?)",
            "hahhii", h, id, blob, grant, time, commit_no));
    TRY(run(L, err, "INSERT INTO blob_uses(blob, uses) VALUES (?, ?) ON CONFLICT(blob) DO UPDATE SET uses = ?", "hii",
            blob, uses + 1, uses + 1));
    TRY(commit(l, receipt, err));
out:
    if (rc < 0)
        rollback(L);
    return rc;
}

static int local_blob_uses(struct gtee_ledger *l, const uint8_t blob[32], uint64_t *uses, struct gtee_err *err)
{
    int found = 0;

    return query_u64(L_of(l), uses, &found, err, "SELECT uses FROM blob_uses WHERE blob = ?", "h", blob);
}

static int local_key_releases(struct gtee_ledger *l, const uint8_t blob[32], struct gtee_ledger_key_release **out,
                              size_t *n, struct gtee_err *err)
{
    struct local *L = L_of(l);
    struct gtee_ledger_key_release *grown;
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc, k;

    TRY(begin(L, 0, err));
    TRY(prep(L, &st, err, "SELECT enclave, grant_id, time, commit_no FROM key_releases WHERE blob = ? ORDER BY commit_no",
             "h", blob));
    while ((k = sqlite3_step(st)) == SQLITE_ROW) {
        struct gtee_ledger_key_release *r;

        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            grown = realloc(*out, cap * sizeof(**out));
            ENSURE(grown, err, GTEE_ENOMEM, "ledger: out of memory");
            *out = grown;
        }
        r = &(*out)[(*n)++];
        memset(r, 0, sizeof(*r));
        col_blob(st, 0, r->enclave_id, 20);
        col_blob(st, 1, r->grant_id, 32);
        r->time = col_u64(st, 2);
        r->block = col_u64(st, 3);
        r->uses = *n; /* each receipt counts once, in the order recorded */
    }
    ENSURE(k == SQLITE_DONE, err, GTEE_EIO, "ledger %s: %s", L->path, sqlite3_errmsg(L->db));
    sqlite3_finalize(st);
    st = NULL;
    TRY(exec(L, "COMMIT", err));
out:
    sqlite3_finalize(st);
    if (rc < 0) {
        rollback(L);
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* ---- governance ---- */
static int local_policy(struct gtee_ledger *l, struct gtee_ledger_policy *p, uint8_t governor[20],
                        struct gtee_err *err)
{
    return load_policy(L_of(l), p, governor, err);
}

static int governed(struct gtee_ledger *l, struct gtee_err *err)
{
    struct local *L = L_of(l);
    int gov = 0, rc;

    TRY(begin(L, 1, err));
    TRY(is_governor(L, l->operator_addr, &gov, err));
    if (!gov) {
        rollback(L);
        rc = refuse(err, "governance: not the governor");
    }
out:
    return rc;
}

static int local_set_policy(struct gtee_ledger *l, const struct gtee_ledger_policy *p, struct gtee_evm_receipt *receipt,
                            struct gtee_err *err)
{
    struct local *L = L_of(l);
    int rc;

    TRY(governed(l, err));
    ENSURE(p->quorum >= 1, err, GTEE_EPOLICY, "the local ledger refused: governance: quorum must be at least 1");
    TRY(run(L, err,
            "UPDATE ledger SET freshness = ?, epoch = ?, quorum = ?, allow_simulated = ?, min_stake = ?,"
            " min_verifier_stake = ?, reward_per_unit = ?",
            "iiiihhh", p->freshness, p->epoch, (uint64_t)p->quorum, (uint64_t)(p->allow_simulated != 0), p->min_stake,
            p->min_verifier_stake, p->reward_per_unit));
    TRY(commit(l, receipt, err));
out:
    if (rc < 0)
        rollback(L);
    return rc;
}

static int local_set_measurement(struct gtee_ledger *l, const uint8_t m[32], int yes, struct gtee_evm_receipt *receipt,
                                 struct gtee_err *err)
{
    struct local *L = L_of(l);
    int rc;

    TRY(governed(l, err));
    if (yes)
        TRY(run(L, err, "INSERT OR IGNORE INTO measurements(m) VALUES (?)", "h", m));
    else
        TRY(run(L, err, "DELETE FROM measurements WHERE m = ?", "h", m));
    TRY(commit(l, receipt, err));
out:
    if (rc < 0)
        rollback(L);
    return rc;
}

static int local_set_min_tcb(struct gtee_ledger *l, uint8_t tee_type, uint32_t tcb, struct gtee_evm_receipt *receipt,
                             struct gtee_err *err)
{
    struct local *L = L_of(l);
    int rc;

    TRY(governed(l, err));
    TRY(run(L, err, "INSERT INTO min_tcb(tee_type, tcb) VALUES (?, ?) ON CONFLICT(tee_type) DO UPDATE SET tcb = ?",
            "iii", (uint64_t)tee_type, (uint64_t)tcb, (uint64_t)tcb));
    TRY(commit(l, receipt, err));
out:
    if (rc < 0)
        rollback(L);
    return rc;
}

static int local_measurement_accepted(struct gtee_ledger *l, const uint8_t m[32], int *yes, struct gtee_err *err)
{
    return accepted(L_of(l), m, yes, err);
}

static int local_min_tcb(struct gtee_ledger *l, uint8_t tee_type, uint32_t *tcb, struct gtee_err *err)
{
    return min_tcb_of(L_of(l), tee_type, tcb, err);
}

static void local_close(struct gtee_ledger *l)
{
    struct local *L = L_of(l);

    if (L) {
        sqlite3_close(L->db);
        free(L->path);
        free(L);
    }
    free(l);
}

/* ---- listing ---- */
static char *col_strdup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return strdup(t ? (const char *)t : "");
}

static int local_enclave(struct gtee_ledger *l, const uint8_t id[20], struct gtee_ledger_enclave *out,
                         struct gtee_err *err)
{
    struct local *L = L_of(l);
    sqlite3_stmt *st = NULL;
    struct enclave e;
    int rc, k;

    TRY(begin(L, 0, err));
    TRY(load_enclave(L, id, &e, err));
    TRY(is_active(L, &e, &out->active, err));
    out->status = e.found ? (enum gtee_enclave_status)e.status : GTEE_ENCLAVE_UNREGISTERED;
    memcpy(out->operator_addr, e.operator_addr, 20);
    out->tee_type = (uint8_t)e.tee_type;
    out->slashed = e.slashed;
    out->tcb = e.tcb;
    out->round = (uint32_t)e.round;
    out->approved_round = e.status == GTEE_ENCLAVE_ACTIVE ? out->round : 0;
    out->expires = e.expires;
    out->evidence_time = e.evidence_time;
    out->last_seq = e.last_seq;
    memcpy(out->measurement, e.measurement, 32);
    memcpy(out->evidence_hash, e.evidence_hash, 32);
    TRY(prep(L, &st, err, "SELECT evidence_url, node_url FROM enclaves WHERE id = ?", "a", id));
    k = sqlite3_step(st);
    ENSURE(k == SQLITE_ROW || k == SQLITE_DONE, err, GTEE_EIO, "ledger %s: %s", L->path, sqlite3_errmsg(L->db));
    out->evidence_url = k == SQLITE_ROW ? col_strdup(st, 0) : strdup("");
    out->node_url = k == SQLITE_ROW ? col_strdup(st, 1) : strdup("");
    ENSURE(out->evidence_url && out->node_url, err, GTEE_ENOMEM, "ledger: out of memory");
    sqlite3_finalize(st);
    st = NULL;
    TRY(exec(L, "COMMIT", err));
out:
    sqlite3_finalize(st);
    if (rc < 0) {
        rollback(L);
        gtee_ledger_enclave_free(out);
    }
    return rc;
}

static int local_enclave_ids(struct gtee_ledger *l, uint8_t (**ids)[20], size_t *n, struct gtee_err *err)
{
    struct local *L = L_of(l);
    sqlite3_stmt *st = NULL;
    uint8_t (*grown)[20];
    size_t cap = 0;
    int rc, k;

    TRY(begin(L, 0, err));
    TRY(prep(L, &st, err, "SELECT id FROM enclaves ORDER BY rowid", ""));
    while ((k = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            grown = realloc(*ids, cap * sizeof(**ids));
            ENSURE(grown, err, GTEE_ENOMEM, "ledger: out of memory");
            *ids = grown;
        }
        col_blob(st, 0, (*ids)[(*n)++], 20);
    }
    ENSURE(k == SQLITE_DONE, err, GTEE_EIO, "ledger %s: %s", L->path, sqlite3_errmsg(L->db));
    sqlite3_finalize(st);
    st = NULL;
    TRY(exec(L, "COMMIT", err));
out:
    sqlite3_finalize(st);
    if (rc < 0) {
        rollback(L);
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return rc;
}

static const struct ledger_ops local_ops = {
    .kind = "local",
    .close = local_close,
    .reg = local_register,
    .standing = local_standing,
    .now = local_now,
    .submit = local_submit,
    .rewards = local_rewards,
    .claim = local_claim,
    .equivocation = local_equivocation,
    .revoke = local_revoke,
    .key_release = local_key_release,
    .blob_uses = local_blob_uses,
    .key_releases = local_key_releases,
    .policy = local_policy,
    .set_policy = local_set_policy,
    .set_measurement = local_set_measurement,
    .set_min_tcb = local_set_min_tcb,
    .measurement_accepted = local_measurement_accepted,
    .min_tcb = local_min_tcb,
    .enclave = local_enclave,
    .enclave_ids = local_enclave_ids,
};

/* The schema and the ledger row, made once by whichever opener comes first. */
static int init(struct gtee_ledger *l, const struct gtee_ledger_local_options *o, struct gtee_err *err)
{
    struct local *L = L_of(l);
    sqlite3_stmt *st = NULL;
    uint64_t version = 0;
    int found = 0, rc;
    char sql[64];

    TRY(begin(L, 1, err));
    TRY(query_u64(L, &version, &found, err, "PRAGMA user_version", "", NULL));
    /* an empty file: a ledger whose making never committed; only a maker may make it */
    ENSURE(version != 0 || o->create, err, GTEE_EFORMAT,
           "ledger %s is empty, not a ledger (was its making interrupted? remove it and make it again)", L->path);
    if (version == 0) {
        uint8_t contract[20];

        ENSURE(o->chain_id >= 1, err, GTEE_EINVAL, "ledger %s: a chain id from 1 (the proofs' domain needs one)",
               L->path);

        ENSURE(gtee_random(contract, sizeof(contract)) == 0, err, GTEE_ECRYPTO, "ledger: no randomness");
        TRY(exec(L, schema, err));
        TRY(run(L, err,
                "INSERT INTO ledger(id, chain_id, contract, governor, freshness, epoch, quorum, allow_simulated,"
                " min_stake, min_verifier_stake, reward_per_unit, commits) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                "iaaiiiihhh", o->chain_id, contract, l->operator_addr, o->policy.freshness, o->policy.epoch,
                (uint64_t)(o->policy.quorum ? o->policy.quorum : 1), (uint64_t)(o->policy.allow_simulated != 0),
                o->policy.min_stake, o->policy.min_verifier_stake, o->policy.reward_per_unit));
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
        TRY(exec(L, sql, err));
        version = SCHEMA_VERSION;
    }
    ENSURE(version == SCHEMA_VERSION, err, GTEE_EUNSUPPORTED, "ledger %s has schema version %llu; this gtee reads %d",
           L->path, (unsigned long long)version, SCHEMA_VERSION);
    TRY(prep(L, &st, err, "SELECT chain_id, contract FROM ledger", ""));
    ENSURE(sqlite3_step(st) == SQLITE_ROW, err, GTEE_EFORMAT, "ledger %s: no ledger row", L->path);
    l->chain_id = col_u64(st, 0);
    col_blob(st, 1, l->contract, 20);
    sqlite3_finalize(st);
    st = NULL;
    TRY(exec(L, "COMMIT", err));
out:
    sqlite3_finalize(st);
    if (rc < 0)
        rollback(L);
    return rc;
}

int gtee_ledger_open_local(const char *path, const struct gtee_ledger_local_options *o, const uint8_t key[32],
                           struct gtee_ledger **out, struct gtee_err *err)
{
    struct gtee_ledger *l = calloc(1, sizeof(*l));
    struct local *L = calloc(1, sizeof(*L));
    uint8_t pub[GTEE_SECP256K1_PUB_LEN];
    int created = 0, fd, rc = 0;

    *out = NULL;
    ENSURE(l && L, err, GTEE_ENOMEM, "ledger: out of memory");
    l->ops = &local_ops;
    l->impl = L;
    L->path = strdup(path);
    ENSURE(L->path, err, GTEE_ENOMEM, "ledger: out of memory");
    rc = gtee_secp256k1_public(key, pub);
    ENSURE(rc == 0 && gtee_eth_address(pub, l->operator_addr) == 0, err, GTEE_EKEY, "ledger: the key is not a secp256k1 private key");
    if (o->evidence_policy) {
        L->evidence_policy = *o->evidence_policy;
        L->has_evidence_policy = 1;
    }
    L->anchors = o->anchors;
    L->clock = o->clock;
    L->clock_arg = o->clock_arg;
    /* The ledger is the operator's: made for its owner only, never through a link. */
    if (o->create) {
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            created = 1;
            close(fd);
        } else {
            ENSURE(errno == EEXIST, err, GTEE_EIO, "ledger %s: cannot create: %s", path, strerror(errno));
        }
    } else {
        ENSURE(access(path, F_OK) == 0 || errno != ENOENT, err, GTEE_ENOTFOUND,
               "ledger %s does not exist (`gtee chain deploy --ledger local:%s` makes one)", path, path);
    }
    if (sqlite3_open_v2(path, &L->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW, NULL) !=
        SQLITE_OK) {
        rc = GTEE_FAIL(err, GTEE_EIO, "ledger %s: cannot open: %s", path, L->db ? sqlite3_errmsg(L->db) : "out of memory");
        goto out;
    }
    /* A node and a CLI may open it together: each waits for the other's transaction, bounded. */
    sqlite3_busy_timeout(L->db, o->busy_timeout_ms ? (int)o->busy_timeout_ms : 5000);
    TRY(exec(L, "PRAGMA journal_mode=WAL", err));
    TRY(exec(L, "PRAGMA synchronous=FULL", err));
    TRY(init(l, o, err));
    *out = l;
    l = NULL;
    L = NULL;
out:
    gtee_wipe(pub, sizeof(pub));
    if (l) {
        l->impl = L;
        local_close(l);
        if (created) { /* nothing half-made left behind */
            char side[4096];

            (void)unlink(path);
            if ((size_t)snprintf(side, sizeof(side), "%s-wal", path) < sizeof(side))
                (void)unlink(side);
            if ((size_t)snprintf(side, sizeof(side), "%s-shm", path) < sizeof(side))
                (void)unlink(side);
        }
    } else {
        free(L);
    }
    return rc;
}
