/* The real gtee-enclave process started with `--tee tdx --key-release HOST:PORT
 * --key-release-pub HEX`, by gtee_enclave_start and by `gtee enclave info`, against a real
 * `gtee keyrelease serve` on 127.0.0.1.
 *
 * configfs creates a report entry's attribute files on mkdir(2); a plain directory cannot,
 * and another process's mkdir cannot be replaced by a callback. So this test executable is
 * also a shim: started as the enclave (argv "--fd 3 ..."), it installs a seccomp filter that
 * hands the enclave's mkdir/rmdir calls to a supervisor process (SECCOMP_RET_USER_NOTIF),
 * then executes the real gtee-enclave with the same arguments. The supervisor answers them
 * with the configfs-tsm fake (tests/tee/fake_tsm.c: attributes, generation, inblob/outblob
 * served with a simulated TDX quote over exactly the inblob written) and lets every other
 * call through. The enclave's own code path is unchanged; only the kernel's configfs is
 * emulated. Reading the enclave's path arguments needs CAP_SYS_PTRACE (the enclave is not
 * dumpable): without it the test is skipped, saying so. */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "tee/kr_world.c"
#include "enclave/inspect.h"
#include "gtee/enclave.h"
#include "gtee/tee.h"

/* ---- the shim side: runs in the enclave's process, then becomes gtee-enclave ---- */

/* What the shim needs, from ROOT/shim.conf (the enclave's environment is empty): the real
 * enclave, the sim device, where to keep the last quote, the sample outblob, the MRTD byte. */
struct shim_conf {
    char enclave[PATH_MAX], dev[PATH_MAX], quotes[PATH_MAX], sample[PATH_MAX];
    int mrtd;
};

static int conf_read(const char *root, struct shim_conf *c)
{
    char p[PATH_MAX + 16];
    FILE *f;
    int ok;

    snprintf(p, sizeof(p), "%s/shim.conf", root);
    f = fopen(p, "r");
    if (!f)
        return -1;
    ok = fscanf(f, "%4095s %4095s %4095s %4095s %d", c->enclave, c->dev, c->quotes, c->sample, &c->mrtd) == 5;
    fclose(f);
    return ok ? 0 : -1;
}

struct sup {
    struct fake_tsm f;
    struct gtee_sim *sim;
    struct gtee_sim_identity id;
    const char *quotes;
};

/* The TDX module: a quote over exactly the inblob; the last one is kept for the canary check. */
static int sup_quote(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len, void *arg)
{
    struct sup *s = arg;

    if (n != GTEE_SIM_REPORT_DATA_LEN || gtee_sim_quote(s->sim, GTEE_SIM_QUOTE_TDX, &s->id, in, out, out_len, NULL))
        return -1;
    (void)fake_write(s->quotes, *out, *out_len);
    return 0;
}

/* The path argument of the trapped call, read from the enclave's memory. */
static int read_path(pid_t pid, uint64_t addr, char *out, size_t len)
{
    char p[64];
    ssize_t n;
    int fd;

    snprintf(p, sizeof(p), "/proc/%d/mem", (int)pid);
    fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = pread(fd, out, len - 1, (off_t)addr);
    close(fd);
    if (n <= 0)
        return -1;
    out[n] = '\0';
    return memchr(out, '\0', (size_t)n) ? 0 : -1;
}

static void supervise(int nfd, struct sup *s)
{
    char report[PATH_MAX + 64];
    size_t rl;

    snprintf(report, sizeof(report), "%s/sys/kernel/config/tsm/report/", s->f.root);
    rl = strlen(report);
    for (;;) {
        struct seccomp_notif *req = NULL;
        struct seccomp_notif_resp *resp = NULL;
        struct pollfd pfd = { .fd = nfd, .events = POLLIN };
        char path[PATH_MAX];
        int nr, is_mk, is_rm, handled = 0, r = 0;
        uint64_t arg;

        if (poll(&pfd, 1, -1) <= 0 || (pfd.revents & (POLLHUP | POLLERR)))
            return; /* the enclave is gone */
        if (seccomp_notify_alloc(&req, &resp) != 0)
            return;
        if (seccomp_notify_receive(nfd, req) != 0) {
            seccomp_notify_free(req, resp);
            continue;
        }
        nr = req->data.nr;
        is_mk = nr == SYS_mkdir || nr == SYS_mkdirat;
        is_rm = nr == SYS_rmdir || (nr == SYS_unlinkat && (req->data.args[2] & AT_REMOVEDIR));
        /* mkdirat/unlinkat: only AT_FDCWD with an absolute path is ours (what tsm.c makes). */
        arg = (nr == SYS_mkdir || nr == SYS_rmdir) ? req->data.args[0] : req->data.args[1];
        if ((is_mk || is_rm) && read_path(req->pid, arg, path, sizeof(path)) == 0 &&
            seccomp_notify_id_valid(nfd, req->id) == 0 && strncmp(path, report, rl) == 0 &&
            !strchr(path + rl, '/')) {
            r = is_mk ? fake_tsm_mkdir(path, &s->f) : fake_tsm_rmdir(path, &s->f);
            handled = 1;
        }
        resp->id = req->id;
        if (handled) {
            resp->val = 0;
            resp->error = r;  /* 0 or -errno, as configfs would answer */
            resp->flags = 0;
        } else {
            resp->val = 0;
            resp->error = 0;
            resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        }
        (void)seccomp_notify_respond(nfd, resp);
        seccomp_notify_free(req, resp);
    }
}

/* One descriptor over a Unix socket (SCM_RIGHTS). */
static int fd_send(int sock, int fd)
{
    char c = 0, buf[CMSG_SPACE(sizeof(int))] = { 0 };
    struct iovec io = { &c, 1 };
    struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof(buf) };
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);

    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &fd, sizeof(int));
    return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int fd_recv(int sock)
{
    char c, buf[CMSG_SPACE(sizeof(int))];
    struct iovec io = { &c, 1 };
    struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof(buf) };
    struct cmsghdr *h;
    int fd = -1;

    if (recvmsg(sock, &m, 0) != 1 || !(h = CMSG_FIRSTHDR(&m)) || h->cmsg_type != SCM_RIGHTS)
        return -1;
    memcpy(&fd, CMSG_DATA(h), sizeof(int));
    return fd;
}

static int shim_main(int argc, char **argv)
{
    static char *const no_env[] = { NULL };
    const char *root = NULL;
    struct shim_conf c;
    scmp_filter_ctx ctx;
    int sv[2], nfd;
    pid_t pid;

    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--root") == 0)
            root = argv[i + 1];
    if (!root || conf_read(root, &c) != 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        fprintf(stderr, "shim: no --root or no shim.conf\n");
        return 2;
    }
    pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) { /* the supervisor: not under the filter, which is installed after the fork */
        struct sup s;
        int devnull = open("/dev/null", O_RDWR);

        /* Hold none of the enclave's descriptors (fd 3 is its socket to the host). */
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 3) < 0)
            _exit(1);
        close(devnull);
        close(sv[0]);
        nfd = fd_recv(sv[1]);
        close(sv[1]);
        memset(&s, 0, sizeof(s));
        s.quotes = c.quotes;
        memset(s.id.mrenclave, c.mrtd, sizeof(s.id.mrenclave));
        memset(s.id.mrsigner, 0x5a, sizeof(s.id.mrsigner));
        s.id.isv_prod_id = 1;
        s.id.isv_svn = 1;
        if (nfd < 0 || gtee_sim_open(c.dev, &s.sim, NULL) != 0 || fake_tsm_create(&s.f, root, "tdx_guest", c.sample) != 0)
            _exit(1);
        s.f.answer = sup_quote;
        s.f.answer_arg = &s;
        supervise(nfd, &s);
        fake_tsm_destroy(&s.f);
        gtee_sim_close(s.sim);
        _exit(0);
    }
    close(sv[1]);
    ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(mkdir), 0) != 0 ||
        seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(mkdirat), 0) != 0 ||
        seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(rmdir), 0) != 0 ||
        seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(unlinkat), 0) != 0 || seccomp_load(ctx) != 0 ||
        (nfd = seccomp_notify_fd(ctx)) < 0 || fd_send(sv[0], nfd) != 0) {
        fprintf(stderr, "shim: cannot install the notifying filter\n");
        return 2;
    }
    close(nfd);
    close(sv[0]);
    seccomp_release(ctx);
    argv[0] = (char *)"gtee-enclave";
    execve(c.enclave, argv, no_env);
    fprintf(stderr, "shim: cannot execute %s\n", c.enclave);
    return 127;
}

/* ---- the host side: the tests ---- */

struct run {
    char root[PATH_MAX], quotes[PATH_MAX + 16], self[PATH_MAX];
};

/* A fresh fake device root for one start, naming the real enclave for the shim. */
static void run_make(struct world *w, struct run *r, int mrtd)
{
    char p[PATH_MAX + 16], conf[5 * PATH_MAX], sample[PATH_MAX];
    const char *enc = getenv("GTEE_ENCLAVE");
    ssize_t n;

    assert_non_null(enc);
    assert_int_equal(fake_tmpdir(r->root, sizeof(r->root), "tdxproc"), 0);
    snprintf(r->quotes, sizeof(r->quotes), "%s/quotes.bin", w->dir);
    snprintf(p, sizeof(p), "%s/sys/kernel/config/tsm/report", r->root);
    assert_int_equal(fake_mkdirs(p), 0);
    vector_path(sample, sizeof(sample), "tdx/tdx-1/quote.bin");
    snprintf(conf, sizeof(conf), "%s %s %s %s %d\n", enc, w->dev, r->quotes, sample, mrtd);
    snprintf(p, sizeof(p), "%s/shim.conf", r->root);
    assert_int_equal(fake_write(p, conf, strlen(conf)), 0);
    n = readlink("/proc/self/exe", r->self, sizeof(r->self) - 1);
    assert_true(n > 0);
    r->self[n] = '\0';
}

static int start(struct world *w, struct run *r, const char *pin, struct gtee_enclave_info *info, int *status,
                 struct gtee_err *err)
{
    struct gtee_enclave_launch l = {0};
    struct gtee_enclave_proc p;
    int rc;

    l.binary = r->self;
    l.tee = "tdx";
    l.root = r->root;
    l.key_release = w->addr;
    l.key_release_pub = pin;
    assert_int_equal(gtee_enclave_start(&l, &p, err), 0);
    rc = gtee_enclave_info(&p, info, err);
    assert_int_equal(gtee_enclave_stop(&p, status), 0);
    return rc;
}

static void run_free(struct run *r)
{
    fake_rmtree(r->root);
}

/* The supervisor reads the enclave's memory: without CAP_SYS_PTRACE the test says SKIP. */
static void need_ptrace(void)
{
    if (!can_read_nondumpable()) {
        fprintf(stderr, "skipped: reading a non-dumpable process's memory needs CAP_SYS_PTRACE here\n");
        skip();
    }
}

static void test_enclave_process_reports_an_enclave_id_and_keeps_it_across_restarts(void **state)
{
    struct world w;
    struct run r;
    struct gtee_enclave_info a, b, c;
    struct gtee_err err = {0};
    char pin[131], other[131];
    int st = -1;

    need_ptrace();
    world_make(&w);
    pin_of(&w, "master", pin);
    pin_of(&w, "other-master", other);
    service_start(&w, "master", "allow.json");
    run_make(&w, &r, 0x11);
    if (start(&w, &r, pin, &a, &st, &err) != 0)
        fail_msg("enclave: %s", err.msg);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(a.kind, GTEE_TEE_KIND_TDX);
    assert_int_equal(a.measurement_len, 48);
    assert_memory_equal(a.measurement, (uint8_t[32]){ [0 ... 31] = 0x11 }, 32); /* MRTD of the fake */
    run_free(&r);
    /* a restart of the enclave and of the service: the same Enclave ID */
    service_stop(&w);
    service_start(&w, "master", "allow.json");
    run_make(&w, &r, 0x11);
    assert_int_equal(start(&w, &r, pin, &b, &st, &err), 0);
    assert_memory_equal(a.enclave_addr, b.enclave_addr, 20);
    run_free(&r);
    /* another measurement: another ID */
    run_make(&w, &r, 0x22);
    assert_int_equal(start(&w, &r, pin, &c, &st, &err), 0);
    assert_memory_not_equal(a.enclave_addr, c.enclave_addr, 20);
    run_free(&r);
    /* another master secret (a TD configured for that service): another ID */
    service_stop(&w);
    service_start(&w, "other-master", "allow.json");
    run_make(&w, &r, 0x11);
    assert_int_equal(start(&w, &r, other, &c, &st, &err), 0);
    assert_memory_not_equal(a.enclave_addr, c.enclave_addr, 20);
    run_free(&r);
    world_free(&w);
}

static void test_refusal_ends_the_enclave_non_zero_with_the_services_reason(void **state)
{
    struct world w;
    struct run r;
    struct gtee_enclave_info a;
    struct gtee_err err = {0};
    char pin[131];
    int st = -1;

    need_ptrace();
    world_make(&w);
    pin_of(&w, "master", pin);
    service_start(&w, "master", NULL); /* strict default: simulated evidence refused */
    run_make(&w, &r, 0x11);
    assert_int_equal(start(&w, &r, pin, &a, &st, &err), GTEE_EPOLICY);
    assert_non_null(strstr(err.msg, w.addr));
    assert_non_null(strstr(err.msg, "policy.simulation"));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
    run_free(&r);
    world_free(&w);
}

/* The same through `gtee enclave info`: exit codes and messages, and the canary scan of
 * everything the host holds afterwards (its output, the service's log, the device root). */
static int cli(struct world *w, struct run *r, const char *tee, const char *pin, const char *out, const char *errf)
{
    char cmd[4 * PATH_MAX], kr[256] = "";
    int st;

    if (pin)
        snprintf(kr, sizeof(kr), "--key-release %s --key-release-pub %s", w->addr, pin);
    snprintf(cmd, sizeof(cmd), "'%s' enclave info --tee %s --root '%s' --enclave '%s' %s --json >'%s' 2>'%s'",
             getenv("GTEE_CLI"), tee, r->root, r->self, kr, out, errf);
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void scan_tree(const char *dir, const uint8_t *const *secrets, size_t n)
{
    char cmd[PATH_MAX + 64], path[PATH_MAX];
    FILE *f;

    snprintf(cmd, sizeof(cmd), "find '%s' -type f", dir);
    f = popen(cmd, "r");
    assert_non_null(f);
    while (fgets(path, sizeof(path), f)) {
        size_t len = 0;
        uint8_t *b;

        path[strcspn(path, "\n")] = '\0';
        b = fake_load(path, &len);
        for (size_t i = 0; b && i < n; i++)
            if (contains(b, len, secrets[i], 32))
                fail_msg("a secret of the key release is in %s", path);
        free(b);
    }
    pclose(f);
}

static void test_cli_starts_the_td_enclave_and_the_host_holds_no_secret(void **state)
{
    static const char seal_info[] = "gtee tdx seal key v1: measurement";
    struct world w;
    struct run r;
    char pin[131], out[PATH_MAX + 16], errf[PATH_MAX + 16], p[PATH_MAX + 16];
    uint8_t master[32], k[32], seal[32], *text, *q;
    size_t n, qn;

    need_ptrace();
    world_make(&w);
    pin_of(&w, "master", pin);
    service_start(&w, "master", "allow.json");
    run_make(&w, &r, 0x11);
    snprintf(out, sizeof(out), "%s/out.json", w.dir);
    snprintf(errf, sizeof(errf), "%s/err.txt", w.dir);
    assert_int_equal(cli(&w, &r, "tdx", pin, out, errf), 0);
    text = fake_load(out, &n);
    assert_non_null(text);
    assert_non_null(strstr((char *)text, "\"tee\":\"tdx\""));
    assert_non_null(strstr((char *)text, "\"enclave_id\":\"0x"));
    free(text);
    /* The canary: K and the sealing key of this start (from the quote the TDX module made),
     * and the master secret, appear nowhere the host keeps bytes. */
    snprintf(p, sizeof(p), "%s/master", w.dir);
    assert_int_equal(gtee_kr_secret_load(p, master, NULL), 0);
    q = fake_load(r.quotes, &qn);
    assert_non_null(q);
    root_from_quote(q, qn, master, k);
    free(q);
    unlink(r.quotes);
    assert_int_equal(gtee_hkdf_sha256(seal, 32, k, 32, NULL, 0, (const uint8_t *)seal_info, sizeof(seal_info) - 1), 0);
    service_log_wait(&w, "key released"); /* the whole log is scanned */
    service_stop(&w);
    {
        const uint8_t *all[] = { k, seal, master };
        const char *files[] = { out, errf, w.log };

        scan_tree(r.root, all, 3);
        for (size_t f = 0; f < 3; f++) {
            uint8_t *b = fake_load(files[f], &n);

            for (size_t i = 0; b && i < 3; i++)
                if (contains(b, n, all[i], 32))
                    fail_msg("a secret of the key release is in %s", files[f]);
            free(b);
        }
    }
    /* A refusal through the CLI: exit 7 and the service's reason. */
    service_start(&w, "master", NULL);
    run_free(&r);
    run_make(&w, &r, 0x11);
    assert_int_equal(cli(&w, &r, "tdx", pin, out, errf), 7);
    text = fake_load(errf, &n);
    assert_non_null(text);
    assert_non_null(strstr((char *)text, "policy.simulation"));
    assert_non_null(strstr((char *)text, w.addr));
    free(text);
    run_free(&r);
    /* An enclave pinned to another service: exit 4, the answer is not the pinned key's. */
    {
        char other[131];

        pin_of(&w, "other-master", other);
        service_stop(&w);
        service_start(&w, "master", "allow.json");
        run_make(&w, &r, 0x11);
        assert_int_equal(cli(&w, &r, "tdx", other, out, errf), 4);
        text = fake_load(errf, &n);
        assert_non_null(text);
        assert_non_null(strstr((char *)text, "pinned service key"));
        free(text);
        run_free(&r);
    }
    /* auto finds the TDX module and, without --key-release, says the option is needed. */
    run_make(&w, &r, 0x11);
    assert_int_equal(cli(&w, &r, "auto", NULL, out, errf), 5);
    text = fake_load(errf, &n);
    assert_non_null(text);
    assert_non_null(strstr((char *)text, "--key-release HOST:PORT"));
    free(text);
    run_free(&r);
    world_free(&w);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enclave_process_reports_an_enclave_id_and_keeps_it_across_restarts),
        cmocka_unit_test(test_refusal_ends_the_enclave_non_zero_with_the_services_reason),
        cmocka_unit_test(test_cli_starts_the_td_enclave_and_the_host_holds_no_secret),
    };

    if (argc > 1 && strcmp(argv[1], "--fd") == 0)
        return shim_main(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
