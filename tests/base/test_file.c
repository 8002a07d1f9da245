/* The safe output and bounded input helpers (include/gtee/file.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gtee/file.h"

static char dir[256];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/gtee-test-file.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void at(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

/* Entries of dir other than . and .. */
static int entries(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void test_write_creates_with_exact_mode_whatever_the_umask(void **state)
{
    char p[300], got[64];
    struct stat st;
    mode_t old = umask(0);

    at(p, sizeof(p), "out");
    assert_int_equal(gtee_file_write(p, "hello", 5, 0600, 0, NULL), 0);
    umask(old);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    slurp(p, got, sizeof(got));
    assert_string_equal(got, "hello");
    assert_int_equal(entries(), 1);
}

static void test_existing_output_refused_without_replace_and_untouched(void **state)
{
    char p[300], got[64];
    struct gtee_err err = {0};

    at(p, sizeof(p), "keep");
    assert_int_equal(gtee_file_write(p, "old", 3, 0600, 0, NULL), 0);
    assert_int_equal(gtee_file_write(p, "new", 3, 0600, 0, &err), GTEE_EEXIST);
    assert_non_null(strstr(err.msg, p));
    slurp(p, got, sizeof(got));
    assert_string_equal(got, "old");
    assert_int_equal(gtee_file_write(p, "new", 3, 0600, GTEE_FILE_REPLACE, NULL), 0);
    slurp(p, got, sizeof(got));
    assert_string_equal(got, "new");
    assert_int_equal(entries(), 1);
}

/* The name another user could plant: nothing predictable is ever opened. */
static void test_planted_symlinks_at_old_temporary_names_are_not_followed(void **state)
{
    char p[300], victim[300], link1[300], link2[300], got[64];

    at(p, sizeof(p), "model.onnx");
    at(victim, sizeof(victim), "victim");
    at(link1, sizeof(link1), "model.onnx.tmp");
    at(link2, sizeof(link2), ".model.onnx.tmp");
    assert_int_equal(gtee_file_write(victim, "precious", 8, 0600, 0, NULL), 0);
    assert_int_equal(symlink(victim, link1), 0);
    assert_int_equal(symlink(victim, link2), 0);
    assert_int_equal(gtee_file_write(p, "model", 5, 0600, 0, NULL), 0);
    slurp(victim, got, sizeof(got));
    assert_string_equal(got, "precious");
    slurp(p, got, sizeof(got));
    assert_string_equal(got, "model");
}

/* With --force a symlink at the target is replaced by the file, never written through. */
static void test_replace_of_a_symlink_replaces_the_link_not_its_target(void **state)
{
    char p[300], victim[300], got[64];
    struct stat st;

    at(p, sizeof(p), "out");
    at(victim, sizeof(victim), "victim");
    assert_int_equal(gtee_file_write(victim, "precious", 8, 0600, 0, NULL), 0);
    assert_int_equal(symlink(victim, p), 0);
    assert_int_equal(gtee_file_write(p, "x", 1, 0600, 0, NULL), GTEE_EEXIST);
    assert_int_equal(gtee_file_write(p, "x", 1, 0600, GTEE_FILE_REPLACE, NULL), 0);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    slurp(victim, got, sizeof(got));
    assert_string_equal(got, "precious");
}

static void test_fifo_or_directory_output_refused_even_with_replace(void **state)
{
    char fifo[300], sub[300];
    struct gtee_err err = {0};

    at(fifo, sizeof(fifo), "fifo");
    at(sub, sizeof(sub), "sub");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(gtee_file_write(fifo, "x", 1, 0600, GTEE_FILE_REPLACE, &err), GTEE_EEXIST);
    assert_non_null(strstr(err.msg, "FIFO"));
    assert_int_equal(gtee_file_write(sub, "x", 1, 0600, GTEE_FILE_REPLACE, &err), GTEE_EEXIST);
    assert_non_null(strstr(err.msg, "directory"));
    assert_int_equal(entries(), 2);
}

/* A FIFO accepted with GTEE_FILE_SPECIAL receives nothing until commit, and the whole output
 * then; an aborted output sends it nothing at all. */
static void test_special_output_receives_only_a_complete_output(void **state)
{
    char fifo[300], got[64];
    struct gtee_file_out o;
    int rfd;
    ssize_t n;

    at(fifo, sizeof(fifo), "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    rfd = open(fifo, O_RDONLY | O_NONBLOCK);
    assert_true(rfd >= 0);
    assert_int_equal(gtee_file_out_begin(&o, fifo, 0600, GTEE_FILE_REPLACE | GTEE_FILE_SPECIAL, NULL), 0);
    assert_int_equal(gtee_file_out_write(&o, "part", 4, NULL), 0);
    assert_int_equal(read(rfd, got, sizeof(got)), 0); /* nothing reached the reader */
    gtee_file_out_abort(&o);
    assert_int_equal(read(rfd, got, sizeof(got)), 0);
    assert_int_equal(gtee_file_out_begin(&o, fifo, 0600, GTEE_FILE_REPLACE | GTEE_FILE_SPECIAL, NULL), 0);
    assert_int_equal(gtee_file_out_write(&o, "whole", 5, NULL), 0);
    assert_int_equal(read(rfd, got, sizeof(got)), 0);
    assert_int_equal(gtee_file_out_commit(&o, NULL), 0);
    n = read(rfd, got, sizeof(got));
    assert_int_equal(n, 5);
    assert_memory_equal(got, "whole", 5);
    close(rfd);
    assert_int_equal(entries(), 1);
}

static void test_special_output_without_reader_fails_at_once(void **state)
{
    char fifo[300];
    struct gtee_err err = {0};

    at(fifo, sizeof(fifo), "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(gtee_file_write(fifo, "x", 1, 0600, GTEE_FILE_REPLACE | GTEE_FILE_SPECIAL, &err), GTEE_EIO);
    assert_non_null(strstr(err.msg, "no process is reading"));
}

static void test_abort_leaves_nothing(void **state)
{
    char p[300];
    struct gtee_file_out o;

    at(p, sizeof(p), "out");
    assert_int_equal(gtee_file_out_begin(&o, p, 0600, 0, NULL), 0);
    assert_int_equal(gtee_file_out_write(&o, "x", 1, NULL), 0);
    assert_int_equal(entries(), 1); /* the temporary */
    gtee_file_out_abort(&o);
    gtee_file_out_abort(&o);
    assert_int_equal(entries(), 0);
}

/* Another writer takes the name between begin and commit: the commit refuses, nothing is
 * replaced and the temporary is gone. */
static void test_commit_refuses_a_name_taken_meanwhile(void **state)
{
    char p[300], got[64];
    struct gtee_file_out o;

    at(p, sizeof(p), "out");
    assert_int_equal(gtee_file_out_begin(&o, p, 0600, 0, NULL), 0);
    assert_int_equal(gtee_file_out_write(&o, "mine", 4, NULL), 0);
    assert_int_equal(gtee_file_write(p, "theirs", 6, 0600, 0, NULL), 0);
    assert_int_equal(gtee_file_out_commit(&o, NULL), GTEE_EEXIST);
    slurp(p, got, sizeof(got));
    assert_string_equal(got, "theirs");
    assert_int_equal(entries(), 1);
}

/* The dirfd variant writes under the directory it was given, even after the directory's
 * path has been swapped for a symlink to another directory. */
static void test_writeat_stays_under_the_directory_descriptor(void **state)
{
    char sub[300], moved[300], other[300], p[400], got[64];
    struct stat st;
    int dfd;

    at(sub, sizeof(sub), "sub");
    at(moved, sizeof(moved), "moved");
    at(other, sizeof(other), "other");
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(mkdir(other, 0700), 0);
    dfd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    assert_int_equal(rename(sub, moved), 0);
    assert_int_equal(symlink(other, sub), 0);
    assert_int_equal(gtee_file_writeat(dfd, "f", "kept", 4, 0640, 0, NULL), 0);
    assert_int_equal(gtee_file_writeat(dfd, "f", "again", 5, 0640, 0, NULL), GTEE_EEXIST);
    close(dfd);
    snprintf(p, sizeof(p), "%s/f", moved);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    slurp(p, got, sizeof(got));
    assert_string_equal(got, "kept");
    snprintf(p, sizeof(p), "%s/f", other);
    assert_int_equal(lstat(p, &st), -1);
}

/* A zeroed output (fd 0) is safe to abort: stdin stays open. */
static void test_abort_of_a_zeroed_output_closes_nothing(void **state)
{
    struct gtee_file_out o;
    int null = open("/dev/null", O_RDONLY);

    assert_true(null >= 0);
    assert_int_equal(dup2(null, 0), 0); /* whatever the runner gave as stdin */
    close(null);
    memset(&o, 0, sizeof(o));
    gtee_file_out_abort(&o);
    assert_int_not_equal(fcntl(0, F_GETFD), -1);
}

static void test_read_refuses_a_fifo_at_once_and_names_it(void **state)
{
    char fifo[300];
    struct gtee_err err = {0};
    uint8_t *buf = (uint8_t *)"untouched";
    size_t len = 99;
    time_t t0 = time(NULL);

    at(fifo, sizeof(fifo), "policy.json");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(gtee_file_read(fifo, 1024, &buf, &len, &err), GTEE_EIO);
    assert_true(time(NULL) - t0 < 5);
    assert_null(buf);
    assert_int_equal(len, 0);
    assert_non_null(strstr(err.msg, fifo));
    assert_non_null(strstr(err.msg, "FIFO"));
    assert_int_equal(gtee_file_read("/dev/zero", 1024, &buf, &len, &err), GTEE_EIO);
    assert_non_null(strstr(err.msg, "character device"));
    assert_int_equal(gtee_file_read(dir, 1024, &buf, &len, &err), GTEE_EIO);
    assert_non_null(strstr(err.msg, "directory"));
}

static void test_read_is_bounded_and_nul_terminated(void **state)
{
    char p[300];
    struct gtee_err err = {0};
    uint8_t *buf = NULL;
    size_t len = 0;

    at(p, sizeof(p), "in");
    assert_int_equal(gtee_file_write(p, "0123456789", 10, 0600, 0, NULL), 0);
    assert_int_equal(gtee_file_read(p, 9, &buf, &len, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "over the limit of 9"));
    assert_int_equal(gtee_file_read(p, 10, &buf, &len, NULL), 0);
    assert_int_equal(len, 10);
    assert_string_equal((char *)buf, "0123456789");
    free(buf);
    assert_int_equal(gtee_file_read("/nonexistent/gtee", 10, &buf, &len, &err), GTEE_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_creates_with_exact_mode_whatever_the_umask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_existing_output_refused_without_replace_and_untouched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_planted_symlinks_at_old_temporary_names_are_not_followed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replace_of_a_symlink_replaces_the_link_not_its_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_or_directory_output_refused_even_with_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_special_output_receives_only_a_complete_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_special_output_without_reader_fails_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_refuses_a_name_taken_meanwhile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writeat_stays_under_the_directory_descriptor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_of_a_zeroed_output_closes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_refuses_a_fifo_at_once_and_names_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_is_bounded_and_nul_terminated, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
