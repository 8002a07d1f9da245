/* Process hardening of the simulated enclave, as far as Linux allows an ordinary process:
 * prctl(2) PR_SET_DUMPABLE, setrlimit(2) RLIMIT_CORE, capset(2) to none, mlock(2) +
 * madvise(2) MADV_DONTDUMP,
 * and a libseccomp allow-list; under Gramine on SGX, only what Gramine implements and the CPU
 * does not already enforce. docs/tee.md §8 says what this does and does not stop. */
#include <errno.h>
#include <openssl/crypto.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <linux/capability.h>
#include <linux/sev-guest.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/guard.h"
#include "enclave/enclave.h"
#include "gtee/crypto.h"

/* No capabilities at all: the enclave needs none (its files are reached by ordinary
 * permissions), and a process with fewer capabilities than the host's user can be inspected
 * by that user only if it is dumpable, which it is not. */
static int drop_capabilities(void)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct none[2];

    memset(none, 0, sizeof(none));
    return (int)syscall(SYS_capset, &hdr, none);
}

/* Under Gramine (gtee_enclave_harden_gramine) the SGX CPU is the boundary, and locking or
 * not-dumping pages is a hint Gramine may not implement: their failure is then reported,
 * not fatal. Never set for sim, tdx or snp. */
static int under_gramine;

int gtee_enclave_harden(struct gtee_err *err)
{
    struct rlimit none = { 0, 0 };

    /* Not dumpable: /proc/<pid>/mem and ptrace attach need CAP_SYS_PTRACE, no core dump. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return GTEE_FAIL(err, GTEE_EIO, "harden: PR_SET_DUMPABLE failed (%s)", strerror(errno));
    if (setrlimit(RLIMIT_CORE, &none) != 0)
        return GTEE_FAIL(err, GTEE_EIO, "harden: RLIMIT_CORE failed (%s)", strerror(errno));
    if (drop_capabilities() != 0)
        return GTEE_FAIL(err, GTEE_EIO, "harden: dropping capabilities failed (%s)", strerror(errno));
    /* OpenSSL's secure heap is mlock()ed and MADV_DONTDUMP; EC and BN private keys go there. */
    if (!CRYPTO_secure_malloc_initialized() && CRYPTO_secure_malloc_init(1 << 16, 16) != 1)
        return GTEE_FAIL(err, GTEE_EIO, "harden: OpenSSL secure heap unavailable (RLIMIT_MEMLOCK?)");
    return 0;
}

/* Gramine implements neither capabilities nor core dumps of the host kind, and the host
 * kernel cannot read an SGX enclave's pages (EPC): PR_SET_DUMPABLE, RLIMIT_CORE and capset
 * protect nothing there and are skipped. The secure heap is still set up; under Gramine a
 * partial set-up (no mlock or guard pages: OpenSSL returns 2) is accepted. */
int gtee_enclave_harden_gramine(char *skipped, size_t len, struct gtee_err *err)
{
    int r;

    under_gramine = 1;
    if (!CRYPTO_secure_malloc_initialized()) {
        r = CRYPTO_secure_malloc_init(1 << 16, 16);
        if (r != 1 && r != 2)
            return GTEE_FAIL(err, GTEE_EIO, "harden: OpenSSL secure heap unavailable");
    } else {
        r = 1;
    }
    snprintf(skipped, len,
             "under Gramine (SGX enforces the boundary) skipped: PR_SET_DUMPABLE, RLIMIT_CORE, capset, "
             "seccomp; secret pages locked if Gramine allows%s",
             r == 2 ? "; OpenSSL secure heap without mlock/guard pages" : "");
    return 0;
}

void *gtee_enclave_secret_alloc(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
    if ((mlock(p, len) != 0 || madvise(p, len, MADV_DONTDUMP) != 0) && !under_gramine) {
        munmap(p, len);
        return NULL;
    }
    return p;
}

void gtee_enclave_secret_free(void *p, size_t len)
{
    if (!p)
        return;
    gtee_wipe(p, len);
    munlock(p, len);
    munmap(p, len);
}

/* What the message loop needs after start-up: socket I/O, the backends' interface files
 * (Gramine pseudo-files, configfs-tsm entries, the sim directory), memory management for
 * malloc and OpenSSL, randomness, and exit. No exec, no fork, no new sockets, no ptrace. */
static const int allowed[] = {
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
    SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(sendmsg),
    SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
    SCMP_SYS(stat), SCMP_SYS(statx), SCMP_SYS(lseek), SCMP_SYS(fcntl),
    SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rmdir), SCMP_SYS(unlinkat), SCMP_SYS(getpid),
    SCMP_SYS(getrandom), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk),
    SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(mlock), SCMP_SYS(munlock), SCMP_SYS(futex),
    SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(exit), SCMP_SYS(exit_group),
};

int gtee_enclave_seccomp(struct gtee_err *err)
{
    const struct scmp_arg_cmp only_snp_key = { .arg = 1, .op = SCMP_CMP_EQ, .datum_a = SNP_GET_DERIVED_KEY,
                                               .datum_b = 0 };
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    int rc = GTEE_EIO;

    ENSURE(ctx, err, GTEE_EIO, "seccomp: init failed");
    for (size_t i = 0; i < GTEE_ARRAY_LEN(allowed); i++)
        ENSURE(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0) == 0, err, GTEE_EIO,
               "seccomp: rule %zu rejected", i);
    /* ioctl(2) only for the SEV-SNP derived key (src/tee/snp_key.c). */
    ENSURE(seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &only_snp_key) == 0, err, GTEE_EIO,
           "seccomp: ioctl rule rejected");
    /* The filter needs no_new_privs (set by libseccomp by default). */
    ENSURE(seccomp_load(ctx) == 0, err, GTEE_EIO, "seccomp: loading the filter failed");
    rc = 0;
out:
    seccomp_release(ctx);
    return rc;
}
