/* TDX and SEV-SNP evidence through the kernel's configfs-tsm report interface
 * (Linux Documentation/ABI/testing/configfs-tsm): one report entry per request, with the
 * generation check that detects another writer on the same entry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/crypto.h"
#include "tee/tee_int.h"

#define REPORT_DIR "sys/kernel/config/tsm/report"

struct tsm_kind {
    const char *provider;       /* the entry's `provider` attribute */
    size_t min_len;             /* smallest outblob that holds the measurement */
    size_t meas_off, meas_len;
};

/* Intel TDX DCAP quote v4: 48-byte header, TD report body; MRTD follows tee_tcb_svn 16,
 * mrseam 48, mrsignerseam 48, seam_attributes 8, td_attributes 8, xfam 8. */
static const struct tsm_kind tdx_kind = { "tdx_guest", 48 + 584, 48 + 136, 48 };
/* AMD SEV-SNP ABI spec, ATTESTATION_REPORT: MEASUREMENT at 0x90, 48 bytes; report 0x4A0 long. */
static const struct tsm_kind snp_kind = { "sev_guest", 0x4A0, 0x90, 48 };

static const struct tsm_kind *kind_of(const struct gtee_tee *t)
{
    return t->ops->kind == GTEE_TEE_KIND_TDX ? &tdx_kind : &snp_kind;
}

static int dir_make(const struct gtee_tee_options *opt, const char *path)
{
    if (opt->tsm_dirops)
        return opt->tsm_dirops->mkdir(path, opt->tsm_dirops->arg);
    return mkdir(path, 0700) == 0 ? 0 : -errno;
}

static int dir_remove(const struct gtee_tee_options *opt, const char *path)
{
    if (opt->tsm_dirops)
        return opt->tsm_dirops->rmdir(path, opt->tsm_dirops->arg);
    return rmdir(path) == 0 ? 0 : -errno;
}

/* A report entry of our own: the name carries the pid and 64 random bits, so two requests
 * never share an entry by accident (a shared one is still caught by the generation check). */
static int entry_create(const char *root, const struct gtee_tee_options *opt, char *entry, size_t entry_len,
                        struct gtee_err *err)
{
    uint8_t rnd[8];
    char hex[17], rel[96];
    int e;

    if (gtee_random(rnd, sizeof(rnd)) != 0)
        return GTEE_FAIL(err, GTEE_ECRYPTO, "tee tsm: no randomness for the entry name");
    gtee_hex_encode(rnd, sizeof(rnd), hex);
    snprintf(rel, sizeof(rel), REPORT_DIR "/gtee-%ld-%s", (long)getpid(), hex);
    if (tee_path(entry, entry_len, root, rel, err) != 0)
        return GTEE_EINVAL;
    e = dir_make(opt, entry);
    if (e != 0)
        return GTEE_FAIL(err, e == -ENOENT ? GTEE_ENOTFOUND : GTEE_EIO,
                         "tee tsm: cannot create report entry %s (%s)", entry, strerror(-e));
    return 0;
}

static int attr(char *out, size_t out_len, const char *entry, const char *name, struct gtee_err *err)
{
    return tee_path(out, out_len, entry, name, err);
}

/* Digits only: strtoul alone would take "-1" as ULONG_MAX (and " 7" or "+7"), and a
 * generation that wraps on +1 could pass the concurrent-writer check. */
int tee_tsm_parse_generation(const char *text, unsigned long *gen, const char *what, struct gtee_err *err)
{
    unsigned long v = 0;
    const char *c = text;
    int rc = GTEE_EFORMAT;

    ENSURE(*c, err, GTEE_EFORMAT, "tee tsm: generation of %s is empty", what);
    for (; *c; c++) {
        ENSURE(*c >= '0' && *c <= '9', err, GTEE_EFORMAT, "tee tsm: generation of %s is not a decimal number", what);
        ENSURE(v <= (ULONG_MAX - 1 - (unsigned long)(*c - '0')) / 10, err, GTEE_EFORMAT,
               "tee tsm: generation of %s is out of range", what);
        v = v * 10 + (unsigned long)(*c - '0');
    }
    *gen = v;
    rc = 0;
out:
    return rc;
}

static int read_generation(const char *entry, unsigned long *gen, struct gtee_err *err)
{
    char p[PATH_MAX], text[32];
    int rc;

    TRY(attr(p, sizeof(p), entry, "generation", err));
    TRY(tee_read_text(p, text, sizeof(text), err));
    TRY(tee_tsm_parse_generation(text, gen, entry, err));
out:
    return rc;
}

static int read_provider(const char *entry, char *prov, size_t prov_len, struct gtee_err *err)
{
    char p[PATH_MAX];
    int rc;

    TRY(attr(p, sizeof(p), entry, "provider", err));
    rc = tee_read_text(p, prov, prov_len, err);
    if (rc == GTEE_ENOTFOUND)
        rc = GTEE_FAIL(err, rc, "tee tsm: report entry has no provider attribute (%s)", p);
out:
    return rc;
}

/* The request itself (configfs-tsm ABI): read generation, write inblob, read outblob, then
 * generation again. Each write bumps generation by one; any other value means another
 * writer touched the entry between our write and our read, and outblob may be theirs. */
static int entry_request(const struct tsm_kind *k, const char *entry, const uint8_t rd[GTEE_REPORT_DATA_LEN],
                         uint8_t **ev, size_t *ev_len, struct gtee_err *err)
{
    char p[PATH_MAX], prov[64];
    unsigned long g0 = 0, g1 = 0;
    int rc;

    TRY(read_provider(entry, prov, sizeof(prov), err));
    ENSURE(strcmp(prov, k->provider) == 0, err, GTEE_EUNSUPPORTED,
           "tee tsm: report provider is '%s', expected '%s'", prov, k->provider);
    TRY(read_generation(entry, &g0, err));
    TRY(attr(p, sizeof(p), entry, "inblob", err));
    TRY(tee_write_file(p, rd, GTEE_REPORT_DATA_LEN, err));
    TRY(attr(p, sizeof(p), entry, "outblob", err));
    TRY(tee_read_file(p, GTEE_EVIDENCE_MAX, ev, ev_len, err));
    TRY(read_generation(entry, &g1, err));
    ENSURE(g1 == g0 + 1, err, GTEE_ESTATE,
           "tee tsm: report entry generation went from %lu to %lu around one write: another writer "
           "used the entry concurrently, the report is discarded", g0, g1);
    ENSURE(*ev_len >= k->min_len, err, GTEE_EFORMAT, "tee tsm: outblob is %zu bytes, expected at least %zu",
           *ev_len, k->min_len);
out:
    if (rc < 0) {
        free(*ev);
        *ev = NULL;
        *ev_len = 0;
    }
    return rc;
}

static int tsm_evidence(struct gtee_tee *t, const uint8_t rd[GTEE_REPORT_DATA_LEN], uint8_t **ev, size_t *ev_len,
                        struct gtee_err *err)
{
    char entry[PATH_MAX];
    int rc, e;

    TRY(entry_create(t->root, &t->opt, entry, sizeof(entry), err));
    rc = entry_request(kind_of(t), entry, rd, ev, ev_len, err);
    e = dir_remove(&t->opt, entry);
    if (e != 0 && rc == 0) {
        free(*ev);
        *ev = NULL;
        *ev_len = 0;
        rc = GTEE_FAIL(err, GTEE_EIO, "tee tsm: cannot remove report entry %s (%s)", entry, strerror(-e));
    }
out:
    return rc;
}

/* Present if a probe entry names this provider. */
static int tsm_detect_kind(const char *root, const struct gtee_tee_options *opt, const struct tsm_kind *k)
{
    char dir[PATH_MAX], entry[PATH_MAX], prov[64];
    int found;

    if (tee_path(dir, sizeof(dir), root, REPORT_DIR, NULL) != 0 || !tee_file_exists(dir))
        return 0;
    if (entry_create(root, opt, entry, sizeof(entry), NULL) != 0)
        return 0;
    found = read_provider(entry, prov, sizeof(prov), NULL) == 0 && strcmp(prov, k->provider) == 0;
    (void)dir_remove(opt, entry);
    return found;
}

static int tdx_detect(const char *root, const struct gtee_tee_options *opt)
{
    return tsm_detect_kind(root, opt, &tdx_kind);
}

static int snp_detect(const char *root, const struct gtee_tee_options *opt)
{
    return tsm_detect_kind(root, opt, &snp_kind);
}

static int tsm_open(struct gtee_tee *t, struct gtee_err *err)
{
    char dir[PATH_MAX];
    int rc;

    TRY(tee_path(dir, sizeof(dir), t->root, REPORT_DIR, err));
    ENSURE(tee_file_exists(dir), err, GTEE_ENOTFOUND,
           "tee %s: %s not found: the kernel has no configfs-tsm (CONFIG_TSM_REPORTS) or configfs is not mounted",
           t->ops->name, dir);
out:
    return rc;
}

/* configfs-tsm exposes reports only, and a TD has no sealing key at all: the key root comes
 * from a key release after attestation (docs/tee.md §4.3, src/tee/tdx_key.c) when a transport
 * to the service is configured. Never a made-up key. (SEV-SNP's derived key comes through
 * /dev/sev-guest: src/tee/snp_key.c.) */
static int tdx_sealing_key(struct gtee_tee *t, enum gtee_seal_policy policy, uint8_t key[GTEE_SEAL_KEY_LEN],
                           struct gtee_err *err)
{
    if (t->opt.key_release)
        return tee_tdx_sealing_key(t, policy, key, err);
    return GTEE_FAIL(err, GTEE_EUNSUPPORTED,
                     "tee tdx: a TD has no sealing key; its Enclave key comes from a key release after "
                     "attestation and no key-release service is configured: give --key-release HOST:PORT "
                     "(docs/tee.md §4.3.1)");
}

int tee_tsm_outblob_measurement(enum gtee_tee_kind kind, const uint8_t *ev, size_t n, uint8_t m[GTEE_MEASUREMENT_MAX],
                                size_t *m_len, struct gtee_err *err)
{
    const struct tsm_kind *k = kind == GTEE_TEE_KIND_TDX ? &tdx_kind : &snp_kind;
    struct span s = span_init(ev, n);
    int rc = GTEE_EFORMAT;

    ENSURE(kind == GTEE_TEE_KIND_TDX || kind == GTEE_TEE_KIND_SNP, err, GTEE_EINVAL, "tee tsm: not a tsm backend");
    if (kind == GTEE_TEE_KIND_TDX) {
        uint16_t ver = span_u16le(&s);

        span_u16le(&s);
        ENSURE(ver == 4 && span_u32le(&s) == 0x81, err, GTEE_EFORMAT,
               "tee tdx: outblob is not a TDX quote v4 (version or tee_type, offset 0)");
    } else {
        ENSURE(span_u32le(&s) >= 2, err, GTEE_EFORMAT, "tee snp: report version below 2 (offset 0)");
    }
    s = span_init(ev, n);
    span_take(&s, k->meas_off);
    ENSURE(span_copy(&s, m, k->meas_len), err, GTEE_EFORMAT, "tee %s: evidence too short for the measurement",
           kind == GTEE_TEE_KIND_TDX ? "tdx" : "snp");
    *m_len = k->meas_len;
    rc = 0;
out:
    return rc;
}

static int tsm_measurement(struct gtee_tee *t, uint8_t m[GTEE_MEASUREMENT_MAX], size_t *m_len,
                           struct gtee_err *err)
{
    static const uint8_t zero[GTEE_REPORT_DATA_LEN];
    uint8_t *ev = NULL;
    size_t n = 0;
    int rc;

    TRY(tsm_evidence(t, zero, &ev, &n, err));
    TRY(tee_tsm_outblob_measurement(t->ops->kind, ev, n, m, m_len, err));
out:
    free(ev);
    return rc;
}

const struct gtee_tee_ops gtee_tee_tdx_ops = {
    .name = "tdx",
    .kind = GTEE_TEE_KIND_TDX,
    .detect = tdx_detect,
    .open = tsm_open,
    .close = tee_tdx_close,
    .get_evidence = tsm_evidence,
    .sealing_key = tdx_sealing_key,
    .measurement = tsm_measurement,
};

const struct gtee_tee_ops gtee_tee_snp_ops = {
    .name = "snp",
    .kind = GTEE_TEE_KIND_SNP,
    .detect = snp_detect,
    .open = tsm_open,
    .get_evidence = tsm_evidence,
    .sealing_key = tee_snp_sealing_key,
    .measurement = tsm_measurement,
};
