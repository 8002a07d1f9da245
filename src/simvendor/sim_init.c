/* `gtee sim init`: creates a simulated TEE device directory: the device root secret, the
 * simulated PKI with its private keys, the collateral for SGX and TDX quotes, and a
 * README that says it is a simulation. Layout: docs/sim.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "simvendor/sim_files.h"
#include "simvendor/sim_internal.h"

static const char README[] =
    "THIS IS A SIMULATED TEE DEVICE. IT IS NOT SECURE.\n"
    "\n"
    "Made by `gtee sim init` (Glacier TEE Node). It lets the enclave runtime and the\n"
    "evidence verifiers run their real code paths on machines without TEE hardware.\n"
    "\n"
    "- device_secret is the simulated hardware root secret: every sealing key and the\n"
    "  Enclave ID derive from it. Anyone who can read this directory can read it, so\n"
    "  nothing sealed or attested with this device is confidential from this host.\n"
    "- *.key.pem are the private keys of a SIMULATED Intel PKI (root CA, PCK Platform\n"
    "  CA, PCK, TCB signing, quoting enclave attestation key). Anyone holding them can\n"
    "  forge quotes under sim_root_ca.der.\n"
    "- sim_root_ca.der is the simulated root; a verifier accepts its quotes only when\n"
    "  told by name to allow simulation, and names them as simulated.\n"
    "- sgx/ and tdx/ hold collateral (TCB info, QE identity, CRLs and their issuer\n"
    "  chains) in the layout Intel's PCS serves, signed by the simulated TCB signing key.\n"
    "\n"
    "See docs/sim.md in the Glacier TEE Node sources.\n";

/* Creates dir 0700, or accepts an existing empty directory that the caller owns; *dirfd
 * is the directory, opened without following a link. dir itself is never followed if it is
 * a symlink, and nothing is changed (the mode set to 0700) before every check passed.
 * *created says whether this call made it. */
static int prepare_dir(const char *dir, int *dirfd, int *created, struct gtee_err *err)
{
    struct stat st;
    struct dirent *e;
    DIR *d = NULL;
    int fd = -1, empty = 1, rc = GTEE_EIO;

    *dirfd = -1;
    *created = 0;
    if (mkdir(dir, 0700) == 0)
        *created = 1;
    else
        ENSURE(errno == EEXIST, err, GTEE_EIO, "sim: cannot create %s (%s)", dir, strerror(errno));
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int open_errno = errno;

        ENSURE(!(lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)), err, GTEE_EEXIST,
               "sim: %s is a symbolic link; refusing to follow it (give the directory itself)", dir);
        ENSURE(0, err, open_errno == ENOTDIR ? GTEE_EEXIST : GTEE_EIO,
               "sim: %s exists and is not a usable directory (%s)", dir, strerror(open_errno));
    }
    ENSURE(fstat(fd, &st) == 0, err, GTEE_EIO, "sim: cannot stat %s (%s)", dir, strerror(errno));
    ENSURE(st.st_uid == geteuid(), err, GTEE_EPERM,
           "sim: %s is owned by uid %u, not by the caller (uid %u); refusing to use it", dir, (unsigned)st.st_uid,
           (unsigned)geteuid());
    if (!*created) {
        int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

        if (dup_fd >= 0 && !(d = fdopendir(dup_fd)))
            close(dup_fd);
        ENSURE(d, err, GTEE_EIO, "sim: cannot read %s (%s)", dir, strerror(errno));
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                empty = 0;
        ENSURE(empty, err, GTEE_EEXIST, "sim: %s exists and is not empty; refusing to overwrite", dir);
    }
    /* Only now, on the directory opened above, never on whatever the name points at. */
    ENSURE(fchmod(fd, 0700) == 0, err, GTEE_EIO, "sim: cannot set the mode of %s (%s)", dir, strerror(errno));
    *dirfd = fd;
    fd = -1;
    rc = 0;
out:
    if (d)
        closedir(d);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int put_key(struct sim_writer *w, const char *name, EVP_PKEY *key, struct gtee_err *err)
{
    char *pem = NULL;
    size_t len = 0;
    int rc = GTEE_ECRYPTO;

    TRY(sim_pem_key(key, &pem, &len, err));
    TRY(sim_writer_put(w, name, pem, len, 0600, err));
out:
    if (pem) {
        gtee_wipe(pem, len);
        free(pem);
    }
    return rc;
}

static int put_pem_certs(struct sim_writer *w, const char *name, X509 *const *certs, int n,
                         struct gtee_err *err)
{
    char *pem = NULL;
    size_t len = 0;
    int rc;

    rc = sim_pem_certs(certs, n, &pem, &len, err);
    if (rc == 0)
        rc = sim_writer_put(w, name, pem, len, 0644, err);
    free(pem);
    return rc;
}

static int put_crl(struct sim_writer *w, const char *name, X509_CRL *crl, struct gtee_err *err)
{
    uint8_t *der = NULL;
    size_t len = 0;
    int rc;

    rc = sim_der_crl(crl, &der, &len, err);
    if (rc == 0)
        rc = sim_writer_put(w, name, der, len, 0644, err);
    free(der);
    return rc;
}

/* One collateral directory (sgx/ or tdx/), laid out like the real sample tests/vectors/sgx/sgx-1. */
static int put_collateral(struct sim_writer *w, const struct sim_pki *pki, int version, time_t now,
                          struct gtee_err *err)
{
    const char *sub = version == GTEE_SIM_QUOTE_TDX ? GTEE_SIM_TDX_COLLATERAL_DIR : GTEE_SIM_SGX_COLLATERAL_DIR;
    X509 *const tcb_chain[2] = { pki->tcb, pki->root };
    X509 *const pck_crl_chain[2] = { pki->pca, pki->root };
    struct sim_blob tcb = { .data = NULL }, qe = { .data = NULL };
    char path[64];
    int rc = GTEE_ECRYPTO;

#define SUBPATH(file) (snprintf(path, sizeof(path), "%s/%s", sub, (file)), path)
    TRY(sim_writer_mkdir(w, sub, 0755, err));
    TRY(sim_collateral_json(pki, version, now, &tcb, &qe, err));
    TRY(sim_writer_put(w, SUBPATH("tcb_info.json"), tcb.data, tcb.len, 0644, err));
    TRY(put_pem_certs(w, SUBPATH("tcb_info_issuer_chain.pem"), tcb_chain, 2, err));
    TRY(sim_writer_put(w, SUBPATH("qe_identity.json"), qe.data, qe.len, 0644, err));
    TRY(put_pem_certs(w, SUBPATH("qe_identity_issuer_chain.pem"), tcb_chain, 2, err));
    TRY(put_crl(w, SUBPATH("pck_crl.der"), pki->pck_crl, err));
    TRY(put_pem_certs(w, SUBPATH("pck_crl_issuer_chain.pem"), pck_crl_chain, 2, err));
    TRY(put_crl(w, SUBPATH("root_ca_crl.der"), pki->root_crl, err));
#undef SUBPATH
out:
    free(tcb.data);
    free(qe.data);
    return rc;
}

static int write_device(struct sim_writer *w, const uint8_t secret[SIM_SECRET_LEN], struct gtee_err *err)
{
    struct sim_pki pki = { 0 };
    X509 *chain[3];
    uint8_t *der = NULL;
    size_t der_len = 0;
    time_t now = time(NULL);
    int rc = GTEE_ECRYPTO;

    TRY(sim_pki_create(&pki, secret, now, err));
    TRY(sim_writer_put(w, SIM_README_FILE, README, sizeof(README) - 1, 0644, err));
    TRY(sim_writer_put(w, SIM_SECRET_FILE, secret, SIM_SECRET_LEN, 0600, err));
    TRY(put_key(w, SIM_ROOT_KEY_FILE, pki.root_key, err));
    TRY(put_key(w, SIM_PCA_KEY_FILE, pki.pca_key, err));
    TRY(put_key(w, SIM_PCK_KEY_FILE, pki.pck_key, err));
    TRY(put_key(w, SIM_TCB_KEY_FILE, pki.tcb_key, err));
    TRY(put_key(w, SIM_QE_KEY_FILE, pki.qe_key, err));
    TRY(sim_der_cert(pki.root, &der, &der_len, err));
    TRY(sim_writer_put(w, GTEE_SIM_ROOT_CA_FILE, der, der_len, 0644, err));
    chain[0] = pki.pck;
    chain[1] = pki.pca;
    chain[2] = pki.root;
    TRY(put_pem_certs(w, GTEE_SIM_PCK_CHAIN_FILE, chain, 3, err));
    TRY(put_collateral(w, &pki, GTEE_SIM_QUOTE_SGX, now, err));
    TRY(put_collateral(w, &pki, GTEE_SIM_QUOTE_TDX, now, err));
out:
    free(der);
    sim_pki_free(&pki);
    return rc;
}

int gtee_sim_init(const char *dir, struct gtee_err *err)
{
    struct sim_writer w = { .dirfd = -1 };
    uint8_t secret[SIM_SECRET_LEN];
    int created = 0, rc = GTEE_EINVAL;

    ENSURE(dir && *dir, err, GTEE_EINVAL, "sim: init: no directory given");
    TRY(prepare_dir(dir, &w.dirfd, &created, err));
    ENSURE(gtee_random(secret, sizeof(secret)) == 0, err, GTEE_ECRYPTO, "sim: no randomness for the device secret");
    TRY(write_device(&w, secret, err));
    rc = 0;
out:
    gtee_wipe(secret, sizeof(secret));
    if (rc < 0 && w.dirfd >= 0)
        sim_writer_undo(&w);
    if (w.dirfd >= 0)
        close(w.dirfd);
    if (rc < 0 && created)
        (void)rmdir(dir);
    return rc;
}
