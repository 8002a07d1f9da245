/* An opened simulated TEE device: loads the root secret, the PCK and attestation keys and
 * the PCK chain from the device directory; derives EGETKEY-like sealing keys. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/crypto.h"
#include "simvendor/sim_files.h"
#include "simvendor/sim_internal.h"

#define SIM_KEY_FILE_MAX 4096
#define SIM_CHAIN_FILE_MAX 65536
#define SIM_SEAL_LABEL "glacier-sim-seal-v1"

static int load_key(int dirfd, const char *name, EVP_PKEY **key, struct gtee_err *err)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    BIO *b = NULL;
    int rc;

    TRY(sim_read_file(dirfd, name, 1, SIM_KEY_FILE_MAX, &pem, &len, err));
    b = BIO_new_mem_buf(pem, (int)len);
    ENSURE(b, err, GTEE_ENOMEM, "sim: BIO allocation failed");
    *key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    ENSURE(*key && EVP_PKEY_is_a(*key, "EC"), err, GTEE_EKEY, "sim: %s is not an EC private key", name);
    rc = 0;
out:
    BIO_free(b);
    if (pem) {
        gtee_wipe(pem, len);
        free(pem);
    }
    return rc;
}

int gtee_sim_open(const char *dir, struct gtee_sim **out, struct gtee_err *err)
{
    struct gtee_sim *sim = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    int dirfd = -1, rc = GTEE_EINVAL;

    ENSURE(dir && out, err, GTEE_EINVAL, "sim: open: missing argument");
    *out = NULL;
    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ENSURE(dirfd >= 0, err, errno == ENOENT ? GTEE_ENOTFOUND : GTEE_EIO, "sim: cannot open device %s (%s)", dir,
           strerror(errno));
    sim = calloc(1, sizeof(*sim));
    ENSURE(sim, err, GTEE_ENOMEM, "sim: out of memory");
    sim->dir = strdup(dir);
    ENSURE(sim->dir, err, GTEE_ENOMEM, "sim: out of memory");

    TRY(sim_read_file(dirfd, SIM_SECRET_FILE, 1, SIM_SECRET_LEN, &buf, &len, err));
    ENSURE(len == SIM_SECRET_LEN, err, GTEE_EFORMAT, "sim: %s holds %zu bytes, want %d", SIM_SECRET_FILE, len,
           SIM_SECRET_LEN);
    memcpy(sim->secret, buf, SIM_SECRET_LEN);
    TRY(load_key(dirfd, SIM_PCK_KEY_FILE, &sim->pck_key, err));
    TRY(load_key(dirfd, SIM_QE_KEY_FILE, &sim->qe_key, err));
    TRY(sim_pub_raw(sim->qe_key, sim->qe_pub, err));
    TRY(sim_derive_id(sim->secret, "glacier-sim-qe-id", sim->qe_id, sizeof(sim->qe_id), err));
    TRY(sim_read_file(dirfd, GTEE_SIM_PCK_CHAIN_FILE, 0, SIM_CHAIN_FILE_MAX, (uint8_t **)&sim->pck_chain,
                      &sim->pck_chain_len, err));
    ENSURE(sim->pck_chain_len > 0 && !memchr(sim->pck_chain, 0, sim->pck_chain_len), err, GTEE_EFORMAT,
           "sim: %s is empty or holds a NUL byte", GTEE_SIM_PCK_CHAIN_FILE);
    sim->pck_chain_len++; /* the terminating NUL travels in the quote, as real QEs send it */
    *out = sim;
    sim = NULL;
    rc = 0;
out:
    if (buf) {
        gtee_wipe(buf, len);
        free(buf);
    }
    if (dirfd >= 0)
        close(dirfd);
    gtee_sim_close(sim);
    return rc;
}

void gtee_sim_close(struct gtee_sim *sim)
{
    if (!sim)
        return;
    gtee_wipe(sim->secret, sizeof(sim->secret));
    EVP_PKEY_free(sim->pck_key); /* frees clear the private scalars */
    EVP_PKEY_free(sim->qe_key);
    free(sim->pck_chain);
    free(sim->dir);
    gtee_wipe(sim, sizeof(*sim));
    free(sim);
}

const char *gtee_sim_dir(const struct gtee_sim *sim)
{
    return sim ? sim->dir : NULL;
}

int gtee_sim_sealing_key(struct gtee_sim *sim, enum gtee_sim_seal_policy p, const struct gtee_sim_identity *id,
                         uint8_t key[GTEE_SIM_SEAL_KEY_LEN], struct gtee_err *err)
{
    /* info = label || policy || bound measurement || isv_prod_id (LE16) || isv_svn (LE16)
     * || debug: the inputs EGETKEY mixes in for a seal key (SDM vol. 3D, 40.17). */
    uint8_t info[sizeof(SIM_SEAL_LABEL) - 1 + 1 + 32 + 2 + 2 + 1];
    uint8_t *q = info;
    int rc = GTEE_EINVAL;

    ENSURE(sim && id && key, err, GTEE_EINVAL, "sim: sealing key: missing argument");
    ENSURE(p == GTEE_SIM_SEAL_MRENCLAVE || p == GTEE_SIM_SEAL_MRSIGNER, err, GTEE_EINVAL,
           "sim: sealing key: unknown policy %d", (int)p);
    memcpy(q, SIM_SEAL_LABEL, sizeof(SIM_SEAL_LABEL) - 1);
    q += sizeof(SIM_SEAL_LABEL) - 1;
    *q++ = (uint8_t)p;
    memcpy(q, p == GTEE_SIM_SEAL_MRENCLAVE ? id->mrenclave : id->mrsigner, 32);
    q += 32;
    put_u16le(q, id->isv_prod_id);
    put_u16le(q + 2, id->isv_svn);
    q[4] = id->debug ? 1 : 0;
    ENSURE(gtee_hkdf_sha256(key, GTEE_SIM_SEAL_KEY_LEN, sim->secret, SIM_SECRET_LEN, NULL, 0, info,
                            sizeof(info)) == 0,
           err, GTEE_ECRYPTO, "sim: sealing key derivation failed");
    rc = 0;
out:
    return rc;
}
