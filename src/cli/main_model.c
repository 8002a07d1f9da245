/* gtee-model: the plaintext ONNX developer tools (`gtee model inspect|run|train`), an
 * executable of their own so that the host's `gtee` holds no ML engine code; `gtee model
 * ARGS` runs `gtee-model ARGS` (tool.c). Messages and help speak of `gtee model`. */
#include <stdlib.h>

#include "base/guard.h"
#include "cli/cli.h"
#include "cli/commands.h"

static const struct cli_cmd commands[] = {
    { "model", "ONNX models: inspect, run (developer tools; plaintext)", cmd_model },
};

int main(int argc, char **argv)
{
    static char prog[] = "gtee", model[] = "model";
    char **v = calloc((size_t)argc + 2, sizeof(*v));
    int rc;

    if (!v)
        return cli_fail(GTEE_ENOMEM, "out of memory");
    /* gtee-model ARGS is dispatched as gtee model ARGS, so paths and usage read alike. */
    v[0] = prog;
    v[1] = model;
    for (int i = 1; i < argc; i++)
        v[i + 1] = argv[i];
    rc = cli_dispatch(commands, GTEE_ARRAY_LEN(commands), argc + 1, v);
    free(v);
    return rc;
}
