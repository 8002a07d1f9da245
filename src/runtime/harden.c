/* The enclave's own part of its hardening: its locked, dump-excluded secret memory, and the
 * relaxed set-up under Gramine on SGX (only what Gramine implements and the CPU does not
 * already enforce). The process hardening and the seccomp filter it shares with the
 * key-release service and SDK applications are gtee_tee_harden and gtee_tee_seccomp
 * (src/tee/harden.c). docs/tee.md §8 says what this does and does not stop. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "base/guard.h"
#include "runtime/enclave.h"
#include "gtee/crypto.h"

/* Under Gramine (gtee_enclave_harden_gramine) the SGX CPU is the boundary, and locking or
 * not-dumping pages is a hint Gramine may not implement: their failure is then reported,
 * not fatal. Never set for sim, tdx or snp. */
static int under_gramine;

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
