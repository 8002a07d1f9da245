/* kvstore-client: talks to kvstore-enclave over the attested channel, built only on the
 * public SDK (gtee/sdk_client.h). The enclave's evidence is verified against the policy
 * before any key or value leaves this process.
 *
 *   kvstore-client --connect HOST:PORT --policy FILE [--collateral DIR] [--sim-root DER]
 *                  put KEY VALUE | get KEY | del KEY
 * Exit status: 0 done, 1 failed, 2 usage, 3 no such key, 7 enclave rejected. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gtee/sdk.h>
#include <gtee/sdk_client.h>

#include "kvstore.h"

static int usage(void)
{
    fprintf(stderr, "usage: kvstore-client --connect HOST:PORT --policy FILE [--collateral DIR] [--sim-root DER]\n"
                    "                      put KEY VALUE | get KEY | del KEY\n");
    return 2;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "connect", required_argument, NULL, 'c' },    { "policy", required_argument, NULL, 'p' },
        { "collateral", required_argument, NULL, 'l' }, { "sim-root", required_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    struct gtee_client_options o = {0};
    struct gtee_client *cl = NULL;
    struct gtee_err err = {0};
    const char *connect_to = NULL, *cmd, *key;
    uint8_t *resp = NULL, *req = NULL, id[20];
    size_t resp_len = 0, req_len, klen;
    int c, rc, code = 1;
    uint16_t op;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': connect_to = optarg; break;
        case 'p': o.policy_file = optarg; break;
        case 'l': o.collateral_dir = optarg; break;
        case 'r': o.sim_root_file = optarg; break;
        default: return usage();
        }
    }
    if (!connect_to || argc - optind < 2)
        return usage();
    cmd = argv[optind];
    key = argv[optind + 1];
    klen = strlen(key);
    if (klen == 0 || klen > KV_KEY_MAX)
        return usage();
    if (!strcmp(cmd, "put") && argc - optind == 3) {
        size_t vlen = strlen(argv[optind + 2]);

        op = KV_PUT;
        req_len = 2 + klen + vlen;
        req = malloc(req_len);
        if (!req)
            return 1;
        req[0] = (uint8_t)(klen >> 8);
        req[1] = (uint8_t)klen;
        memcpy(req + 2, key, klen);
        memcpy(req + 2 + klen, argv[optind + 2], vlen);
    } else if ((!strcmp(cmd, "get") || !strcmp(cmd, "del")) && argc - optind == 2) {
        op = !strcmp(cmd, "get") ? KV_GET : KV_DEL;
        req_len = klen;
        req = malloc(klen);
        if (!req)
            return 1;
        memcpy(req, key, klen);
    } else {
        return usage();
    }
    signal(SIGPIPE, SIG_IGN);
    rc = gtee_client_connect(connect_to, &o, &cl, &err);
    if (rc == GTEE_EPOLICY) {
        fprintf(stderr, "kvstore-client: enclave rejected: %s\n", err.msg);
        code = 7;
        goto out;
    }
    if (rc < 0) {
        fprintf(stderr, "kvstore-client: %s\n", err.msg);
        goto out;
    }
    gtee_client_enclave_id(cl, id);
    fprintf(stderr, "kvstore-client: enclave 0x");
    for (int i = 0; i < 20; i++)
        fprintf(stderr, "%02x", id[i]);
    fprintf(stderr, " verified (%s%s)\n", gtee_tee_type_name(gtee_client_claims(cl)->tee),
            gtee_client_claims(cl)->simulated ? ", SIMULATED" : "");
    rc = gtee_client_call(cl, op, req, req_len, &resp, &resp_len, &err);
    if (rc == GTEE_ENOTFOUND) {
        fprintf(stderr, "kvstore-client: %s\n", err.msg);
        code = 3;
        goto out;
    }
    if (rc < 0) {
        fprintf(stderr, "kvstore-client: %s\n", err.msg);
        goto out;
    }
    if (op == KV_GET)
        printf("%.*s\n", (int)resp_len, (const char *)resp);
    code = 0;
out:
    free(resp);
    free(req);
    gtee_client_close(cl);
    return code;
}
