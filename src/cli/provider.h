/* The providers' steps, shared by `gtee push`, `gtee grant` and the one-shot forms of
 * `gtee infer` and `gtee train` (docs/cli.md): seal a file into an unnamed temporary
 * container, upload it to a node (resumable, docs/node-api.md "Uploads"), and release its
 * key to an attested enclave with a grant (docs/tee.md §7.2). Internal to src/cli/. */
#ifndef GTEE_CLI_PROVIDER_H
#define GTEE_CLI_PROVIDER_H

#include <stdint.h>

#include "gtee/box.h"
#include "gtee/err.h"
#include "gtee/jobs.h"
#include "cli/cli.h"
#include "cli/node_client.h"

struct cli_push {
    const char *node;       /* the node's API URL */
    uint64_t chunk;         /* bytes per acknowledged request */
    long timeout;           /* the longest one request may take, seconds */
    int retries;            /* resume attempts after failures */
    int progress;           /* enum cli_progress_mode */
    struct cli_progress bar;
    uint64_t base;          /* bytes acknowledged before the current request */
    const _Atomic int *stop; /* optional: when set non-zero, the upload ends (GTEE_ESTATE)
                              * before its next request */
};
#define CLI_PUSH_DEFAULTS { .chunk = 8u << 20, .timeout = 600, .retries = 5, .progress = CLI_PROGRESS_AUTO }

/* Seals path under key into an unnamed temporary (gone when closed), *out_fd at its start.
 * With gunzip set, a file that starts with the gzip magic is decompressed first (the
 * enclave reads IDX and .npy bytes, not gzip). */
int cli_push_seal(const struct gtee_box_key *key, const char *path, int gunzip, int *out_fd,
                  uint8_t id[GTEE_BOX_CONTENT_ID_LEN], uint64_t *size, struct gtee_err *err) GTEE_MUST_USE;
/* Uploads the container fd (size bytes, content id cid in hex), resuming after failures;
 * draws p->bar if it is enabled. */
int cli_push_upload(struct cli_push *p, int fd, const char *cid, uint64_t size, struct gtee_err *err) GTEE_MUST_USE;

/* Seals path under key and uploads the container at once (the upload's requests follow
 * the sealer, which runs on a thread into an unnamed temporary): the session is opened
 * without the content id, and the id the node answers must be the sealer's (GTEE_EAUTH
 * otherwise). gunzip as for cli_push_seal; a file whose size is not known ahead (not a
 * regular file) is sealed first. Draws p->bar (label) if bar. id and size: the container's. */
int cli_push_file(struct cli_push *p, const struct gtee_box_key *key, const char *path, int gunzip, int bar,
                  const char *label, uint8_t id[GTEE_BOX_CONTENT_ID_LEN], uint64_t *size,
                  struct gtee_err *err) GTEE_MUST_USE;

/* Releases key to the attested enclave under grant g (its content id, owner, kinds, until,
 * flags and counterparties set; g->key is filled here and wiped before return), and checks
 * that the enclave answers with this key's id, which goes to key_id. */
int cli_grant_release(const struct cli_enclave *enc, const struct gtee_box_key *key, struct gtee_grant *g,
                      uint8_t key_id[GTEE_BOX_KEY_ID_LEN], struct gtee_err *err) GTEE_MUST_USE;

#endif
