/* The local ledger (src/chain/ledger_local.c): the rule table of tests/chain/ledger_rules.h,
 * the same one the evm ledger runs on anvil; the evidence it verifies itself in place of
 * votes; all-or-nothing changes that a crash at any instant does not undo or half-make;
 * openers waiting for one another, bounded; a file that is not a ledger left alone. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "chain/ledger_rules.h"

struct clock {
    uint64_t t;
};

static uint64_t tick(void *arg)
{
    return ((struct clock *)arg)->t;
}


static int w_approve(struct rules_world *w, const uint8_t id[20], struct gtee_err *err)
{
    (void)w, (void)id, (void)err;
    return 0; /* the local ledger approved it when it verified the evidence */
}

struct fixture {
    char dir[64], path[96];
    struct clock clock;
    struct rules_world w;
    struct gtee_ledger_local_options o;
    uint8_t kgov[32], kop[32], kother[32];
};

static void open_as(struct fixture *f, const uint8_t key[32], struct gtee_ledger **l)
{
    struct gtee_err err = {0};
    int rc = gtee_ledger_open_local(f->path, &f->o, key, l, &err);

    if (rc != 0)
        fail_msg("open %s: %s", f->path, err.msg);
}

static uint64_t w_now(struct rules_world *w)
{
    return ((struct fixture *)w->arg)->clock.t;
}

static void w_advance(struct rules_world *w, uint64_t s)
{
    ((struct fixture *)w->arg)->clock.t += s;
}

/* The local ledger's restart: every handle closed, the file opened again. */
static int w_restart(struct rules_world *w, struct gtee_err *err)
{
    struct fixture *f = w->arg;
    int rc;

    gtee_ledger_close(f->w.gov);
    gtee_ledger_close(f->w.op);
    gtee_ledger_close(f->w.other);
    f->w.gov = f->w.op = f->w.other = NULL;
    if ((rc = gtee_ledger_open_local(f->path, &f->o, f->kgov, &f->w.gov, err)) != 0 ||
        (rc = gtee_ledger_open_local(f->path, &f->o, f->kop, &f->w.op, err)) != 0)
        return rc;
    return gtee_ledger_open_local(f->path, &f->o, f->kother, &f->w.other, err);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    uint8_t pub[65];

    assert_non_null(f);
    strcpy(f->dir, "/tmp/gtee-ledger-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/ledger.db", f->dir);
    assert_int_equal(rules_sim_open(&f->w), 0);
    /* after the device is made: its CRLs are valid from then on, and making it (and reading
     * its TCB figure) may take more than a second under a sanitizer */
    f->clock.t = (uint64_t)time(NULL);
    f->o.create = 1;
    f->o.chain_id = 1337;
    f->o.policy.freshness = RULES_FRESHNESS;
    f->o.policy.epoch = RULES_EPOCH;
    f->o.policy.quorum = 1;
    f->o.policy.allow_simulated = 1;
    f->o.policy.reward_per_unit[31] = 1;
    f->o.evidence_policy = &f->w.policy;
    f->o.anchors = &f->w.anchors;
    f->o.clock = tick;
    f->o.clock_arg = &f->clock;
    assert_int_equal(gtee_secp256k1_keypair(f->kgov, pub), 0);
    assert_int_equal(gtee_secp256k1_keypair(f->kop, pub), 0);
    assert_int_equal(gtee_secp256k1_keypair(f->kother, pub), 0);
    open_as(f, f->kgov, &f->w.gov); /* the first opener creates it and governs it */
    open_as(f, f->kop, &f->w.op);
    open_as(f, f->kother, &f->w.other);
    f->w.local = 1;
    f->w.now = w_now;
    f->w.advance = w_advance;
    f->w.approve = w_approve;
    f->w.restart = w_restart;
    f->w.arg = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    gtee_ledger_close(f->w.gov);
    gtee_ledger_close(f->w.op);
    gtee_ledger_close(f->w.other);
    rules_sim_close(&f->w);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void test_rule_table(void **state)
{
    struct fixture *f = *state;
    struct stat st;

    assert_string_equal(gtee_ledger_kind(f->w.op), "local");
    assert_int_equal(gtee_ledger_chain_id(f->w.op), 1337);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 077, 0); /* the operator's file, not the world's */
    assert_int_equal(rules_run(&f->w), 0);
}

/* Registers e1 with r after the governor accepted the sim measurement. */
static void accept_measurement(struct fixture *f)
{
    struct gtee_err err = {0};

    assert_int_equal(gtee_ledger_set_measurement(f->w.gov, f->w.id.mrenclave, 1, NULL, &err), 0);
    assert_int_equal(gtee_ledger_set_min_tcb(f->w.gov, RULES_TEE_SIM, f->w.tcb, NULL, &err), 0);
}

static void refused(int rc, const struct gtee_err *err, const char *reason)
{
    if (rc != GTEE_EPOLICY || !strstr(err->msg, reason))
        fail_msg("expected a refusal naming '%s', got %d: %s", reason, rc, rc ? err->msg : "accepted");
}

/* What the local ledger checks in place of the verifiers' votes. */
static void test_evidence_verified(void **state)
{
    struct fixture *f = *state;
    struct gtee_ledger_registration r;
    struct gtee_ledger_standing s;
    struct gtee_ledger *strict = NULL;
    struct gtee_ledger_local_options o = f->o;
    struct gtee_policy hw;
    struct rules_enclave e1, e2;
    struct gtee_err err = {0};
    uint8_t other_m[32];
    uint64_t now = f->clock.t;

    accept_measurement(f);
    assert_int_equal(rules_enclave_make(&f->w, &e1), 0);
    assert_int_equal(rules_enclave_make(&f->w, &e2), 0);

    rules_registration(&f->w, f->w.op, &e1, now - 10, &r);
    r.evidence = NULL;
    r.evidence_len = 0;
    refused(gtee_ledger_register(f->w.op, &r, 0, NULL, &err), &err, "registration: no evidence given");
    rules_registration(&f->w, f->w.op, &e1, now - 10, &r);
    r.evidence_hash[0] ^= 1;
    /* the consent is over the hash named: sign it again so only the evidence is wrong */
    {
        struct gtee_proof_domain d;
        uint8_t h[32], sig[65], op[20];

        gtee_ledger_domain(f->w.op, &d);
        gtee_ledger_operator(f->w.op, op);
        gtee_proof_consent_hash(&d, e1.id, op, r.evidence_hash, h);
        assert_int_equal(gtee_secp256k1_sign(e1.key, h, sig), 0);
        memcpy(r.consent_sig, sig, 64);
        r.consent_sig[64] = (uint8_t)(27 + sig[64]);
    }
    refused(gtee_ledger_register(f->w.op, &r, 0, NULL, &err), &err,
            "registration: the evidence is not the one evidenceHash names");

    /* e2's evidence under e1's registration: it binds another Enclave key */
    rules_registration(&f->w, f->w.op, &e2, now - 10, &r);
    {
        struct gtee_ledger_registration mine;

        rules_registration(&f->w, f->w.op, &e1, now - 10, &mine);
        mine.evidence = r.evidence;
        mine.evidence_len = r.evidence_len;
        memcpy(mine.evidence_hash, r.evidence_hash, 32);
        memcpy(mine.channel_pub, e2.channel_pub, 65);
        {
            struct gtee_proof_domain d;
            uint8_t h[32], sig[65], op[20];

            gtee_ledger_domain(f->w.op, &d);
            gtee_ledger_operator(f->w.op, op);
            gtee_proof_consent_hash(&d, e1.id, op, mine.evidence_hash, h);
            assert_int_equal(gtee_secp256k1_sign(e1.key, h, sig), 0);
            memcpy(mine.consent_sig, sig, 64);
            mine.consent_sig[64] = (uint8_t)(27 + sig[64]);
        }
        refused(gtee_ledger_register(f->w.op, &mine, 0, NULL, &err), &err,
                "registration: the evidence does not verify under the ledger's policy");
    }

    /* a measurement the governor accepts, but not the one the evidence carries */
    memset(other_m, 0x42, 32);
    assert_int_equal(gtee_ledger_set_measurement(f->w.gov, other_m, 1, NULL, &err), 0);
    rules_registration(&f->w, f->w.op, &e1, now - 10, &r);
    memcpy(r.measurement, other_m, 32);
    refused(gtee_ledger_register(f->w.op, &r, 0, NULL, &err), &err,
            "registration: the measurement is not the evidence's");

    /* a TCB the evidence does not show: over- or under-declared (the minimum lowered to 0 so
     * that the under-declared one reaches the evidence check), named with both figures */
    rules_registration(&f->w, f->w.op, &e1, now - 10, &r);
    r.tcb = f->w.tcb + 1;
    refused(gtee_ledger_register(f->w.op, &r, 0, NULL, &err), &err, "registration: the declared TCB");
    {
        char want[128];

        snprintf(want, sizeof(want), "the declared TCB %u is not the evidence's TCB %u", f->w.tcb + 1, f->w.tcb);
        refused(GTEE_EPOLICY, &err, want);
        assert_int_equal(gtee_ledger_set_min_tcb(f->w.gov, RULES_TEE_SIM, 0, NULL, &err), 0);
        r.tcb = f->w.tcb - 1;
        refused(gtee_ledger_register(f->w.op, &r, 0, NULL, &err), &err, "registration: the declared TCB");
        snprintf(want, sizeof(want), "the declared TCB %u is not the evidence's TCB %u", f->w.tcb - 1, f->w.tcb);
        refused(GTEE_EPOLICY, &err, want);
        assert_int_equal(gtee_ledger_set_min_tcb(f->w.gov, RULES_TEE_SIM, f->w.tcb, NULL, &err), 0);
    }

    /* a TEE type the evidence is not (SGX claimed, simulated evidence given) */
    assert_int_equal(gtee_ledger_set_min_tcb(f->w.gov, 2, 0, NULL, &err), 0);
    rules_registration(&f->w, f->w.op, &e1, now - 10, &r);
    r.tee_type = 2;
    refused(gtee_ledger_register(f->w.op, &r, 0, NULL, &err), &err,
            "registration: the evidence is not of the TEE type registered");

    /* simulated evidence while the ledger's evidence policy forbids simulation */
    gtee_policy_default(&hw);
    o.evidence_policy = &hw;
    assert_int_equal(gtee_ledger_open_local(f->path, &o, f->kop, &strict, &err), 0);
    rules_registration(&f->w, strict, &e1, now - 10, &r);
    refused(gtee_ledger_register(strict, &r, 0, NULL, &err), &err,
            "registration: the evidence does not verify under the ledger's policy");
    gtee_ledger_close(strict);

    /* no policy: the local ledger cannot verify, and says so */
    o.evidence_policy = NULL;
    assert_int_equal(gtee_ledger_open_local(f->path, &o, f->kop, &strict, &err), 0);
    assert_int_equal(gtee_ledger_register(strict, &r, 0, NULL, &err), GTEE_EINVAL);
    assert_non_null(strstr(err.msg, "verifies registrations' evidence itself"));
    gtee_ledger_close(strict);

    /* nothing above left a trace; the right evidence is accepted and the enclave active */
    assert_int_equal(gtee_ledger_standing(f->w.op, e1.id, &s, &err), 0);
    assert_int_equal(s.status, GTEE_ENCLAVE_UNREGISTERED);
    rules_registration(&f->w, f->w.op, &e1, now - 10, &r);
    assert_int_equal(gtee_ledger_register(f->w.op, &r, 0, NULL, &err), 0);
    assert_int_equal(gtee_ledger_standing(f->w.op, e1.id, &s, &err), 0);
    assert_int_equal(s.status, GTEE_ENCLAVE_ACTIVE);
    assert_true(s.active);
    rules_enclave_free(&e1);
    rules_enclave_free(&e2);
}

/* A child submits proofs one at a time and reports each that returned; it is killed at
 * some instant. The ledger holds at least every proof reported, and its record is whole:
 * the last seq, the proofs' rows and the operator's units agree. */
static void test_crash_loses_nothing_committed(void **state)
{
    struct fixture *f = *state;
    struct gtee_ledger_registration r;
    struct gtee_ledger_standing s;
    struct rules_enclave e;
    struct gtee_err err = {0};
    uint8_t op[20];
    int fds[2], status;
    unsigned long reported = 0, seq;
    FILE *in;
    pid_t pid;

    accept_measurement(f);
    assert_int_equal(rules_enclave_make(&f->w, &e), 0);
    rules_registration(&f->w, f->w.op, &e, f->clock.t - 10, &r);
    assert_int_equal(gtee_ledger_register(f->w.op, &r, 0, NULL, &err), 0);
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct gtee_ledger *l = NULL;
        struct gtee_proof p;
        uint8_t prev[32] = {0};
        size_t skipped, sent;

        close(fds[0]);
        if (gtee_ledger_open_local(f->path, &f->o, f->kother, &l, &err) != 0)
            _exit(2);
        for (uint64_t i = 1; i <= 100000; i++) {
            char line[32];
            int n;

            rules_proof(l, &e, i, i == 1 ? NULL : prev, 3, NULL, &p);
            gtee_proof_hash(&p, prev);
            if (gtee_ledger_submit(l, &p, 1, 1, NULL, NULL, &skipped, &sent, &err) != 0)
                _exit(3);
            n = snprintf(line, sizeof(line), "%llu\n", (unsigned long long)i);
            if (write(fds[1], line, (size_t)n) != n)
                _exit(4);
        }
        _exit(0);
    }
    close(fds[1]);
    in = fdopen(fds[0], "r");
    assert_non_null(in);
    while (reported < 25 && fscanf(in, "%lu", &seq) == 1)
        reported = seq;
    kill(pid, SIGKILL);
    while (fscanf(in, "%lu", &seq) == 1)
        reported = seq; /* what it reported before it died */
    fclose(in);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_true(reported >= 25);

    /* a fresh opener, as after a restart */
    gtee_ledger_close(f->w.op);
    open_as(f, f->kop, &f->w.op);
    assert_int_equal(gtee_ledger_standing(f->w.op, e.id, &s, &err), 0);
    assert_true(s.last_seq >= reported);
    assert_true(s.last_seq <= reported + 1); /* at most the one in flight */
    gtee_ledger_operator(f->w.op, op);
    assert_int_equal(rules_units(f->w.op, op), 3 * s.last_seq);
    {
        sqlite3 *db = NULL;
        sqlite3_stmt *q = NULL;

        assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), max(seq) FROM proofs", -1, &q, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        assert_int_equal((uint64_t)sqlite3_column_int64(q, 0), s.last_seq);
        assert_int_equal((uint64_t)sqlite3_column_int64(q, 1), s.last_seq);
        sqlite3_finalize(q);
        sqlite3_close(db);
    }
    rules_enclave_free(&e);
}

/* Another opener's transaction is waited for up to the busy timeout, then refused clearly;
 * once it ends, the operation goes through. */
static void test_openers_wait_bounded(void **state)
{
    struct fixture *f = *state;
    struct gtee_ledger_local_options o = f->o;
    struct gtee_ledger *l = NULL;
    struct gtee_err err = {0};
    sqlite3 *db = NULL;
    time_t start;

    o.busy_timeout_ms = 300;
    assert_int_equal(gtee_ledger_open_local(f->path, &o, f->kgov, &l, &err), 0);
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    start = time(NULL);
    assert_int_equal(gtee_ledger_set_measurement(l, f->w.id.mrenclave, 1, NULL, &err), GTEE_EIO);
    assert_non_null(strstr(err.msg, "busy timeout"));
    assert_true(time(NULL) - start < 30); /* bounded: well under the 30 s an unbounded wait would pass */
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(gtee_ledger_set_measurement(l, f->w.id.mrenclave, 1, NULL, &err), 0);
    gtee_ledger_close(l);
}

/* The record outlives its openers: same domain, same standing, same governor. */
static void test_reopened(void **state)
{
    struct fixture *f = *state;
    struct gtee_proof_domain d1, d2;
    struct gtee_ledger_policy p;
    struct gtee_err err = {0};
    uint8_t gov[20], want[20];
    int yes = 0;

    accept_measurement(f);
    gtee_ledger_domain(f->w.op, &d1);
    gtee_ledger_close(f->w.op);
    f->o.chain_id = 99; /* creation options do not change an existing ledger */
    open_as(f, f->kop, &f->w.op);
    gtee_ledger_domain(f->w.op, &d2);
    assert_memory_equal(d1.contract, d2.contract, sizeof(d1.contract));
    assert_int_equal(d2.chain_id, 1337);
    assert_int_equal(gtee_ledger_measurement_accepted(f->w.op, f->w.id.mrenclave, &yes, &err), 0);
    assert_true(yes);
    assert_int_equal(gtee_ledger_policy(f->w.op, &p, gov, &err), 0);
    gtee_ledger_operator(f->w.gov, want);
    assert_memory_equal(gov, want, 20);
    assert_int_equal(p.epoch, RULES_EPOCH);
}

/* A file that is not a ledger is refused and left as it was; a link is not followed; a
 * ledger that cannot be created leaves nothing behind. */
static void test_bad_files(void **state)
{
    struct fixture *f = *state;
    struct gtee_ledger *l = NULL;
    struct gtee_err err = {0};
    char p[128], link[128], buf[64] = {0};
    int fd;

    snprintf(p, sizeof(p), "%s/not-a-ledger", f->dir);
    fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello, not sqlite at all, just some text here\n", 46), 46);
    close(fd);
    assert_true(gtee_ledger_open_local(p, &f->o, f->kop, &l, &err) < 0);
    assert_null(l);
    fd = open(p, O_RDONLY);
    assert_int_equal(read(fd, buf, sizeof(buf) - 1), 46);
    close(fd);
    assert_string_equal(buf, "hello, not sqlite at all, just some text here\n");

    snprintf(link, sizeof(link), "%s/link.db", f->dir);
    assert_int_equal(symlink(f->path, link), 0);
    assert_true(gtee_ledger_open_local(link, &f->o, f->kop, &l, &err) < 0);
    assert_null(l);

    /* an empty file (a making that never committed) is not taken for a new ledger by a
     * reader, who would become its governor */
    snprintf(p, sizeof(p), "%s/empty.db", f->dir);
    fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    {
        struct gtee_ledger_local_options o = f->o;

        o.create = 0;
        assert_int_equal(gtee_ledger_open_local(p, &o, f->kop, &l, &err), GTEE_EFORMAT);
        assert_null(l);
        o.create = 1;
        o.chain_id = 0;
        snprintf(p, sizeof(p), "%s/chain0.db", f->dir);
        assert_int_equal(gtee_ledger_open_local(p, &o, f->kop, &l, &err), GTEE_EINVAL);
        assert_int_equal(access(p, F_OK), -1); /* nothing half-made left */
        o.create = 0;
        snprintf(p, sizeof(p), "%s/missing.db", f->dir);
        assert_int_equal(gtee_ledger_open_local(p, &o, f->kop, &l, &err), GTEE_ENOTFOUND);
        assert_int_equal(access(p, F_OK), -1);
    }

    snprintf(p, sizeof(p), "%s/no/such/dir/ledger.db", f->dir);
    assert_int_equal(gtee_ledger_open_local(p, &f->o, f->kop, &l, &err), GTEE_EIO);
    assert_null(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rule_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence_verified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_loses_nothing_committed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openers_wait_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopened, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
