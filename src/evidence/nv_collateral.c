/* The collateral directory of GPU evidence: cert_chain.pem (the GPU's chain, leaf first), one
 * driver RIM and one VBIOS RIM (*.xml or *.swidtag, told apart by "driver" or "vbios" in the
 * file name), and optionally ocsp/NAME.der. Files are read through the bounded reader; a missing
 * or doubled RIM is named. docs/evidence-nvidia.md, "Collateral". */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/file.h"
#include "gtee/nvidia.h"

#define NV_FILE_MAX (4u << 20)

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcasecmp(s + n - m, suffix) == 0;
}

static int load(const char *dir, const char *name, uint8_t **p, size_t *len, struct gtee_err *err)
{
    char path[4096];
    int rc;

    ENSURE(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path), err, GTEE_EINVAL,
           "gpu collateral: path too long (%s)", name);
    rc = gtee_file_read(path, NV_FILE_MAX, p, len, err);
    if (rc < 0)
        gtee_err_wrap(err, "gpu collateral: ");
out:
    return rc;
}

static int load_rims(const char *dir, struct gtee_nv_collateral *col, struct gtee_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char driver[256] = "", vbios[256] = "";
    int rc = GTEE_EIO;

    ENSURE(d != NULL, err, GTEE_EIO, "gpu collateral: cannot open %s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        char *slot;

        if (!ends_with(e->d_name, ".xml") && !ends_with(e->d_name, ".swidtag"))
            continue;
        slot = strcasestr(e->d_name, "driver") ? driver : strcasestr(e->d_name, "vbios") ? vbios : NULL;
        if (!slot)
            continue;
        ENSURE(!slot[0], err, GTEE_EFORMAT, "gpu collateral: two %s RIMs in %s (%s and %s)",
               slot == driver ? "driver" : "VBIOS", dir, slot, e->d_name);
        ENSURE(strlen(e->d_name) < sizeof(driver), err, GTEE_EINVAL, "gpu collateral: file name too long");
        snprintf(slot, sizeof(driver), "%s", e->d_name);
    }
    ENSURE(driver[0], err, GTEE_ENOTFOUND, "gpu collateral: no driver RIM (*driver*.xml or .swidtag) in %s", dir);
    ENSURE(vbios[0], err, GTEE_ENOTFOUND, "gpu collateral: no VBIOS RIM (*vbios*.xml or .swidtag) in %s", dir);
    TRY(load(dir, driver, &col->driver_rim, &col->driver_rim_len, err));
    TRY(load(dir, vbios, &col->vbios_rim, &col->vbios_rim_len, err));
    rc = 0;
out:
    if (d)
        closedir(d);
    return rc;
}

static int load_ocsp(const char *dir, struct gtee_nv_collateral *col, struct gtee_err *err)
{
    char path[4096];
    struct dirent **names = NULL;
    int n, rc = 0;

    ENSURE(snprintf(path, sizeof(path), "%s/ocsp", dir) < (int)sizeof(path), err, GTEE_EINVAL,
           "gpu collateral: path too long");
    n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        ENSURE(errno == ENOENT, err, GTEE_EIO, "gpu collateral: cannot read %s: %s", path, strerror(errno));
        return 0; /* no responses: revocation is "not checked" */
    }
    for (int i = 0; i < n && rc == 0; i++) {
        if (!ends_with(names[i]->d_name, ".der"))
            continue;
        if (col->n_ocsp >= GTEE_NV_OCSP_MAX || strlen(names[i]->d_name) >= sizeof(col->ocsp_name[0])) {
            rc = GTEE_FAIL(err, GTEE_EFORMAT, "gpu collateral: more than %d OCSP responses, or a name too long",
                           GTEE_NV_OCSP_MAX);
            break;
        }
        memcpy(col->ocsp_name[col->n_ocsp], names[i]->d_name, strlen(names[i]->d_name) + 1);
        rc = load(path, names[i]->d_name, &col->ocsp[col->n_ocsp], &col->ocsp_len[col->n_ocsp], err);
        if (rc == 0)
            col->n_ocsp++;
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
out:
    return rc;
}

int gtee_nv_collateral_load(const char *dir, struct gtee_nv_collateral *col, struct gtee_err *err)
{
    int rc = GTEE_EINVAL;

    memset(col, 0, sizeof(*col));
    ENSURE(dir != NULL, err, GTEE_EINVAL, "gpu collateral: no directory");
    TRY(load(dir, "cert_chain.pem", &col->chain_pem, &col->chain_len, err));
    TRY(load_rims(dir, col, err));
    TRY(load_ocsp(dir, col, err));
out:
    if (rc < 0)
        gtee_nv_collateral_free(col);
    return rc;
}

void gtee_nv_collateral_free(struct gtee_nv_collateral *col)
{
    if (!col)
        return;
    free(col->chain_pem);
    free(col->driver_rim);
    free(col->vbios_rim);
    for (size_t i = 0; i < col->n_ocsp; i++)
        free(col->ocsp[i]);
    memset(col, 0, sizeof(*col));
}
