/* Starting the enclave from the command line: option handling and finding gtee-enclave. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/enclave_cli.h"

int cli_enclave_opt(int c, const char *arg, struct gtee_enclave_launch *l, char *bin, size_t bin_len)
{
    switch (c) {
    case 0x100: l->tee = arg; return 1;
    case 0x101: l->sim_dir = arg; return 1;
    case 0x102: l->root = arg; return 1;
    case 0x103: l->config = arg; return 1;
    case 0x104:
        if (strlen(arg) >= bin_len)
            return -1;
        memcpy(bin, arg, strlen(arg) + 1);
        l->binary = bin;
        return 1;
    case 0x105:
        if (strcmp(arg, "3") && strcmp(arg, "4"))
            return -1;
        l->sim_quote_version = atoi(arg);
        return 1;
    case 0x106: l->gramine_dir = arg; return 1;
    case 0x107: l->gramine_sgx = arg; return 1;
    case 0x108: l->key_release = arg; return 1;
    case 0x109: l->key_release_pub = arg; return 1;
    case 0x10a: {
        char *end = NULL;
        long v = strtol(arg, &end, 10);

        if (end == arg || *end || v < 1 || v > 3600)
            return -1;
        l->timeout_ms = (unsigned)v * 1000u;
        return 1;
    }
    case 0x10b: l->allow_jit = 1; return 1;
    case 0x10c: {
        char *end = NULL;
        unsigned long long v = strtoull(arg, &end, 10);

        if (end == arg || *end || arg[0] == '-' || v < 1 || v > (1ull << 24))
            return -1;
        l->memory_limit = (uint64_t)v << 20;
        return 1;
    }
    }
    return 0;
}

/* $GTEE_ENCLAVE, else gtee-enclave in the directory of the running gtee. */
static int find_binary(char *bin, size_t bin_len)
{
    const char *env = getenv("GTEE_ENCLAVE");
    char self[PATH_MAX];
    ssize_t n;
    char *slash;

    if (env && env[0]) {
        if (strlen(env) >= bin_len)
            return -1;
        memcpy(bin, env, strlen(env) + 1);
        return 0;
    }
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return snprintf(bin, bin_len, "%s/gtee-enclave", self) < (int)bin_len ? 0 : -1;
}

int cli_enclave_start(struct gtee_enclave_launch *l, char *bin, size_t bin_len, struct gtee_enclave_proc *p)
{
    struct gtee_err err = {0};
    int rc;

    if (!l->tee)
        return cli_usage_error("--tee is required (sim, sgx, tdx, snp or auto)");
    if (!l->binary) {
        /* Under Gramine the manifest names the binary; ours is only hashed for display. */
        if (find_binary(bin, bin_len) == 0)
            l->binary = bin;
        else if (!l->gramine_dir)
            return cli_fail(GTEE_ENOTFOUND, "cannot find gtee-enclave (use --enclave PATH)");
    }
    rc = gtee_enclave_start(l, p, &err);
    return rc ? cli_fail_err(rc, &err) : 0;
}

int cli_enclave_stop(struct gtee_enclave_proc *p)
{
    int st = 0;

    /* What the enclave reported about itself (under Gramine: the hardening it skipped). */
    if (p->notice[0])
        fprintf(stderr, "gtee-enclave: %s\n", p->notice);
    if (gtee_enclave_stop(p, &st) != 0)
        return cli_fail(GTEE_EIO, "could not reap the enclave process");
    if (WIFSIGNALED(st))
        return cli_fail(GTEE_EIO, "the enclave process was killed by signal %d", WTERMSIG(st));
    if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
        return cli_fail(GTEE_EIO, "the enclave process exited with status %d", WEXITSTATUS(st));
    return 0;
}
