/* gtee: the command-line entry point (subcommands arrive with the CLI work). */
#include <stdio.h>

int main(void)
{
    printf("gtee %s\n", GTEE_VERSION_STRING);
    return 0;
}
