/* Process hardening for every process that holds TEE secrets: gtee-enclave, the key-release
 * service (`gtee keyrelease serve`) and SDK applications (docs/tee.md §8). It lives in the
 * TEE runtime because the enclave, the CLI and the SDK all depend on this part and it on
 * none of them; src/base, below crypto and libseccomp, could not hold it. */
#include <errno.h>
#include <openssl/crypto.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <linux/capability.h>
#include <linux/sev-guest.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/tee.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HARDEN_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define HARDEN_SANITIZED 1
#endif

extern char **environ;

/* No capabilities at all: these processes reach their files by ordinary permissions, and a
 * process with fewer capabilities than its user can be inspected by that user only if it is
 * dumpable, which it is not. */
static int drop_capabilities(void)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct none[2];

    memset(none, 0, sizeof(none));
    return (int)syscall(SYS_capset, &hdr, none);
}

/* What the process was started with (LD_PRELOAD, OPENSSL_CONF, a token in a variable) is
 * gone from /proc/<pid>/environ, which shows the strings themselves, not environ[]: so they
 * are wiped in place before the list is dropped. gtee-enclave starts with none (launch.c);
 * for the service and applications this gives the same state. */
static void clear_environment(void)
{
    for (char **e = environ; e && *e; e++)
        gtee_wipe(*e, strlen(*e));
    (void)clearenv();
}

int gtee_tee_harden(struct gtee_err *err)
{
    struct rlimit none = { 0, 0 };

    /* Not dumpable: /proc/<pid>/mem and ptrace attach need CAP_SYS_PTRACE, no core dump. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return GTEE_FAIL(err, GTEE_EIO, "harden: PR_SET_DUMPABLE failed (%s)", strerror(errno));
    if (setrlimit(RLIMIT_CORE, &none) != 0)
        return GTEE_FAIL(err, GTEE_EIO, "harden: RLIMIT_CORE failed (%s)", strerror(errno));
    if (drop_capabilities() != 0)
        return GTEE_FAIL(err, GTEE_EIO, "harden: dropping capabilities failed (%s)", strerror(errno));
    clear_environment();
    /* OpenSSL's secure heap is mlock()ed and MADV_DONTDUMP; EC and BN private keys go there. */
    if (!CRYPTO_secure_malloc_initialized() && CRYPTO_secure_malloc_init(1 << 16, 16) != 1)
        return GTEE_FAIL(err, GTEE_EIO, "harden: OpenSSL secure heap unavailable (RLIMIT_MEMLOCK?)");
    return 0;
}

/* The base: what any of these processes needs once start-up is over. I/O on descriptors it
 * holds (the host's socket, the backends' interface files: Gramine pseudo-files,
 * configfs-tsm entries, the sim directory), memory management for malloc, OpenSSL and the
 * ML engine's buffers (mmap and mprotect below, never executable), randomness, time,
 * waiting, threads (clone below, CLONE_THREAD only) and exit. No exec, no fork, no new
 * sockets, no ptrace, no process_vm_readv. */
static const int base_calls[] = {
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
    SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(sendmsg),
    SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
    SCMP_SYS(stat), SCMP_SYS(statx), SCMP_SYS(lseek), SCMP_SYS(fcntl),
    SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rmdir), SCMP_SYS(unlinkat), SCMP_SYS(getpid),
    SCMP_SYS(getrandom), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk),
    SCMP_SYS(madvise), SCMP_SYS(mlock), SCMP_SYS(munlock), SCMP_SYS(futex),
    SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(exit), SCMP_SYS(exit_group),
    /* waiting and threads (the SDK's sessions, OpenBLAS's and the engine's thread pools) */
    SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6), SCMP_SYS(epoll_create1),
    SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep), SCMP_SYS(clock_getres), SCMP_SYS(time), SCMP_SYS(rt_sigaction),
    SCMP_SYS(sigaltstack), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity), SCMP_SYS(gettid),
    SCMP_SYS(tgkill), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(set_tid_address),
    SCMP_SYS(prlimit64), SCMP_SYS(getrlimit), SCMP_SYS(membarrier), SCMP_SYS(futex_waitv),
    SCMP_SYS(restart_syscall), SCMP_SYS(getcpu), SCMP_SYS(sysinfo), SCMP_SYS(uname),
    SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(getppid),
    SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(pipe2), SCMP_SYS(eventfd2),
    SCMP_SYS(munlockall), SCMP_SYS(mincore),
};

/* NUMA placement hints (OpenBLAS and oneDNN ask, and carry on without): refused with EPERM
 * rather than allowed, as placement is no business of the enclave's. */
static const int numa_calls[] = { SCMP_SYS(mbind), SCMP_SYS(set_mempolicy), SCMP_SYS(get_mempolicy) };

/* GTEE_HARDEN_NET_SERVE: accepting and serving connections with a deadline. */
static const int serve_calls[] = {
    SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
    SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(shutdown),
};

/* GTEE_HARDEN_NET_OPEN: an application may listen after gtee_app_open and call other
 * enclaves as a client. */
static const int open_calls[] = {
    SCMP_SYS(socket), SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(connect),
};

/* GTEE_HARDEN_FILES: its own log and state files, written through the safe output helper
 * (temporary, fsync, rename). */
static const int file_calls[] = {
    SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
    SCMP_SYS(fchmod), SCMP_SYS(fchmodat), SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2),
    SCMP_SYS(unlink), SCMP_SYS(ftruncate), SCMP_SYS(getdents64), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
    SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(getcwd), SCMP_SYS(umask),
};

#ifdef HARDEN_SANITIZED
/* Sanitizer builds only: LeakSanitizer's exit-time scan makes the process dumpable again,
 * clones a tracer and ptraces its threads; the filter would kill it. Never in a release. */
static const int sanitizer_calls[] = {
    SCMP_SYS(clone), SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(prctl), SCMP_SYS(kill),
    SCMP_SYS(process_vm_readv), SCMP_SYS(getdents), /* the tracer lists /proc/self/task */
};
static const int sanitizer_dir_call[] = { SCMP_SYS(getdents64) }; /* in file_calls too */
#endif

static int add_all(scmp_filter_ctx ctx, uint32_t action, const int *calls, size_t n, struct gtee_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (seccomp_rule_add(ctx, action, calls[i], 0) != 0)
            return GTEE_FAIL(err, GTEE_EIO, "seccomp: rule for system call %d rejected", calls[i]);
    return 0;
}

static int add_if(scmp_filter_ctx ctx, uint32_t action, int call, struct scmp_arg_cmp cmp, struct gtee_err *err)
{
    if (seccomp_rule_add_array(ctx, action, call, 1, &cmp) != 0)
        return GTEE_FAIL(err, GTEE_EIO, "seccomp: conditional rule for system call %d rejected", call);
    return 0;
}

/* Memory is mapped without PROT_EXEC, always: the libraries are mapped before the filter.
 * mprotect may add PROT_EXEC only under GTEE_HARDEN_JIT; otherwise it fails with EPERM, so
 * oneDNN's JIT reports an error instead of killing the enclave mid-request. */
static int memory_rules(scmp_filter_ctx ctx, unsigned allow, struct gtee_err *err)
{
    const struct scmp_arg_cmp no_exec = { .arg = 2, .op = SCMP_CMP_MASKED_EQ, .datum_a = PROT_EXEC, .datum_b = 0 };
    const struct scmp_arg_cmp exec = { .arg = 2, .op = SCMP_CMP_MASKED_EQ, .datum_a = PROT_EXEC,
                                       .datum_b = PROT_EXEC };
    int rc;

    TRY(add_if(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), no_exec, err));
    TRY(add_if(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), no_exec, err));
    TRY(add_if(ctx, (allow & GTEE_HARDEN_JIT) ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mprotect), exec,
               err));
out:
    return rc;
}

int gtee_tee_seccomp(unsigned allow, struct gtee_err *err)
{
    const struct scmp_arg_cmp only_snp_key = { .arg = 1, .op = SCMP_CMP_EQ, .datum_a = SNP_GET_DERIVED_KEY,
                                               .datum_b = 0 };
    /* A thread, never a process: clone(2) must carry CLONE_THREAD. */
    const struct scmp_arg_cmp only_threads = { .arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = CLONE_THREAD,
                                               .datum_b = CLONE_THREAD };
    scmp_filter_ctx ctx = NULL;
    int rc = GTEE_EINVAL;

    ENSURE((allow & ~(unsigned)GTEE_HARDEN_ALL) == 0, err, GTEE_EINVAL, "seccomp: unknown allow bits 0x%x",
           allow & ~(unsigned)GTEE_HARDEN_ALL);
    ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    ENSURE(ctx, err, GTEE_EIO, "seccomp: init failed");
    TRY(add_all(ctx, SCMP_ACT_ALLOW, base_calls, GTEE_ARRAY_LEN(base_calls), err));
    TRY(add_all(ctx, SCMP_ACT_ERRNO(EPERM), numa_calls, GTEE_ARRAY_LEN(numa_calls), err));
    TRY(memory_rules(ctx, allow, err));
    /* ioctl(2) only for the SEV-SNP derived key (src/tee/snp_key.c). */
    TRY(add_if(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), only_snp_key, err));
#ifndef HARDEN_SANITIZED
    TRY(add_if(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), only_threads, err));
#else
    (void)only_threads;
    TRY(add_all(ctx, SCMP_ACT_ALLOW, sanitizer_calls, GTEE_ARRAY_LEN(sanitizer_calls), err));
    if (!(allow & GTEE_HARDEN_FILES))
        TRY(add_all(ctx, SCMP_ACT_ALLOW, sanitizer_dir_call, 1, err));
#endif
    /* clone3 passes its flags in memory the filter cannot read: ENOSYS makes the C library
     * fall back to clone, whose flags it can. */
    ENSURE(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) == 0, err, GTEE_EIO,
           "seccomp: clone3 rule rejected");
    if (allow & GTEE_HARDEN_NET_SERVE)
        TRY(add_all(ctx, SCMP_ACT_ALLOW, serve_calls, GTEE_ARRAY_LEN(serve_calls), err));
    if (allow & GTEE_HARDEN_NET_OPEN)
        TRY(add_all(ctx, SCMP_ACT_ALLOW, open_calls, GTEE_ARRAY_LEN(open_calls), err));
    if (allow & GTEE_HARDEN_FILES)
        TRY(add_all(ctx, SCMP_ACT_ALLOW, file_calls, GTEE_ARRAY_LEN(file_calls), err));
    /* The filter needs no_new_privs (set by libseccomp by default). */
    ENSURE(seccomp_load(ctx) == 0, err, GTEE_EIO, "seccomp: loading the filter failed");
    rc = 0;
out:
    if (ctx)
        seccomp_release(ctx);
    return rc;
}
