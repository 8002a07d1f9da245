/* Test helper: start the real gtee-enclave executable over a fake Gramine (SGX backend), so
 * the enclave process runs the code path it runs on hardware with only the root changed. */
#ifndef ENCLAVE_HARNESS_C
#define ENCLAVE_HARNESS_C

#include "gtee/enclave.h"
#include "gtee/msg.h"
#include "tee/fake_gramine.c"

struct harness {
    struct fake_gramine f;
    struct gtee_enclave_proc p;
};

static const uint8_t harness_kenc[16] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                                          0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f };
static const uint8_t harness_ksig[16] = { 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
                                          0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f };

FAKE_API const char *harness_binary(void)
{
    const char *b = getenv("GTEE_ENCLAVE");

    return b ? b : "gtee-enclave";
}

FAKE_API int harness_start(struct harness *h, const char *binary, const char *config)
{
    struct gtee_enclave_launch l = {0};
    struct gtee_err err = {0};
    char root[PATH_MAX], q[PATH_MAX];

    if (fake_tmpdir(root, sizeof(root), "encl") != 0)
        return -1;
    vector_path(q, sizeof(q), "sgx/sgx-1/quote.bin");
    if (fake_gramine_create(&h->f, root, q, "dcap", harness_kenc, harness_ksig) != 0)
        return -1;
    l.binary = binary ? binary : harness_binary();
    l.tee = "sgx";
    l.root = h->f.root;
    l.config = config;
    if (gtee_enclave_start(&l, &h->p, &err) != 0) {
        fprintf(stderr, "harness: %s\n", err.msg);
        return -1;
    }
    return 0;
}

FAKE_API int harness_stop(struct harness *h)
{
    int st = 0;

    (void)gtee_enclave_stop(&h->p, &st);
    fake_gramine_destroy(&h->f);
    return st;
}

#endif
