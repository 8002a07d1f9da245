/* gtee-box: the container commands (keygen, encrypt, decrypt, inspect), an executable of
 * their own so that the host's `gtee` holds no container-opening code; `gtee decrypt ARGS`
 * runs `gtee-box decrypt ARGS` (tool.c). Messages and help speak of `gtee`, as users type it. */
#include "base/guard.h"
#include "cli/cli.h"
#include "cli/commands.h"

static const struct cli_cmd commands[] = {
    { "keygen", "Generate a sealed-container key file", cmd_keygen },
    { "encrypt", "Seal a file into a container", cmd_encrypt },
    { "decrypt", "Open a container and write its plaintext", cmd_decrypt },
    { "inspect", "Show a container's header, size and content id (no key needed)", cmd_inspect },
};

int main(int argc, char **argv)
{
    static char prog[] = "gtee";

    argv[0] = prog;
    return cli_dispatch(commands, GTEE_ARRAY_LEN(commands), argc, argv);
}
