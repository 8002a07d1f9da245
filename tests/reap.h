/* The one C helper that keeps a test's long-lived children (servers it forks) from outliving
 * it: whether the test passes, fails an assertion (cmocka jumps past its own cleanup) or dies. */
#ifndef GTEE_TESTS_REAP_H
#define GTEE_TESTS_REAP_H

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define REAP_MAX 32

static pid_t reap_pids[REAP_MAX];

/* atexit: SIGKILL and collect every child still tracked (the normal path has stopped them). */
static void reap_all(void)
{
    for (int i = 0; i < REAP_MAX; i++) {
        if (reap_pids[i] > 0) {
            kill(reap_pids[i], SIGKILL);
            waitpid(reap_pids[i], NULL, 0);
            reap_pids[i] = 0;
        }
    }
}

/* In the child, right after fork(), before exec: the kernel kills it when the test process
 * dies, which also covers a crash or an abort, where atexit handlers never run. The parent
 * may already be gone by the time the request lands; then the child leaves at once. */
__attribute__((unused)) static void reap_child_init(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(125);
}

/* In the parent: tracks pid until reap_forget, and kills it at exit if it is still tracked
 * then. A child beyond REAP_MAX is killed at once, so no test can start one untracked. */
__attribute__((unused)) static void reap_track(pid_t pid)
{
    static int registered;

    if (!registered) {
        registered = 1;
        atexit(reap_all);
    }
    for (int i = 0; i < REAP_MAX; i++) {
        if (reap_pids[i] <= 0) {
            reap_pids[i] = pid;
            return;
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* After the caller has collected pid itself (waitpid). */
__attribute__((unused)) static void reap_forget(pid_t pid)
{
    for (int i = 0; i < REAP_MAX; i++)
        if (reap_pids[i] == pid)
            reap_pids[i] = 0;
}

#endif
