/* libFuzzer target: gtee-enclave's message handler (src/enclave/handler.c) on arbitrary
 * bytes, in an SDK application opened in this process (tests/unhardened.c), over the SGX
 * backend with Gramine's files as plain files in a private directory
 * (fixed sealing keys 0x00..0x0f and 0x10..0x1f, so seeds sealed under them unseal). Every
 * input must produce a well-formed reply; a crash or a missing reply is a finding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enclave/enclave.h"
#include "gtee/sdk.h"
#include "gtee/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n)
        abort();
    fclose(f);
}

static char root[] = "/tmp/gtee-fuzz-enclave-XXXXXX";

/* Leaves no directory behind when the fuzzer exits. */
static void cleanup(void)
{
    static const char *const files[] = { "dev/attestation/keys/_sgx_mrenclave", "dev/attestation/keys/_sgx_mrsigner",
                                         "dev/attestation/attestation_type", "dev/attestation/user_report_data",
                                         "dev/attestation/quote", "dev/attestation/keys", "dev/attestation", "dev", "" };
    char p[512];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", root, files[i]);
        remove(p);
    }
}

static struct enc *enclave(void)
{
    static struct enc *e;
    struct gtee_app_options opt = { .tee = "sgx" };
    struct gtee_app *app = NULL;
    uint8_t kenc[16], ksig[16], quote[1024] = { 3, 0, 2, 0 };
    char dir[256];

    if (e)
        return e;
    for (int i = 0; i < 16; i++) {
        kenc[i] = (uint8_t)i;
        ksig[i] = (uint8_t)(0x10 + i);
    }
    for (size_t i = 112; i < 144; i++)
        quote[i] = 0xab; /* MRENCLAVE */
    if (!mkdtemp(root))
        abort();
    atexit(cleanup);
    snprintf(dir, sizeof(dir), "%s/dev", root);
    mkdir(dir, 0700);
    snprintf(dir, sizeof(dir), "%s/dev/attestation", root);
    mkdir(dir, 0700);
    snprintf(dir, sizeof(dir), "%s/dev/attestation/keys", root);
    mkdir(dir, 0700);
    put(dir, "_sgx_mrenclave", kenc, 16);
    put(dir, "_sgx_mrsigner", ksig, 16);
    snprintf(dir, sizeof(dir), "%s/dev/attestation", root);
    put(dir, "attestation_type", "dcap", 4);
    put(dir, "user_report_data", "", 0);
    put(dir, "quote", quote, sizeof(quote));
    opt.root = root;
    if (gtee_app_open(&opt, &app, NULL) != 0 || enc_new(app, &e, NULL) != 0)
        abort();
    return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct enc *e = enclave();
    struct gtee_msg_header h;
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    int rc = enc_handle(e, data, size, &reply, &reply_len);

    if (rc == GTEE_ENOMEM)
        return 0;
    /* The reply is always a well-formed message of its own. */
    if (!reply || gtee_msg_header_parse(reply, reply_len, &h, NULL) != 0 ||
        h.length != reply_len - GTEE_MSG_HEADER_LEN || !(h.type & GTEE_MSG_REPLY))
        abort();
    free(reply);
    return 0;
}
