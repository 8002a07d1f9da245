/* Argument helpers shared by the subcommands: getopt reset, sizes, algorithm names, time. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

void cli_getopt_reset(void)
{
    optind = 0; /* glibc: 0 also resets its internal state for a fresh argv */
    opterr = 0; /* we report bad options ourselves, naming the command */
}

int cli_bad_option(int argc, char **argv)
{
    int at = optind - 1;

    if (at < 1 || at >= argc)
        return cli_usage_error("bad option");
    if (optopt && argv[at][0] == '-' && argv[at][1] != '-' && strchr(argv[at], optopt))
        return cli_usage_error("unknown option or missing value: '-%c'", optopt);
    return cli_usage_error("unknown option or missing value: '%s'", argv[at]);
}

int cli_parse_size(const char *s, uint64_t *out)
{
    unsigned long long v;
    char *end;
    unsigned shift = 0;

    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    if (*end == 'K' || *end == 'k')
        shift = 10, end++;
    else if (*end == 'M' || *end == 'm')
        shift = 20, end++;
    if (*end && strcmp(end, "iB") && strcmp(end, "B"))
        return -1;
    if (shift && v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

enum gtee_aead_alg cli_parse_alg(const char *s)
{
    if (!strcmp(s, "aes-256-gcm"))
        return GTEE_AEAD_AES_256_GCM;
    if (!strcmp(s, "chacha20-poly1305"))
        return GTEE_AEAD_CHACHA20_POLY1305;
    return 0;
}

const char *cli_alg_name(enum gtee_aead_alg alg)
{
    switch (alg) {
    case GTEE_AEAD_AES_256_GCM: return "aes-256-gcm";
    case GTEE_AEAD_CHACHA20_POLY1305: return "chacha20-poly1305";
    }
    return NULL;
}

double cli_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
