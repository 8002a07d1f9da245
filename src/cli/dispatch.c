/* Subcommand dispatch: finds argv[1] in a table and runs it; serves `--help` and
 * `help CMD...` at every level, so nested tables (`gtee evidence verify`) behave alike. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static char cmd_path[256];

const char *cli_cmd_path(void)
{
    return cmd_path;
}

static void path_push(const char *name)
{
    size_t used = strlen(cmd_path);

    if (used + 1 + strlen(name) + 1 > sizeof(cmd_path))
        return; /* absurdly deep nesting: keep the prefix */
    if (used)
        cmd_path[used++] = ' ';
    strcpy(cmd_path + used, name);
}

void cli_list_commands(FILE *f, const struct cli_cmd *table, size_t n)
{
    int width = 0;

    for (size_t i = 0; i < n; i++)
        if ((int)strlen(table[i].name) > width)
            width = (int)strlen(table[i].name);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-*s  %s\n", width, table[i].name, table[i].summary);
}

static void table_usage(FILE *f, const struct cli_cmd *table, size_t n)
{
    const char *sep = cmd_path[0] ? " " : "";

    fprintf(f, "Usage: gtee%s%s <command> [options] [arguments]\n\nCommands:\n", sep, cmd_path);
    cli_list_commands(f, table, n);
    fprintf(f, "\nRun 'gtee help%s%s <command>' or 'gtee%s%s <command> --help' for its options.\n",
            sep, cmd_path, sep, cmd_path);
    if (!cmd_path[0])
        fprintf(f, "Run 'gtee --version' for the versions of gtee and OpenSSL.\n");
}

static const struct cli_cmd *find(const struct cli_cmd *table, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(table[i].name, name))
            return &table[i];
    return NULL;
}

/* `help A B` becomes `A B --help` at this level. */
static int run_help(const struct cli_cmd *table, size_t n, int argc, char **argv)
{
    char **v;
    int rc;

    if (argc <= 2 || !strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
        table_usage(stdout, table, n);
        return 0;
    }
    if (!find(table, n, argv[2]))
        return cli_usage_error("unknown command '%s'", argv[2]);
    v = calloc((size_t)argc + 1, sizeof(*v));
    if (!v)
        return cli_fail(GTEE_ENOMEM, "out of memory");
    v[0] = argv[0];
    for (int i = 2; i < argc; i++)
        v[i - 1] = argv[i];
    v[argc - 1] = (char *)"--help";
    v[argc] = NULL;
    rc = cli_dispatch(table, n, argc, v);
    free(v);
    return rc;
}

int cli_dispatch(const struct cli_cmd *table, size_t n, int argc, char **argv)
{
    const struct cli_cmd *c;

    if (argc < 2) {
        table_usage(stderr, table, n);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        table_usage(stdout, table, n);
        return 0;
    }
    if (!strcmp(argv[1], "help"))
        return run_help(table, n, argc, argv);
    c = find(table, n, argv[1]);
    if (!c) {
        if (argv[1][0] == '-')
            return cli_usage_error("unknown option '%s'", argv[1]);
        return cli_usage_error("unknown command '%s'", argv[1]);
    }
    path_push(c->name);
    /* --json anywhere among the options makes even an error found before getopt reaches
     * it (a bad option earlier on the line) come out as JSON. */
    for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--json"))
            cli_set_json(1);
    cli_getopt_reset();
    return c->run(argc - 1, argv + 1);
}
