/* The runtime's hardening, applied by gtee_app_open to every application (docs/tee.md §8):
 * the process steps before any secret exists, and the seccomp list once start-up is over.
 * Under Gramine on SGX only what Gramine implements and the CPU does not already enforce.
 * Alone in its object file so that in-tree tests hosting an application inside their own
 * process can link tests/unhardened.c instead; nothing else can opt out. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/sdk.h"
#include "gtee/tee.h"
#include "runtime/internal.h"

_Static_assert(GTEE_APP_ALLOW_NET == (GTEE_HARDEN_NET_SERVE | GTEE_HARDEN_NET_OPEN) &&
                   GTEE_APP_ALLOW_FILES == GTEE_HARDEN_FILES && GTEE_APP_ALLOW_JIT == GTEE_HARDEN_JIT,
               "the SDK's allow bits are the hardening's");

/* gramine (set only by the manifest's arguments, so covered by MRENCLAVE) is believed only
 * with the sgx backend and Gramine's attestation pseudo-file under the root. */
static int check_gramine(const struct gtee_app_options *o, struct gtee_err *err)
{
    char p[4096];
    int n;

    if (!o->gramine)
        return 0;
    if (!o->tee || strcmp(o->tee, "sgx") != 0)
        return GTEE_FAIL(err, GTEE_EINVAL, "sdk: gramine is only for the sgx backend");
    n = snprintf(p, sizeof(p), "%s/dev/attestation/attestation_type", o->root ? o->root : "");
    if (n <= 0 || (size_t)n >= sizeof(p) || access(p, R_OK) != 0)
        return GTEE_FAIL(err, GTEE_EINVAL, "sdk: gramine set but %s is missing: not under Gramine", p);
    return 1;
}

/* Gramine implements neither capabilities nor core dumps of the host kind, and the host
 * kernel cannot read an SGX enclave's pages (EPC): PR_SET_DUMPABLE, RLIMIT_CORE and capset
 * protect nothing there and are skipped. The secure heap is still set up; under Gramine a
 * partial set-up (no mlock or guard pages: OpenSSL returns 2) is accepted. */
static int harden_gramine(char *note, size_t note_len, struct gtee_err *err)
{
    int r = 1;

    sdk_memory_lock_optional = 1;
    if (!CRYPTO_secure_malloc_initialized()) {
        r = CRYPTO_secure_malloc_init(1 << 16, 16);
        if (r != 1 && r != 2)
            return GTEE_FAIL(err, GTEE_EIO, "harden: OpenSSL secure heap unavailable");
    }
    snprintf(note, note_len,
             "under Gramine (SGX enforces the boundary) skipped: PR_SET_DUMPABLE, RLIMIT_CORE, capset, "
             "seccomp; secret pages locked if Gramine allows%s",
             r == 2 ? "; OpenSSL secure heap without mlock/guard pages" : "");
    return 0;
}

int sdk_harden_process(const struct gtee_app_options *o, char *note, size_t note_len, struct gtee_err *err)
{
    int g = check_gramine(o, err);

    note[0] = '\0';
    if (g < 0)
        return g;
    return g ? harden_gramine(note, note_len, err) : gtee_tee_harden(err);
}

/* Gramine implements no seccomp (the host kernel's filter would see Gramine's own calls,
 * not ours); the skip is in the note. */
int sdk_harden_seccomp(const struct gtee_app_options *o, struct gtee_err *err)
{
    return o->gramine ? 0 : gtee_tee_seccomp(o->allow, err);
}
