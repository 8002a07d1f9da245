/* libFuzzer target: the files of a simulated device directory that the host can alter and
 * gtee_sim_open parses (src/simvendor/sim_device.c, sim_files.c): device_secret, the PCK and QE
 * attestation keys (PEM) and the PCK chain (PEM) that travels in every quote; then a quote
 * and a sealing key from whatever opened. Input: up to four parts, each a u32 big-endian
 * length and its bytes, in that file order (a short input leaves later files empty).
 * Seed: the files of a device made by `gtee sim init`. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gtee/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const files[] = { "device_secret", "pck.key.pem", "qe_attest.key.pem", GTEE_SIM_PCK_CHAIN_FILE };
static char dir[] = "/tmp/gtee-fuzz-simdev-XXXXXX";

static void cleanup(void)
{
    char p[256];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* Each file new, with the mode gtee sim init gives it (the secrets 0600). */
static void put(const char *name, const uint8_t *p, size_t n, mode_t mode)
{
    char path[256];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0 || fchmod(fd, mode) != 0 || (n > 0 && write(fd, p, n) != (ssize_t)n))
        abort();
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct gtee_sim_identity id = { .isv_prod_id = 1, .isv_svn = 1 };
    struct gtee_sim *sim = NULL;
    struct gtee_err err;
    uint8_t rd[GTEE_SIM_REPORT_DATA_LEN] = { 0 }, key[GTEE_SIM_SEAL_KEY_LEN], *q = NULL;
    size_t off = 0, qn = 0;

    if (!ready) {
        if (!mkdtemp(dir))
            abort();
        atexit(cleanup);
        ready = 1;
    }
    if (size > 256 * 1024)
        return 0;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t n = 0;

        if (size - off >= 4) {
            n = (size_t)data[off] << 24 | (size_t)data[off + 1] << 16 | (size_t)data[off + 2] << 8 | data[off + 3];
            off += 4;
            if (n > size - off)
                n = size - off;
        }
        put(files[i], data + off, n, i == 3 ? 0644 : 0600);
        off += n;
    }
    if (gtee_sim_open(dir, &sim, &err) != 0)
        return 0;
    if (gtee_sim_sealing_key(sim, GTEE_SIM_SEAL_MRENCLAVE, &id, key, &err) != 0)
        abort(); /* an opened device always derives keys */
    if (gtee_sim_quote(sim, GTEE_SIM_QUOTE_SGX, &id, rd, &q, &qn, &err) == 0)
        free(q);
    q = NULL;
    if (gtee_sim_quote(sim, GTEE_SIM_QUOTE_TDX, &id, rd, &q, &qn, &err) == 0)
        free(q);
    gtee_sim_close(sim);
    return 0;
}
