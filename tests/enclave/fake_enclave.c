/* Test helper (built as fake-enclave, not a test): a hostile enclave binary for
 * test_enclave_hostile.sh. Started by the host like gtee-enclave, it reads its behaviour from
 * --config: forge-tee (INFO claims sgx, not simulated), forge-measurement, forge-id (an
 * Enclave ID that is not its key's address), escape (an ERROR whose text carries terminal
 * escape sequences), silent (reads requests, never answers). Everything it does not forge
 * is what the real enclave would say, so each mode breaks exactly one claim. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire/measure.h"
#include "wire/measure.h"
#include "gtee/crypto.h"
#include "gtee/msg.h"

static int info(const char *mode, int qv, uint8_t *out, size_t *len)
{
    static const uint8_t one[32] = { [31] = 1 }; /* a valid secp256k1 key, a public one */
    uint8_t exe[32], meas[32], pub[65], addr[20], *p = out;
    char config[4200];
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), n;

    n = snprintf(config, sizeof(config), "tee=sim\nsim_quote_version=%d\nconfig=%s\n", qv, mode);
    if (fd < 0 || gtee_enclave_hash_fd(fd, exe, NULL) != 0 ||
        gtee_enclave_measurement(exe, config, (size_t)n, meas, NULL) != 0 || gtee_secp256k1_public(one, pub) != 0 ||
        gtee_eth_address(pub, addr) != 0)
        return -1;
    close(fd);
    if (strcmp(mode, "forge-measurement") == 0)
        memset(meas, 0x42, sizeof(meas));
    if (strcmp(mode, "forge-id") == 0)
        addr[0] ^= 1;
    *p++ = strcmp(mode, "forge-tee") == 0 ? 2 : 1; /* kind: sgx, or sim */
    *p++ = strcmp(mode, "forge-tee") == 0 ? 0 : 1; /* flags: simulated */
    *p++ = 32;
    memcpy(p, meas, 32), p += 32;
    memcpy(p, exe, 32), p += 32;
    memcpy(p, pub, 65), p += 65;
    memcpy(p, addr, 20), p += 20;
    memcpy(p, pub, 65), p += 65; /* the channel key: any point does */
    *len = (size_t)(p - out);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = "";
    int fd = -1, qv = 0;

    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--fd") == 0)
            fd = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--config") == 0)
            mode = argv[i + 1];
        else if (strcmp(argv[i], "--sim-quote-version") == 0)
            qv = atoi(argv[i + 1]);
    }
    for (;;) {
        struct gtee_msg_header h;
        uint8_t *msg = NULL, *reply = NULL, payload[256];
        size_t len = 0, reply_len = 0, plen = 0;
        int rc;

        if (gtee_msg_recv(fd, &msg, &len, NULL) != 0 || gtee_msg_header_parse(msg, len, &h, NULL) != 0)
            return 0;
        free(msg);
        if (strcmp(mode, "silent") == 0)
            continue;
        if (strcmp(mode, "escape") == 0)
            rc = gtee_msg_encode_error(h.request_id, GTEE_EIO, "\x1b]0;owned\x07\x1b[2J\x1b[31mall is well", &reply,
                                       &reply_len, NULL);
        else if (info(mode, qv, payload, &plen) == 0)
            rc = gtee_msg_encode(h.type | GTEE_MSG_REPLY, h.request_id, payload, plen, &reply, &reply_len, NULL);
        else
            return 1;
        if (rc != 0 || gtee_msg_send(fd, reply, reply_len, NULL) != 0)
            return 1;
        free(reply);
    }
}
