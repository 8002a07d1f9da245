/* `gtee node gc`: the blob store's retention rule applied by hand (docs/node.md, "Blob
 * store"). Internal to src/node/ and the CLI. */
#ifndef GTEE_NODE_GC_H
#define GTEE_NODE_GC_H

#include <jansson.h>

#include "gtee/err.h"

struct gtee_node_gc_opts {
    const char *dir;     /* the data directory */
    int dry_run;         /* list what the rule would delete; change nothing */
    long days;           /* < 0: the config's blob_retention_days; else this many days */
};

/* Applies the retention rule to DIR's blob store, after the same check the node runs at its
 * start. The node's data directory lock decides what is safe: while the node runs it
 * applies the rule itself, so only --dry-run is allowed (GTEE_ESTATE otherwise, nothing
 * changed). *report: what was (or would be) deleted, and what the check repaired. */
int gtee_node_gc(const struct gtee_node_gc_opts *o, json_t **report, struct gtee_err *err) GTEE_MUST_USE;

#endif
