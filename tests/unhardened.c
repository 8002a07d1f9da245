/* Test and fuzz builds only: the runtime's hardening (src/runtime/app_harden.c) replaced for
 * a program that hosts SDK applications inside its own process, which a seccomp list and a
 * wiped environment would end. Linked ahead of the enclave library by CMake (the
 * GTEE_UNHARDENED list), so the library's own object is never pulled in; the installed
 * libraries are one object each, where nothing can replace it. The tests that check the
 * hardening itself start applications as processes of their own. */
#include "gtee/sdk.h"
#include "runtime/internal.h"

int sdk_harden_process(const struct gtee_app_options *o, char *note, size_t note_len, struct gtee_err *err)
{
    (void)o;
    (void)err;
    if (note_len)
        note[0] = '\0';
    return 0;
}

int sdk_harden_seccomp(const struct gtee_app_options *o, struct gtee_err *err)
{
    (void)o;
    (void)err;
    return 0;
}
