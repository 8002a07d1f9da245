/* Runs a sibling executable in place of `gtee` (the way git runs its subcommands): the
 * host's `gtee` holds no ML engine and no container-opening code (the never-rule,
 * docs/architecture.md), so `gtee model` and the container commands exec gtee-model and
 * gtee-box, found next to the running gtee first, then on PATH. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

/* The directory of the running executable, or "" if /proc cannot say. */
static void self_dir(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    char *slash;

    if (n <= 0) {
        buf[0] = '\0';
        return;
    }
    buf[n] = '\0';
    slash = strrchr(buf, '/');
    if (slash)
        *slash = '\0';
    else
        buf[0] = '\0';
}

int cli_tool_exec(const char *tool, int keep_name, int argc, char **argv)
{
    char dir[PATH_MAX], path[PATH_MAX + 64];
    char **v;
    int n = 0, rc;

    /* argv[0] is the command's name: gtee-box needs it ("decrypt"), gtee-model does not
     * ("model" is all it does). */
    v = calloc((size_t)argc + 2, sizeof(*v));
    if (!v)
        return cli_fail(GTEE_ENOMEM, "out of memory");
    v[n++] = (char *)tool;
    for (int i = keep_name ? 0 : 1; i < argc; i++)
        v[n++] = argv[i];
    v[n] = NULL;
    fflush(NULL);

    self_dir(dir, sizeof(dir));
    if (dir[0] && (size_t)snprintf(path, sizeof(path), "%s/%s", dir, tool) < sizeof(path) &&
        access(path, X_OK) == 0) {
        execv(path, v);
        rc = cli_fail(GTEE_EIO, "cannot run %s: %s", path, strerror(errno));
        free(v);
        return rc;
    }
    execvp(tool, v);
    if (errno == ENOENT)
        rc = cli_fail(GTEE_ENOTFOUND, "the %s executable is not installed: not found in %s nor on PATH",
                      tool, dir[0] ? dir : "the directory of gtee");
    else
        rc = cli_fail(GTEE_EIO, "cannot run %s from PATH: %s", tool, strerror(errno));
    free(v);
    return rc;
}
