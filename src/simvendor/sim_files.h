/* File handling of a simulated device directory (sim_files.c). Internal. */
#ifndef GTEE_TEE_SIM_FILES_H
#define GTEE_TEE_SIM_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gtee/err.h"

#define SIM_WRITER_MAX 32

/* Files and directories created under dirfd, in order, so a failed init can undo them. */
struct sim_writer {
    int dirfd;
    int n;
    char names[SIM_WRITER_MAX][48];
    int is_dir[SIM_WRITER_MAX];
};

/* Creates rel (never overwriting, never following a link) with exactly mode. */
int sim_writer_put(struct sim_writer *w, const char *rel, const void *data, size_t len, mode_t mode,
                   struct gtee_err *err) GTEE_MUST_USE;
int sim_writer_mkdir(struct sim_writer *w, const char *rel, mode_t mode, struct gtee_err *err) GTEE_MUST_USE;
/* Removes what the writer created, newest first. */
void sim_writer_undo(struct sim_writer *w);

/* Reads rel (at most max bytes) into a malloc'd buffer with a NUL after the contents.
 * secret: GTEE_EPERM unless only the owner may access it. The caller wipes and frees. */
int sim_read_file(int dirfd, const char *rel, int secret, size_t max, uint8_t **out, size_t *out_len,
                  struct gtee_err *err) GTEE_MUST_USE;

#endif
