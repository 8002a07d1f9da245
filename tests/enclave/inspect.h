/* Test helper: looking at a running process from outside, as the same user without
 * CAP_SYS_PTRACE would (attach, /proc/<pid>/mem) and as root does (/proc/<pid>/status,
 * limits, environ). Shared by the hardening tests of gtee-enclave, the key-release service
 * and SDK applications, and by the TDX enclave process test. Include after cmocka.h. */
#ifndef ENCLAVE_INSPECT_H
#define ENCLAVE_INSPECT_H

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Each test uses some of these. */
#define INSPECT_API static __attribute__((unused))

/* The value of a "Name:" line of /proc/<pid>/status, or of a /proc/<pid>/limits row. */
INSPECT_API int proc_line(pid_t pid, const char *file, const char *prefix, char *out, size_t len)
{
    char path[64], line[512];
    FILE *f;
    int found = 0;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    f = fopen(path, "r");
    if (!f)
        return 0;
    while (!found && fgets(line, sizeof(line), f))
        if (strncmp(line, prefix, strlen(prefix)) == 0) {
            snprintf(out, len, "%s", line + strlen(prefix));
            found = 1;
        }
    fclose(f);
    return found;
}

/* Drops CAP_SYS_PTRACE (the host's user without the capability a root host would have),
 * or every capability (as the enclave does). */
INSPECT_API void drop_caps(int all)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];

    if (syscall(SYS_capget, &hdr, data) != 0)
        _exit(90);
    if (all)
        memset(data, 0, sizeof(data));
    data[CAP_SYS_PTRACE / 32].effective &= ~(1u << (CAP_SYS_PTRACE % 32));
    data[CAP_SYS_PTRACE / 32].permitted &= ~(1u << (CAP_SYS_PTRACE % 32));
    data[CAP_SYS_PTRACE / 32].inheritable &= ~(1u << (CAP_SYS_PTRACE % 32));
    if (syscall(SYS_capset, &hdr, data) != 0)
        _exit(91);
}

/* In a child without CAP_SYS_PTRACE: 0 if attach and /proc/<pid>/mem both work, 1 if both
 * fail with a permission error, another value otherwise. */
INSPECT_API int try_inspect(pid_t target)
{
    pid_t c = fork();
    int st = 0;

    assert_true(c >= 0);
    if (c == 0) {
        char path[64];
        int attach_ok, mem_ok, fd;

        drop_caps(0);
        /* PTRACE_SEIZE: the attach permission check of PTRACE_ATTACH without stopping the
         * target; our exit detaches. */
        attach_ok = ptrace(PTRACE_SEIZE, target, NULL, NULL) == 0;
        if (!attach_ok && errno != EPERM)
            _exit(20);
        snprintf(path, sizeof(path), "/proc/%d/mem", (int)target);
        fd = open(path, O_RDONLY);
        mem_ok = fd >= 0;
        if (fd >= 0)
            close(fd);
        else if (errno != EACCES && errno != EPERM)
            _exit(21);
        _exit(attach_ok && mem_ok ? 0 : (!attach_ok && !mem_ok ? 1 : 22));
    }
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* Can this process read a non-dumpable process's memory and environment (CAP_SYS_PTRACE)? */
INSPECT_API int can_read_nondumpable(void)
{
    int pfd[2], ok = 0;
    pid_t pid;

    if (pipe(pfd) != 0)
        return 0;
    pid = fork();
    if (pid == 0) {
        char c;

        prctl(PR_SET_DUMPABLE, 0);
        close(pfd[1]);
        if (read(pfd[0], &c, 1) < 0)
            _exit(1);
        _exit(0);
    }
    close(pfd[0]);
    if (pid > 0) {
        static const char probe[] = "x"; /* at the same address in the forked child */
        char p[64], b[1];
        int fd;

        usleep(50000); /* let the child turn itself non-dumpable */
        snprintf(p, sizeof(p), "/proc/%d/mem", (int)pid);
        fd = open(p, O_RDONLY);
        if (fd >= 0) {
            ok = pread(fd, b, 1, (off_t)(uintptr_t)probe) == 1 && b[0] == 'x';
            close(fd);
        }
        close(pfd[1]);
        waitpid(pid, NULL, 0);
    }
    return ok;
}

#endif
