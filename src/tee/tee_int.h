/* Internal to src/tee: the backend handle, the backends' ops tables and the file helpers
 * every backend uses for its interface files (plain open/read/write, as on hardware). */
#ifndef GTEE_TEE_INT_H
#define GTEE_TEE_INT_H

#include <limits.h>

#include "gtee/tee.h"

struct gtee_tee {
    const struct gtee_tee_ops *ops;
    struct gtee_tee_options opt;   /* opt.root points at root[] */
    char root[PATH_MAX];
    void *state;                   /* the backend's own */
};

extern const struct gtee_tee_ops gtee_tee_sgx_ops;
extern const struct gtee_tee_ops gtee_tee_tdx_ops;
extern const struct gtee_tee_ops gtee_tee_snp_ops;
extern const struct gtee_tee_ops gtee_tee_sim_ops;

/* root + "/" + rel into out; GTEE_EINVAL if it does not fit. */
int tee_path(char *out, size_t out_len, const char *root, const char *rel, struct gtee_err *err);
/* Reads a whole file (at most max bytes; longer is GTEE_EFORMAT). *buf is malloc'd. */
int tee_read_file(const char *path, size_t max, uint8_t **buf, size_t *len, struct gtee_err *err);
/* Reads a small text attribute into out (NUL-terminated, trailing whitespace removed). */
int tee_read_text(const char *path, char *out, size_t out_len, struct gtee_err *err);
/* The parse tee_read_text applies to the n bytes it read (n < out_len): trailing newlines,
 * spaces and NULs dropped; a NUL before them is GTEE_EFORMAT. what names the file. */
int tee_text_parse(const uint8_t *b, size_t n, char *out, size_t out_len, const char *what, struct gtee_err *err);
/* configfs-tsm (src/tee/tsm.c): a `generation` attribute's text is a decimal number, digits
 * only; the measurement in an outblob of kind TDX (quote v4: MRTD) or SNP (MEASUREMENT). */
int tee_tsm_parse_generation(const char *text, unsigned long *gen, const char *what, struct gtee_err *err);
int tee_tsm_outblob_measurement(enum gtee_tee_kind kind, const uint8_t *ev, size_t n, uint8_t m[GTEE_MEASUREMENT_MAX],
                                size_t *m_len, struct gtee_err *err);
/* One open, write of all bytes, close: the write(2) a kernel attribute expects. */
int tee_write_file(const char *path, const void *buf, size_t len, struct gtee_err *err);
int tee_file_exists(const char *path);
/* SEV-SNP sealing key through /dev/sev-guest (src/tee/snp_key.c). */
int tee_snp_sealing_key(struct gtee_tee *t, enum gtee_seal_policy policy, uint8_t key[GTEE_SEAL_KEY_LEN],
                        struct gtee_err *err);
/* TDX sealing key from the key-release service (src/tee/tdx_key.c); K is kept in t->state
 * until close (tee_tdx_close). */
int tee_tdx_sealing_key(struct gtee_tee *t, enum gtee_seal_policy policy, uint8_t key[GTEE_SEAL_KEY_LEN],
                        struct gtee_err *err);
void tee_tdx_close(struct gtee_tee *t);

#endif
