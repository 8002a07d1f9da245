/* Shared declarations of the `gtee` command: the subcommand table, output and error
 * helpers, exit codes, key files and the progress bar. Internal to src/cli/. */
#ifndef GTEE_CLI_H
#define GTEE_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "gtee/box.h"
#include "gtee/err.h"

/* ---- exit codes (docs/cli.md, "Exit codes") ---- */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_INTERNAL = 1, /* internal or crypto failure */
    CLI_EXIT_USAGE = 2,    /* bad arguments, unknown command */
    CLI_EXIT_IO = 3,       /* missing/unreadable file, refusing to overwrite */
    CLI_EXIT_AUTH = 4,     /* tampered input, wrong key */
    CLI_EXIT_FORMAT = 5,   /* not a container, bad key file */
    CLI_EXIT_PERM = 6,     /* unsafe key-file permissions */
    CLI_EXIT_POLICY = 7,   /* rejected by policy */
};

/* The one mapping from a GTEE_E* code to an exit code. */
int cli_exit_code(int gtee_code);
/* Stable machine name of a code for JSON errors ("authentication", "io", ...). */
const char *cli_code_name(int gtee_code);

/* ---- subcommand tables ---- */
struct cli_cmd {
    const char *name;
    const char *summary; /* one line, shown by `gtee --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the command's own name */
};

/* Runs the entry of table named by argv[1]; argv[0] is the parent's name ("gtee",
 * "evidence"). Handles `--help`, `help [CMD...]`, a missing or unknown command (exit 2).
 * The chosen name is appended to the command path used in messages. */
int cli_dispatch(const struct cli_cmd *table, size_t n, int argc, char **argv);
/* Lists a table's commands (name and summary). */
void cli_list_commands(FILE *f, const struct cli_cmd *table, size_t n);
/* "encrypt", "evidence verify": the commands chosen so far, for messages. */
const char *cli_cmd_path(void);
/* Replaces this process with the sibling executable tool (gtee-model, gtee-box), found
 * next to the running executable, then on PATH, with argv passed through (argv[0], the
 * command's name, only if keep_name). Returns only on failure, with the exit code, after
 * naming the missing executable (exit 3). */
int cli_tool_exec(const char *tool, int keep_name, int argc, char **argv);

/* ---- output ---- */
/* Set by a command that parsed --json: results and errors then go to stdout as JSON. */
void cli_set_json(int on);
int cli_json(void);
/* Prints obj as one line of JSON on stdout and releases it (steals the reference). */
int cli_json_emit(json_t *obj);
/* Reports a failure: `gtee: <command>: <message>` on stderr (and a JSON error object on
 * stdout with --json). Returns the exit code for rc. */
int cli_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with the message a library call left in err (or the code's name if none). */
int cli_fail_err(int rc, const struct gtee_err *err);
/* A usage error: the message plus a hint to run --help. Returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a command's help text and the exit-code table on stdout. Returns 0. */
int cli_help(const char *text);
/* Hex of a byte string into a json string / into buf (2*len+1). */
json_t *cli_json_hex(const uint8_t *p, size_t len);

/* ---- argument helpers ---- */
/* Resets getopt so each (sub)command can parse its own argv. */
void cli_getopt_reset(void);
/* The usage error for getopt_long's '?': names the offending argument. */
int cli_bad_option(int argc, char **argv);
/* Parses N, NK or NM (binary units) into *out; -1 on a bad number. */
int cli_parse_size(const char *s, uint64_t *out);
/* "aes-256-gcm" | "chacha20-poly1305"; 0 if unknown. */
enum gtee_aead_alg cli_parse_alg(const char *s);
/* The --alg spelling of an algorithm; NULL if unknown. */
const char *cli_alg_name(enum gtee_aead_alg alg);
/* Seconds since an arbitrary point, monotonic. */
double cli_now(void);

/* ---- key files (keyfile.c) ---- */
#define CLI_BOX_KEY_PREFIX "gtee-box-key-v1:"
#define CLI_IDENTITY_PREFIX "gtee-identity-v1:"   /* an X25519 private key: results are sealed to it */
#define CLI_SECRET_LEN 32
/* The file kinds behind the box key file and the identity: one line PREFIX<64 hex digits>,
 * mode 0600 (kind names the file in messages: "key", "identity"). */
int cli_secret_write(const char *path, const char *prefix, const uint8_t secret[CLI_SECRET_LEN], int overwrite,
                     struct gtee_err *err) GTEE_MUST_USE;
int cli_secret_read(const char *path, const char *kind, const char *prefix, uint8_t secret[CLI_SECRET_LEN],
                    struct gtee_err *err) GTEE_MUST_USE;
int cli_secret_parse(const char *path, const char *kind, const char *prefix, const uint8_t *buf, size_t len,
                     uint8_t secret[CLI_SECRET_LEN], struct gtee_err *err) GTEE_MUST_USE;
/* Writes a key file with mode 0600 through a temporary file and a rename; refuses an
 * existing path (GTEE_EEXIST) unless overwrite. */
int cli_keyfile_write(const char *path, const struct gtee_box_key *key, int overwrite,
                      struct gtee_err *err) GTEE_MUST_USE;
/* Reads a key file: GTEE_EPERM if group/others may access it, GTEE_EFORMAT if it is
 * malformed (the message says line and column), GTEE_EIO if it cannot be read. */
int cli_keyfile_read(const char *path, struct gtee_box_key *key, struct gtee_err *err) GTEE_MUST_USE;
/* The parser behind cli_keyfile_read, on bytes already read (path only names them). */
int cli_keyfile_parse(const char *path, const uint8_t *buf, size_t len, struct gtee_box_key *key,
                      struct gtee_err *err) GTEE_MUST_USE;

/* ---- progress bar (progress.c) ---- */
enum cli_progress_mode { CLI_PROGRESS_AUTO = -1, CLI_PROGRESS_OFF = 0, CLI_PROGRESS_ON = 1 };
#define CLI_PROGRESS_MIN_BYTES (64ull << 20)

struct cli_progress {
    int enabled;
    uint64_t total;   /* 0 if unknown (a pipe) */
    double start;
    double last;      /* time of the last redraw */
    uint64_t done;
    const char *label;
};

/* Decides whether to draw (mode, stderr a terminal, total >= 64 MiB, not --json). */
void cli_progress_init(struct cli_progress *p, int mode, uint64_t total, const char *label);
/* The gtee_box_progress_fn; arg is a struct cli_progress. */
void cli_progress_update(uint64_t done, void *arg);
/* Draws the final state and ends the line (if anything was drawn). */
void cli_progress_finish(struct cli_progress *p);

/* ---- container layout (layout.c) ---- */
/* Number of chunks and plaintext length implied by a container's total size and its
 * chunk size; GTEE_EFORMAT if no container of that chunk size has that length. */
int cli_box_layout(uint64_t container_size, uint32_t chunk_size, uint64_t *chunks,
                   uint64_t *plaintext) GTEE_MUST_USE;

#endif
