/* The simulated enclave's hardening holds in the running process: seccomp filter mode,
 * not dumpable (no ptrace attach, no /proc/<pid>/mem for the host's user without
 * CAP_SYS_PTRACE), core limit 0, locked secret memory; a forbidden system call kills. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <linux/capability.h>
#include <linux/sev-guest.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "wire/measure.h"
#include "gtee/tee.h"
#include "enclave/harness.c"
#include "enclave/inspect.h"

static int setup(void **state)
{
    struct harness *h = calloc(1, sizeof(*h));
    struct gtee_enclave_info info;
    struct gtee_err err = {0};

    /* one round trip: the enclave has finished start-up and installed its filter */
    if (!h || harness_start(h, NULL, NULL) != 0 || gtee_enclave_info(&h->p, &info, &err) != 0)
        return -1;
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    struct harness *h = *state;

    harness_stop(h);
    free(h);
    return 0;
}

static void test_enclave_runs_in_seccomp_filter_mode(void **state)
{
    struct harness *h = *state;
    char v[128];

    assert_true(proc_line(h->p.pid, "status", "Seccomp:", v, sizeof(v)));
    assert_int_equal(atoi(v), 2); /* SECCOMP_MODE_FILTER */
    assert_true(proc_line(h->p.pid, "status", "NoNewPrivs:", v, sizeof(v)));
    assert_int_equal(atoi(v), 1);
    assert_true(proc_line(h->p.pid, "status", "CapEff:", v, sizeof(v)));
    assert_int_equal(strtoull(v, NULL, 16), 0);
    assert_true(proc_line(h->p.pid, "status", "CapPrm:", v, sizeof(v)));
    assert_int_equal(strtoull(v, NULL, 16), 0);
    /* and the test process itself is not filtered: the value is the enclave's own */
    assert_true(proc_line(getpid(), "status", "Seccomp:", v, sizeof(v)));
    assert_int_equal(atoi(v), 0);
}

static void test_enclave_has_no_core_limit_and_locks_its_secrets(void **state)
{
    struct harness *h = *state;
    char v[256];
    unsigned long soft = 1, hard = 1;

    assert_true(proc_line(h->p.pid, "limits", "Max core file size", v, sizeof(v)));
    assert_int_equal(sscanf(v, "%lu %lu", &soft, &hard), 2);
    assert_int_equal(soft, 0);
    assert_int_equal(hard, 0);
    assert_true(proc_line(h->p.pid, "status", "VmLck:", v, sizeof(v)));
    assert_true(atol(v) > 0); /* kB locked: the secret page and OpenSSL's secure heap */
}

/* The enclave holds stdio and its one socket (fd 3), nothing else of the host's: this test
 * process has other descriptors open (the fake's files, its own end of the socket). */
static void test_enclave_inherits_no_other_descriptor(void **state)
{
    struct harness *h = calloc(1, sizeof(*h));
    struct gtee_enclave_info info;
    struct gtee_err err = {0};
    char path[64];
    struct dirent *d;
    int seen[4] = {0}, others = 0, extra;
    DIR *dir;

    /* a descriptor of the host without close-on-exec, open while the enclave starts */
    extra = open("/dev/null", O_RDONLY);
    assert_true(extra >= 0);
    assert_non_null(h);
    assert_int_equal(harness_start(h, NULL, NULL), 0);
    assert_int_equal(gtee_enclave_info(&h->p, &info, &err), 0);
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)h->p.pid);
    dir = opendir(path);
    if (dir) {
        while ((d = readdir(dir)) != NULL) {
            int fd;

            if (d->d_name[0] == '.')
                continue;
            fd = atoi(d->d_name);
            if (fd >= 0 && fd < 4)
                seen[fd] = 1;
            else
                others++;
        }
        closedir(dir);
    }
    close(extra);
    harness_stop(h);
    free(h);
    if (!dir)
        skip(); /* not root: a non-dumpable process's fd list is closed to us, as it should be */
    assert_true(seen[3]);
    assert_int_equal(others, 0);
}

static void test_host_cannot_attach_or_read_enclave_memory(void **state)
{
    struct harness *h = *state;
    pid_t control;
    int st;

    /* Control: the same child can inspect an ordinary (dumpable) process of the same user
     * holding the same (no) capabilities as the enclave, so a refusal below comes from the
     * enclave being not dumpable. */
    int ready[2];
    char c = 0;

    assert_int_equal(pipe(ready), 0);
    control = fork();
    assert_true(control >= 0);
    if (control == 0) {
        close(h->p.fd); /* the enclave must see the host close its socket */
        drop_caps(1);
        if (write(ready[1], "r", 1) != 1)
            _exit(92);
        pause();
        _exit(0);
    }
    close(ready[1]);
    assert_int_equal(read(ready[0], &c, 1), 1); /* its capabilities are gone */
    close(ready[0]);
    st = try_inspect(control);
    kill(control, SIGKILL);
    waitpid(control, NULL, 0);
    assert_int_equal(st, 0);

    assert_int_equal(try_inspect(h->p.pid), 1);
}

static void test_a_forbidden_system_call_kills_with_sigsys(void **state)
{
    pid_t c;
    int st = 0;

    /* The enclave's own filter, installed in a child that then asks for a socket. */
    c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        if (gtee_tee_seccomp(0, NULL) != 0)
            _exit(10);
        (void)getpid(); /* allowed */
        syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
        syscall(SYS_exit_group, 11);
    }
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGSYS);

    /* Control: allowed calls only, and the child exits normally. */
    c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        if (gtee_tee_seccomp(0, NULL) != 0)
            _exit(10);
        (void)getpid();
        syscall(SYS_exit_group, 0); /* not _exit: a sanitizer's _exit hook would scan for leaks */
    }
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ioctl is allowed for SNP_GET_DERIVED_KEY only; any other request kills. */
static void test_ioctl_is_allowed_only_for_the_snp_derived_key(void **state)
{
    pid_t c;
    int st = 0;

    c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        struct termios tio;

        if (gtee_tee_seccomp(0, NULL) != 0)
            syscall(SYS_exit_group, 10);
        ioctl(0, TCGETS, &tio);
        syscall(SYS_exit_group, 11);
    }
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGSYS);

    c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        if (gtee_tee_seccomp(0, NULL) != 0)
            syscall(SYS_exit_group, 10);
        /* allowed through the filter; the bad descriptor makes the kernel refuse it */
        syscall(SYS_exit_group, (ioctl(-1, SNP_GET_DERIVED_KEY, NULL) == -1 && errno == EBADF) ? 0 : 12);
    }
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enclave_runs_in_seccomp_filter_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enclave_has_no_core_limit_and_locks_its_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_cannot_attach_or_read_enclave_memory, setup, teardown),
        cmocka_unit_test(test_enclave_inherits_no_other_descriptor),
        cmocka_unit_test(test_a_forbidden_system_call_kills_with_sigsys),
        cmocka_unit_test(test_ioctl_is_allowed_only_for_the_snp_derived_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
