/* The shared run of `gtee encrypt` and `gtee decrypt` (boxrun.c). Internal to src/cli/. */
#ifndef GTEE_CLI_BOXRUN_H
#define GTEE_CLI_BOXRUN_H

#include "cli/cli.h"

struct cli_box_job {
    int seal;                /* 1 encrypt, 0 decrypt */
    const char *key_path;
    enum gtee_aead_alg alg;  /* 0: library default */
    uint32_t chunk_size;     /* 0: library default */
    int force;
    int progress;            /* enum cli_progress_mode */
    const char *in, *out;    /* "-" for stdin / stdout */
};

/* Runs the job and returns the exit code. */
int cli_box_run(const struct cli_box_job *job);

#endif
