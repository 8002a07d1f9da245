/* `gtee grant CONTENT_ID --node URL --key KEYFILE --identity ID ...`: a blob owner attests
 * the node's enclave with its own anchors and policy, then releases the container's key to
 * that enclave alone with a grant (docs/tee.md §7.2), sealed to the channel key the verified
 * evidence commits to. The node keeps the grant sealed to the enclave; it never sees the key. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/box.h"
#include "gtee/crypto.h"
#include "gtee/evidence.h"
#include "gtee/jobs.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/provider.h"

static const char usage[] =
    "Usage: gtee grant CONTENT_ID --node URL --key KEYFILE --identity ID [options]\n"
    "\n"
    "Attests the node's enclave (its evidence over a fresh nonce, verified with your policy,\n"
    "collateral and anchors, bound to the enclave's keys), and only if it is accepted releases\n"
    "the key of the container CONTENT_ID (64 hex digits, as gtee push prints it) to that\n"
    "enclave with a grant: which job kinds may use it, for which counterparties, until when.\n"
    "The grant is sealed to the attested enclave's channel key; the node relays it and keeps\n"
    "it sealed to the enclave, so it survives restarts. Prints the key id the enclave holds.\n"
    "\n"
    "Options:\n"
    "      --node URL          the node (http://HOST:PORT)\n"
    "      --key KEYFILE       the container's key file (gtee keygen)\n"
    "      --identity ID       your identity file (gtee identity new): the grant's owner\n"
    "      --to PUBHEX         a counterparty's public key (gtee identity show), up to 8;\n"
    "                          none: only jobs you submit yourself\n"
    "      --kinds LIST        infer, train or infer,train (required)\n"
    "      --until TIME        the grant ends then (YYYY-MM-DDTHH:MM:SSZ or Unix seconds)\n"
    "      --weights-to-data-provider  trained weights of this model go to the requester, the\n"
    "                          data provider who trains it (else to you, the model's owner);\n"
    "                          --weights-to-requester is the same\n"
    "      --policy POLICY     policy JSON (default: the strict policy)\n"
    "      --collateral DIR    collateral files, or a simulated device's directory\n"
    "      --sim-root DER      also trust this simulated root (the policy must allow simulation)\n"
    "      --json              print {\"content_id\",\"key_id\",\"enclave_id\",\"tee\",\"simulated\"}\n"
    "  -h, --help              show this help\n";

static int parse_kinds(const char *s, uint8_t *kinds)
{
    char buf[64], *save = NULL;

    *kinds = 0;
    if (strlen(s) >= sizeof(buf))
        return -1;
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "infer"))
            *kinds |= GTEE_GRANT_INFER;
        else if (!strcmp(t, "train"))
            *kinds |= GTEE_GRANT_TRAIN;
        else
            return -1;
    }
    return *kinds ? 0 : -1;
}

static int parse_until(const char *s, uint64_t *out, struct gtee_err *err)
{
    char *end = NULL;
    unsigned long long v;
    int64_t t;

    if (s[0] >= '0' && s[0] <= '9' && !strchr(s, '-')) {
        v = strtoull(s, &end, 10);
        if (*end || v == 0)
            return GTEE_FAIL(err, GTEE_EINVAL, "--until %s: expected YYYY-MM-DDTHH:MM:SSZ or Unix seconds", s);
        *out = v;
        return 0;
    }
    if (gtee_time_parse(s, &t, err) < 0 || t <= 0)
        return GTEE_FAIL(err, GTEE_EINVAL, "--until %s: expected YYYY-MM-DDTHH:MM:SSZ or Unix seconds", s);
    *out = (uint64_t)t;
    return 0;
}

int cmd_grant(int argc, char **argv)
{
    static const struct option opts[] = {
        { "node", required_argument, NULL, 'n' },
        { "key", required_argument, NULL, 'k' },
        { "identity", required_argument, NULL, 'i' },
        { "to", required_argument, NULL, 't' },
        { "kinds", required_argument, NULL, 'K' },
        { "until", required_argument, NULL, 'u' },
        { "weights-to-data-provider", no_argument, NULL, 'w' },
        { "weights-to-requester", no_argument, NULL, 'w' },
        { "policy", required_argument, NULL, 'p' },
        { "collateral", required_argument, NULL, 'c' },
        { "sim-root", required_argument, NULL, 's' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct gtee_err err = { 0 };
    struct gtee_grant g;
    struct gtee_box_key key;
    struct cli_attest_opts ao = { 0 };
    struct cli_enclave enc;
    const char *node = NULL, *keyfile = NULL, *idfile = NULL, *kinds = NULL, *until = NULL;
    uint8_t priv[32], want[GTEE_BOX_KEY_ID_LEN], gid[32];
    char cid_hex[65], kid_hex[2 * GTEE_BOX_KEY_ID_LEN + 1], gid_hex[65];
    int c, rc;

    memset(&g, 0, sizeof(g));
    memset(&key, 0, sizeof(key));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': node = optarg; break;
        case 'k': keyfile = optarg; break;
        case 'i': idfile = optarg; break;
        case 't':
            if (g.n_to >= GTEE_GRANT_MAX_TO)
                return cli_usage_error("--to: at most %d counterparties", GTEE_GRANT_MAX_TO);
            if (strlen(optarg) != 64 || gtee_hex_decode(optarg, g.to[g.n_to], 32) != 0)
                return cli_usage_error("--to %.80s: expected a public key of 64 hex digits (gtee identity show)",
                                       optarg);
            g.n_to++;
            break;
        case 'K': kinds = optarg; break;
        case 'u': until = optarg; break;
        case 'w': g.flags |= GTEE_GRANT_WEIGHTS_TO_REQUESTER; break;
        case 'p': ao.policy = optarg; break;
        case 'c': ao.collateral = optarg; break;
        case 's': ao.sim_root = optarg; break;
        case 'j': cli_set_json(1); break;
        case 'h': return cli_help(usage);
        default: return cli_bad_option(argc, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("expected one argument CONTENT_ID (the container's content id)");
    if (strlen(argv[optind]) != 64 || gtee_hex_decode(argv[optind], g.content_id, 32) != 0)
        return cli_usage_error("CONTENT_ID %.80s: expected 64 hex digits (as gtee push prints it)", argv[optind]);
    if (!node || !keyfile || !idfile || !kinds)
        return cli_usage_error("--node, --key, --identity and --kinds are required");
    if (parse_kinds(kinds, &g.kinds) != 0)
        return cli_usage_error("--kinds %.80s: expected infer, train or infer,train", kinds);
    if (until && parse_until(until, &g.until, &err) < 0)
        return cli_usage_error("%s", err.msg);

    /* Attest first: nothing secret is read before the enclave is accepted. */
    if ((rc = cli_node_attest(node, &ao, &enc, &err)) < 0)
        return cli_fail_err(rc, &err);
    if ((rc = cli_secret_read(idfile, "identity", CLI_IDENTITY_PREFIX, priv, &err)) < 0)
        return cli_fail_err(rc, &err);
    rc = gtee_x25519_public(priv, g.owner);
    gtee_wipe(priv, sizeof(priv));
    if (rc < 0)
        return cli_fail(rc, "identity file %s: not an X25519 key", idfile);
    if ((rc = cli_keyfile_read(keyfile, &key, &err)) < 0)
        return cli_fail_err(rc, &err);
    rc = cli_grant_release(&enc, &key, &g, want, &err);
    gtee_box_key_wipe(&key);
    if (rc < 0)
        return cli_fail_err(rc, &err);
    /* the id its key-release receipt names on the ledger (gtee chain usage); the key was
     * wiped from g already and is no part of it */
    if ((rc = gtee_grant_id(&g, gid, &err)) < 0)
        return cli_fail_err(rc, &err);
    gtee_hex_encode(g.content_id, 32, cid_hex);
    gtee_hex_encode(want, sizeof(want), kid_hex);
    gtee_hex_encode(gid, 32, gid_hex);
    if (cli_json())
        return cli_json_emit(json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "content_id", cid_hex, "key_id", kid_hex,
                                       "grant_id", gid_hex, "enclave_id", enc.enclave_id, "tee", enc.tee,
                                       "simulated", enc.simulated))
                   ? CLI_EXIT_IO
                   : 0;
    printf("enclave %s (%s%s): attested\n", enc.enclave_id, enc.tee, enc.simulated ? ", SIMULATED: not secure" : "");
    printf("granted %s to the enclave; key id %s\n", cid_hex, kid_hex);
    printf("grant id %s\n", gid_hex);
    return 0;
}
