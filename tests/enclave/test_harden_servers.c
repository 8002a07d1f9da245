/* The key-release service (`gtee keyrelease serve`) and an SDK application (the kvstore
 * example's enclave) are hardened as gtee-enclave is (docs/tee.md §8): a same-user process
 * without CAP_SYS_PTRACE can neither attach nor open /proc/<pid>/mem, no capabilities are
 * left, core files are off, the seccomp filter is on, and the environment they were started
 * with is gone from /proc/<pid>/environ. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <sys/stat.h>

#include "enclave/inspect.h"

#define CANARY "gtee-harden-canary-7f3a91c2"

static char dir[PATH_MAX];
static pid_t child = -1;

static int setup(void **state)
{
    char cmd[3 * PATH_MAX];
    const char *cli = getenv("GTEE_CLI");

    (void)state;
    snprintf(dir, sizeof(dir), "%s/gtee-hardsrv-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!cli || !mkdtemp(dir))
        return -1;
    snprintf(cmd, sizeof(cmd), "'%s' sim init '%s/dev' >/dev/null 2>&1 && '%s' keyrelease init '%s/master' >/dev/null",
             cli, dir, cli, dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[PATH_MAX + 16];

    (void)state;
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        child = -1;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Starts argv with the canary in its environment, stdout and stderr into log; waits (up to
 * 30 s, generous under load) until the file ready exists and holds text. */
static pid_t start(char *const argv[], const char *log, const char *ready)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        setenv("GTEE_HARDEN_CANARY", CANARY, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    for (int i = 0; i < 600; i++) {
        struct stat st;

        if (stat(ready, &st) == 0 && st.st_size > 0)
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            fail_msg("%s exited at start-up (see %s)", argv[0], log);
        usleep(50000);
    }
    fail_msg("%s did not start within 30 s", argv[0]);
    return -1;
}

static void contains_not(const char *path, const char *needle)
{
    char buf[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    n = read(fd, buf, sizeof(buf));
    close(fd);
    assert_true(n >= 0);
    assert_null(memmem(buf, (size_t)n, needle, strlen(needle)));
}

/* Everything gtee-enclave's hardening test checks, on a running server. */
static void check_hardened(pid_t pid)
{
    char v[256], path[64];
    unsigned long soft = 1, hard = 1;

    /* the same user without CAP_SYS_PTRACE: no attach, no /proc/<pid>/mem */
    assert_int_equal(try_inspect(pid), 1);
    assert_true(proc_line(pid, "status", "Seccomp:", v, sizeof(v)));
    assert_int_equal(atoi(v), 2); /* SECCOMP_MODE_FILTER */
    assert_true(proc_line(pid, "status", "NoNewPrivs:", v, sizeof(v)));
    assert_int_equal(atoi(v), 1);
    assert_true(proc_line(pid, "status", "CapEff:", v, sizeof(v)));
    assert_int_equal(strtoull(v, NULL, 16), 0);
    assert_true(proc_line(pid, "status", "CapPrm:", v, sizeof(v)));
    assert_int_equal(strtoull(v, NULL, 16), 0);
    assert_true(proc_line(pid, "limits", "Max core file size", v, sizeof(v)));
    assert_int_equal(sscanf(v, "%lu %lu", &soft, &hard), 2);
    assert_int_equal(soft, 0);
    assert_int_equal(hard, 0);
    /* root (CAP_SYS_PTRACE) still reads /proc/<pid>/environ: the canary is gone from it */
    if (can_read_nondumpable()) {
        snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
        contains_not(path, CANARY);
    }
}

/* Control: the same inspection of an unhardened process with the canary succeeds, so the
 * refusals above come from the hardening. */
static void test_control_an_ordinary_process_is_readable(void **state)
{
    char log[PATH_MAX + 16], ready[PATH_MAX + 16];
    char *argv[] = { (char *)"/bin/sh", (char *)"-c", NULL, NULL };
    char script[2 * PATH_MAX + 64], path[64], buf[65536];
    ssize_t n;
    int fd;

    snprintf(log, sizeof(log), "%s/sh.log", dir);
    snprintf(ready, sizeof(ready), "%s/sh.ready", dir);
    snprintf(script, sizeof(script), "echo up >'%s'; exec sleep 60", ready);
    argv[2] = script;
    pid_t plain;
    int ready_pipe[2];
    char c = 0;

    (void)state;
    /* a process of this user holding no capabilities (as the servers hold none) */
    assert_int_equal(pipe(ready_pipe), 0);
    plain = fork();
    assert_true(plain >= 0);
    if (plain == 0) {
        drop_caps(1);
        if (write(ready_pipe[1], "r", 1) != 1)
            _exit(92);
        pause();
        _exit(0);
    }
    close(ready_pipe[1]);
    assert_int_equal(read(ready_pipe[0], &c, 1), 1);
    close(ready_pipe[0]);
    n = try_inspect(plain);
    kill(plain, SIGKILL);
    waitpid(plain, NULL, 0);
    assert_int_equal(n, 0);
    /* a process started with the canary, as the servers are: its environ shows it */
    child = start(argv, log, ready);
    usleep(100000); /* until sleep has replaced the shell */
    snprintf(path, sizeof(path), "/proc/%d/environ", (int)child);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    n = read(fd, buf, sizeof(buf));
    close(fd);
    assert_true(n > 0);
    assert_non_null(memmem(buf, (size_t)n, CANARY, strlen(CANARY)));
}

static void test_key_release_service_is_hardened(void **state)
{
    char secret[PATH_MAX + 16], coll[PATH_MAX + 16], root[PATH_MAX + 32], log[PATH_MAX + 16];
    char *argv[] = { getenv("GTEE_CLI"), (char *)"keyrelease", (char *)"serve", (char *)"--secret", secret,
                     (char *)"--collateral", coll, (char *)"--sim-root", root, (char *)"--listen",
                     (char *)"127.0.0.1:0", NULL };

    (void)state;
    snprintf(secret, sizeof(secret), "%s/master", dir);
    snprintf(coll, sizeof(coll), "%s/dev/tdx", dir);
    snprintf(root, sizeof(root), "%s/dev/sim_root_ca.der", dir);
    snprintf(log, sizeof(log), "%s/serve.log", dir);
    child = start(argv, log, log); /* it prints "listening on" once ready */
    usleep(200000);                /* and the service key after its start-up */
    check_hardened(child);
}

static void test_sdk_application_is_hardened(void **state)
{
    char bin[PATH_MAX], dev[PATH_MAX + 16], st[PATH_MAX + 16], port[PATH_MAX + 16], log[PATH_MAX + 16];
    char *argv[] = { bin, (char *)"--tee", (char *)"sim", (char *)"--sim-dir", dev, (char *)"--state", st,
                     (char *)"--port-file", port, NULL };

    (void)state;
    snprintf(bin, sizeof(bin), "%s/examples/kvstore-enclave", getenv("GTEE_BINARY_DIR"));
    snprintf(dev, sizeof(dev), "%s/dev", dir);
    snprintf(st, sizeof(st), "%s/state", dir);
    snprintf(port, sizeof(port), "%s/port", dir);
    snprintf(log, sizeof(log), "%s/kv.log", dir);
    child = start(argv, log, port); /* the port file is written once it listens */
    check_hardened(child);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_control_an_ordinary_process_is_readable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_release_service_is_hardened, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sdk_application_is_hardened, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
