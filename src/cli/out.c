/* Output of the `gtee` command: plain text by default, one JSON object on stdout with
 * --json; errors as `gtee: <command>: <message>` on stderr; GTEE_E* -> exit code. */
#include <stdarg.h>
#include <string.h>

#include "gtee/crypto.h"
#include "cli/cli.h"

static int json_mode;

/* docs/cli.md "Exit codes" is the reference for this table. */
static const struct {
    int code;
    const char *name;
    int exit;
} code_map[] = {
    { GTEE_EINVAL, "usage", CLI_EXIT_USAGE },
    { GTEE_ENOMEM, "out_of_memory", CLI_EXIT_INTERNAL },
    { GTEE_EIO, "io", CLI_EXIT_IO },
    { GTEE_ECRYPTO, "crypto", CLI_EXIT_INTERNAL },
    { GTEE_EAUTH, "authentication", CLI_EXIT_AUTH },
    { GTEE_EFORMAT, "malformed", CLI_EXIT_FORMAT },
    { GTEE_EKEY, "wrong_key", CLI_EXIT_AUTH },
    { GTEE_EPERM, "unsafe_permissions", CLI_EXIT_PERM },
    { GTEE_EUNSUPPORTED, "unsupported", CLI_EXIT_FORMAT },
    { GTEE_EPOLICY, "policy", CLI_EXIT_POLICY },
    { GTEE_EEXIST, "exists", CLI_EXIT_IO },
    { GTEE_ENOTFOUND, "not_found", CLI_EXIT_IO },
    { GTEE_ESTATE, "state", CLI_EXIT_INTERNAL },
    { GTEE_ELIMIT, "limit", CLI_EXIT_FORMAT },
};

int cli_exit_code(int gtee_code)
{
    if (gtee_code == 0)
        return CLI_EXIT_OK;
    for (size_t i = 0; i < sizeof(code_map) / sizeof(code_map[0]); i++)
        if (code_map[i].code == gtee_code)
            return code_map[i].exit;
    return CLI_EXIT_INTERNAL; /* fail closed: an unknown failure is never success */
}

const char *cli_code_name(int gtee_code)
{
    for (size_t i = 0; i < sizeof(code_map) / sizeof(code_map[0]); i++)
        if (code_map[i].code == gtee_code)
            return code_map[i].name;
    return "internal";
}

void cli_set_json(int on)
{
    json_mode = on;
}

int cli_json(void)
{
    return json_mode;
}

int cli_json_emit(json_t *obj)
{
    int rc = -1;

    if (obj && json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0 &&
        fputc('\n', stdout) != EOF && fflush(stdout) == 0)
        rc = 0;
    json_decref(obj);
    return rc;
}

json_t *cli_json_hex(const uint8_t *p, size_t len)
{
    char buf[2 * 64 + 1];

    if (len > 64)
        return NULL;
    gtee_hex_encode(p, len, buf);
    return json_string(buf);
}

static int report(int rc, const char *msg)
{
    const char *path = cli_cmd_path();
    size_t plen = strlen(path);

    /* The library prefixes some messages with the operation ("decrypt: "); when that is
     * this command's name, say it once. */
    if (plen && !strncmp(msg, path, plen) && !strncmp(msg + plen, ": ", 2))
        msg += plen + 2;
    fflush(stdout);
    if (path[0])
        fprintf(stderr, "gtee: %s: %s\n", path, msg);
    else
        fprintf(stderr, "gtee: %s\n", msg);
    if (json_mode) {
        json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", cli_code_name(rc), "message", msg);
        (void)cli_json_emit(o);
    }
    return cli_exit_code(rc);
}

int cli_fail(int rc, const char *fmt, ...)
{
    char msg[GTEE_ERR_MSG_MAX + 128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return report(rc, msg);
}

int cli_fail_err(int rc, const struct gtee_err *err)
{
    if (rc >= 0)
        rc = GTEE_ECRYPTO; /* a failure reported without a code is still a failure */
    if (err && err->code < 0 && err->msg[0])
        return report(err->code, err->msg);
    return report(rc, gtee_strerror(rc));
}

int cli_usage_error(const char *fmt, ...)
{
    char msg[GTEE_ERR_MSG_MAX];
    const char *path = cli_cmd_path();
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report(GTEE_EINVAL, msg);
    fprintf(stderr, "Try 'gtee%s%s --help'.\n", path[0] ? " " : "", path);
    return CLI_EXIT_USAGE;
}

int cli_help(const char *text)
{
    fputs(text, stdout);
    fputs("\nExit codes:\n"
          "  0  success\n"
          "  1  internal or crypto failure\n"
          "  2  usage error (bad arguments, unknown command)\n"
          "  3  I/O error (missing or unreadable file, refusing to overwrite)\n"
          "  4  authentication or integrity failure (tampered input, wrong key)\n"
          "  5  malformed input (not a container, bad key file)\n"
          "  6  unsafe key-file permissions\n"
          "  7  rejected by policy\n",
          stdout);
    return 0;
}
