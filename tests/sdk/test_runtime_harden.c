/* The one runtime's hardening, as every application gets it from gtee_app_open (docs/tee.md
 * §8): each case opens an application in a child process of its own, then tries what its
 * seccomp list allows or forbids. A forbidden call ends the process with SIGSYS; what the
 * application did not ask for (GTEE_APP_ALLOW_*) is forbidden; executable memory only by
 * mprotect and only with GTEE_APP_ALLOW_JIT (otherwise EPERM, the process lives); and the ML
 * engine runs a convolutional model under the full list, threads included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "gtee/dataset.h"
#include "gtee/ml.h"
#include "gtee/sdk.h"
#include "gtee/sim.h"
#include "tee/fake_fifo.c"

static char dev[PATH_MAX];
static char models[PATH_MAX + 32]; /* read before the child's environment is cleared */

/* Children end with exit_group directly: a sanitizer's _exit hook would scan for leaks. */
static void child_exit(int code)
{
    syscall(SYS_exit_group, code);
    abort();
}

static void open_app(unsigned allow)
{
    struct gtee_app_options o = { .tee = "sim", .sim_dir = dev, .config = "harden test", .allow = allow };
    struct gtee_app *app = NULL;
    struct gtee_err err = {0};

    if (gtee_ml_prepare(&err) != 0 || gtee_app_open(&o, &app, &err) != 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        child_exit(90);
    }
    if (gtee_app_hardening_note(app)[0])
        child_exit(91); /* nothing is skipped outside Gramine */
}

/* Runs fn in a child after opening an application with `allow`; the child's wait status. */
static int in_app(unsigned allow, void (*fn)(void))
{
    int st = 0;
    pid_t c = fork();

    assert_true(c >= 0);
    if (c == 0) {
        open_app(allow);
        fn();
        child_exit(0);
    }
    assert_int_equal(waitpid(c, &st, 0), c);
    return st;
}

static void killed_by_sigsys(int st)
{
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void exited(int st, int code)
{
    if (!WIFEXITED(st))
        fail_msg("child ended by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    assert_int_equal(WEXITSTATUS(st), code);
}

static void make_socket(void)
{
    if (syscall(SYS_socket, AF_INET, SOCK_STREAM, 0) < 0)
        child_exit(10);
}

static void make_process(void)
{
    syscall(SYS_fork);
    child_exit(11);
}

static void run_program(void)
{
    char *argv[] = { (char *)"/bin/true", NULL };

    syscall(SYS_execve, "/bin/true", argv, NULL);
    child_exit(12);
}

static void exec_memory_by_mprotect(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        child_exit(13);
    if (mprotect(p, 4096, PROT_READ | PROT_WRITE | PROT_EXEC) == 0)
        child_exit(0);
    child_exit(errno == EPERM ? 20 : 14);
}

static void exec_memory_by_mmap(void)
{
    (void)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    child_exit(15);
}

/* A convolutional model (oneDNN, its JIT, OpenBLAS and the engine's threads) under the full
 * list: exit 0 when it ran, 21 when it failed with an error (the process lives). */
static void run_cnn(void)
{
    char path[PATH_MAX];
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_options mo = { .threads = 2 };
    struct gtee_array x = {0};
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 0, {0}, NULL }, y = {0};
    struct gtee_err err = {0};

    snprintf(path, sizeof(path), "%s/resnet.onnx", models);
    if (gtee_ml_model_load_file(path, NULL, &m, &err) != 0)
        child_exit(16);
    snprintf(path, sizeof(path), "%s/resnet.input.npy", models);
    if (gtee_npy_load(path, GTEE_ARRAY_F32, GTEE_NORM_NONE, &x, &err) != 0)
        child_exit(17);
    in.rank = (int)x.ndim;
    for (size_t i = 0; i < x.ndim; i++)
        in.dim[i] = (int64_t)x.dims[i];
    in.data = x.f32;
    if (gtee_ml_session_new(m, &mo, &s, &err) != 0)
        child_exit(18);
    if (gtee_ml_run(s, &in, 1, &y, 1, &err) != 0)
        child_exit(strstr(err.msg, "oneDNN") ? 21 : 19);
    child_exit(0);
}

static void test_forbidden_calls_end_the_application(void **state)
{
    (void)state;
    killed_by_sigsys(in_app(0, make_socket));
    exited(in_app(GTEE_APP_ALLOW_NET, make_socket), 0);
    killed_by_sigsys(in_app(GTEE_APP_ALLOW_NET | GTEE_APP_ALLOW_FILES | GTEE_APP_ALLOW_JIT, make_process));
    killed_by_sigsys(in_app(GTEE_APP_ALLOW_NET | GTEE_APP_ALLOW_FILES | GTEE_APP_ALLOW_JIT, run_program));
}

static void test_executable_memory_only_with_the_jit_allowance(void **state)
{
    (void)state;
    exited(in_app(0, exec_memory_by_mprotect), 20);               /* refused, alive */
    exited(in_app(GTEE_APP_ALLOW_JIT, exec_memory_by_mprotect), 0);
    killed_by_sigsys(in_app(GTEE_APP_ALLOW_JIT, exec_memory_by_mmap)); /* never new code */
}

static void test_the_ml_engine_runs_under_the_full_list(void **state)
{
    (void)state;
    exited(in_app(GTEE_APP_ALLOW_JIT, run_cnn), 0);
    exited(in_app(0, run_cnn), 21); /* the JIT refused: an error, not a kill */
}

static int setup(void **state)
{
    char dir[PATH_MAX];

    (void)state;
    if (fake_tmpdir(dir, sizeof(dir), "rtharden") != 0)
        return -1;
    snprintf(dev, sizeof(dev), "%s/dev", dir);
    snprintf(models, sizeof(models), "%s/tests/ml/models", getenv("GTEE_SOURCE_DIR"));
    return gtee_sim_init(dev, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    char dir[PATH_MAX];

    (void)state;
    snprintf(dir, sizeof(dir), "%s", dev);
    *strrchr(dir, '/') = '\0';
    fake_rmtree(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forbidden_calls_end_the_application),
        cmocka_unit_test(test_executable_memory_only_with_the_jit_allowance),
        cmocka_unit_test(test_the_ml_engine_runs_under_the_full_list),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
