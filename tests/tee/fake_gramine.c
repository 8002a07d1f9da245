/* Test helper: Gramine's /dev/attestation under a fake root. attestation_type and the two
 * sealing key files are plain files; user_report_data and quote behave as in Gramine (the
 * quote read after a report-data write answers it) and the quote is a real SGX sample. */
#ifndef FAKE_GRAMINE_C
#define FAKE_GRAMINE_C

#include "tee/fake_fifo.c"

struct fake_gramine {
    char root[PATH_MAX];
    uint8_t *quote;
    size_t quote_len;
    struct fifo_server srv;
    int serving;
};

/* att_type NULL: no attestation_type file. Keys are 16 bytes as EGETKEY gives them. */
FAKE_API int fake_gramine_create(struct fake_gramine *f, const char *root, const char *quote_path,
                                 const char *att_type, const uint8_t mrenclave_key[16],
                                 const uint8_t mrsigner_key[16])
{
    char dir[PATH_MAX], p[PATH_MAX + 64];

    memset(f, 0, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "%s", root);
    snprintf(dir, sizeof(dir), "%s/dev/attestation/keys", root);
    if (fake_mkdirs(dir) != 0)
        return -1;
    f->quote = fake_load(quote_path, &f->quote_len);
    if (!f->quote)
        return -1;
    if (att_type) {
        snprintf(p, sizeof(p), "%s/dev/attestation/attestation_type", root);
        if (fake_write(p, att_type, strlen(att_type)) != 0)
            return -1;
    }
    snprintf(p, sizeof(p), "%s/_sgx_mrenclave", dir);
    if (fake_write(p, mrenclave_key, 16) != 0)
        return -1;
    snprintf(p, sizeof(p), "%s/_sgx_mrsigner", dir);
    if (fake_write(p, mrsigner_key, 16) != 0)
        return -1;
    snprintf(f->srv.in, sizeof(f->srv.in), "%s/dev/attestation/user_report_data", root);
    snprintf(f->srv.out, sizeof(f->srv.out), "%s/dev/attestation/quote", root);
    f->srv.reply = f->quote;
    f->srv.reply_len = f->quote_len;
    if (fifo_server_start(&f->srv) != 0)
        return -1;
    f->serving = 1;
    return 0;
}

FAKE_API void fake_gramine_destroy(struct fake_gramine *f)
{
    char p[PATH_MAX + 64];

    if (f->serving)
        fifo_server_stop(&f->srv);
    f->serving = 0;
    snprintf(p, sizeof(p), "%s/dev/attestation/attestation_type", f->root);
    unlink(p);
    snprintf(p, sizeof(p), "%s/dev/attestation/keys/_sgx_mrenclave", f->root);
    unlink(p);
    snprintf(p, sizeof(p), "%s/dev/attestation/keys/_sgx_mrsigner", f->root);
    unlink(p);
    snprintf(p, sizeof(p), "%s/dev/attestation/keys", f->root);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/dev/attestation", f->root);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/dev", f->root);
    rmdir(p);
    rmdir(f->root);
    free(f->quote);
    f->quote = NULL;
}

#endif
