/* Starting the SGX enclave through Gramine: the launcher runs `gramine-sgx gtee-enclave` in
 * the directory of the signed manifest. A faithful fake loader (tests/tee/fake-gramine-sgx,
 * first on PATH) checks what the real one needs and runs what the manifest rendered from
 * gramine/gtee-enclave.manifest.template says, over the fake /dev/attestation serving the
 * real sgx-1 quote; the launcher, the CLI and the enclave take the path they take on SGX. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/wait.h>

#include "gtee/crypto.h"
#include "gtee/enclave.h"
#include "gtee/msg.h"
#include "tee/fake_gramine.c"

static const uint8_t kenc[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t ksig[16] = { 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };

struct gfix {
    char tmp[PATH_MAX], bin[PATH_MAX + 8], gdir[PATH_MAX + 8], log[PATH_MAX + 16];
    char path_saved[8192];
    struct fake_gramine f;
};

static void sh(const char *cmd)
{
    int st = system(cmd);

    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        fail_msg("command failed: %s", cmd);
}

/* Renders the template the way gramine-manifest would for these values (the template's
 * Jinja placeholders are plain substitutions), signs nothing: the fake checks presence. */
static void render_manifest(const struct gfix *x, const char *enclave)
{
    char cmd[4 * PATH_MAX + 1024];

    snprintf(cmd, sizeof(cmd),
             "sed -e 's|{{ entrypoint }}|%s|g' -e 's|{{ config }}|test|g' -e 's|{{ log_level }}|error|g' "
             "-e 's|{{ arch_libdir }}|/lib/x86_64-linux-gnu|g' -e 's|{{ gramine.libos }}|/usr/lib/gramine/libsysdb.so|g' "
             "-e 's|{{ gramine.runtimedir() }}|/usr/lib/gramine/runtime|g' "
             "'%s/gramine/gtee-enclave.manifest.template' > '%s/gtee-enclave.manifest.sgx' && "
             "! grep -q '{{' '%s/gtee-enclave.manifest.sgx' && echo 'fake SIGSTRUCT' > '%s/gtee-enclave.sig'",
             enclave, getenv("GTEE_SOURCE_DIR"), x->gdir, x->gdir, x->gdir);
    sh(cmd);
}

static int setup(void **state)
{
    struct gfix *x = calloc(1, sizeof(*x));
    char root[PATH_MAX + 8], q[PATH_MAX], cmd[4 * PATH_MAX + 256];
    const char *path = getenv("PATH");

    if (!x || fake_tmpdir(x->tmp, sizeof(x->tmp), "gram") != 0)
        return -1;
    snprintf(root, sizeof(root), "%s/root", x->tmp);
    snprintf(x->bin, sizeof(x->bin), "%s/bin", x->tmp);
    snprintf(x->gdir, sizeof(x->gdir), "%s/g", x->tmp);
    snprintf(x->log, sizeof(x->log), "%s/loader.log", x->tmp);
    vector_path(q, sizeof(q), "sgx/sgx-1/quote.bin");
    if (fake_gramine_create(&x->f, root, q, "dcap", kenc, ksig) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd),
             "mkdir -p '%s' '%s' && ln -s '%s/tests/tee/fake-gramine-sgx' '%s/gramine-sgx' && "
             "printf 'FAKE_ROOT=%%s\\nFAKE_LOG=%%s\\n' '%s' '%s' > '%s/fake-gramine.conf'",
             x->bin, x->gdir, getenv("GTEE_SOURCE_DIR"), x->bin, root, x->log, x->bin);
    sh(cmd);
    render_manifest(x, getenv("GTEE_ENCLAVE"));
    snprintf(x->path_saved, sizeof(x->path_saved), "%s", path ? path : "/usr/bin:/bin");
    snprintf(cmd, sizeof(cmd), "%s:%s", x->bin, x->path_saved);
    setenv("PATH", cmd, 1);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct gfix *x = *state;
    char keep[PATH_MAX];

    setenv("PATH", x->path_saved, 1);
    snprintf(keep, sizeof(keep), "%s", x->tmp);
    fake_gramine_destroy(&x->f); /* removes the root only */
    fake_rmtree(keep);
    free(x);
    return 0;
}

static char *slurp(const char *path)
{
    size_t n = 0;
    uint8_t *p = fake_load(path, &n);
    char *s = calloc(1, n + 1);

    assert_non_null(s);
    if (p)
        memcpy(s, p, n);
    free(p);
    return s;
}

static void launch(struct gfix *x, struct gtee_enclave_launch *l)
{
    memset(l, 0, sizeof(*l));
    l->binary = getenv("GTEE_ENCLAVE");
    l->tee = "sgx";
    l->gramine_dir = x->gdir;
}

static void test_sgx_starts_through_gramine_sgx_in_the_manifest_directory(void **state)
{
    struct gfix *x = *state;
    struct gtee_enclave_launch l;
    struct gtee_enclave_proc p;
    struct gtee_enclave_info info;
    struct gtee_err err = {0};
    char want[PATH_MAX + 64], *log;
    int st = -1;

    launch(x, &l);
    assert_int_equal(gtee_enclave_start(&l, &p, &err), 0);
    assert_int_equal(gtee_enclave_info(&p, &info, &err), 0);
    assert_int_equal(info.kind, GTEE_TEE_KIND_SGX);
    assert_false(info.simulated);
    assert_int_equal(info.measurement_len, 32);
    assert_memory_equal(info.measurement, x->f.quote + 112, 32); /* MRENCLAVE of the quote */
    assert_memory_equal(info.exe_sha256, p.binary_sha256, 32);   /* informational here */
    /* the enclave said which hardening it skipped, in the stream (its stderr is stdout) */
    assert_non_null(strstr(p.notice, "under Gramine"));
    assert_non_null(strstr(p.notice, "seccomp"));
    assert_non_null(strstr(p.notice, "PR_SET_DUMPABLE"));
    assert_int_equal(gtee_enclave_stop(&p, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* the loader got exactly `gtee-enclave`, in the manifest's directory, and ran the
     * manifest's command line */
    log = slurp(x->log);
    snprintf(want, sizeof(want), "argc=1\nargv1=gtee-enclave\ncwd=%s\n", x->gdir);
    assert_true(strncmp(log, want, strlen(want)) == 0);
    assert_non_null(strstr(log, "args=gtee-enclave --fd 0 --out-fd 1 --tee sgx --gramine --config test\n"));
    free(log);
}

static void test_gramine_enclave_gives_evidence_over_its_keys(void **state)
{
    struct gfix *x = *state;
    struct gtee_enclave_launch l;
    struct gtee_enclave_proc p;
    struct gtee_enclave_info info;
    struct gtee_err err = {0};
    uint8_t nonce[32], rd[64], *r = NULL;
    size_t n = 0;

    launch(x, &l);
    assert_int_equal(gtee_enclave_start(&l, &p, &err), 0);
    assert_int_equal(gtee_enclave_info(&p, &info, &err), 0);
    assert_int_equal(gtee_random(nonce, sizeof(nonce)), 0);
    assert_int_equal(gtee_enclave_call(&p, GTEE_MSG_EVIDENCE, nonce, sizeof(nonce), &r, &n, &err), 0);
    assert_int_equal(gtee_tee_report_data(info.enclave_pub, info.channel_pub, nonce, rd), 0);
    assert_int_equal(n, 64 + x->f.quote_len);
    assert_memory_equal(r, rd, 64);
    assert_memory_equal(r + 64, x->f.quote, x->f.quote_len);
    assert_memory_equal(x->f.srv.seen, rd, 64); /* what reached user_report_data */
    free(r);
    assert_int_equal(gtee_enclave_stop(&p, NULL), 0);
}

/* Runs the CLI with stdout and stderr to files; returns its exit status. */
static int cli(struct gfix *x, const char *args, char **out, char **errs)
{
    char cmd[4 * PATH_MAX + 512], o[PATH_MAX + 8], e[PATH_MAX + 8];
    int st;

    snprintf(o, sizeof(o), "%s/out", x->tmp);
    snprintf(e, sizeof(e), "%s/err", x->tmp);
    snprintf(cmd, sizeof(cmd), "'%s' %s >'%s' 2>'%s'", getenv("GTEE_CLI"), args, o, e);
    st = system(cmd);
    *out = slurp(o);
    *errs = slurp(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

static void nospace(char *s)
{
    char *w = s;

    for (; *s; s++)
        if (*s != ' ' && *s != '\n')
            *w++ = *s;
    *w = '\0';
}

static void test_cli_info_and_evidence_get_with_gramine_dir(void **state)
{
    struct gfix *x = *state;
    char args[3 * PATH_MAX], qpath[PATH_MAX + 8], mrenclave[65], *out, *errs;
    uint8_t *q;
    size_t qn = 0;

    snprintf(args, sizeof(args), "enclave info --tee sgx --gramine-dir '%s' --json", x->gdir);
    assert_int_equal(cli(x, args, &out, &errs), 0);
    nospace(out);
    assert_non_null(strstr(out, "\"tee\":\"sgx\""));
    assert_non_null(strstr(out, "\"simulated\":false"));
    gtee_hex_encode(x->f.quote + 112, 32, mrenclave);
    assert_non_null(strstr(out, mrenclave)); /* the measurement is MRENCLAVE */
    assert_null(strstr(out, "SIMULATED"));
    assert_non_null(strstr(errs, "skipped: PR_SET_DUMPABLE"));
    free(out);
    free(errs);

    snprintf(qpath, sizeof(qpath), "%s/q.bin", x->tmp);
    snprintf(args, sizeof(args),
             "evidence get --tee sgx --gramine-dir '%s' --report-data "
             "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff --out '%s'",
             x->gdir, qpath);
    assert_int_equal(cli(x, args, &out, &errs), 0);
    q = fake_load(qpath, &qn);
    assert_non_null(q);
    assert_int_equal(qn, x->f.quote_len);
    assert_memory_equal(q, x->f.quote, qn);
    assert_memory_equal(x->f.srv.seen + 32, "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16);
    free(q);
    free(out);
    free(errs);
}

static void test_missing_gramine_sgx_is_named(void **state)
{
    struct gfix *x = *state;
    struct gtee_enclave_launch l;
    struct gtee_enclave_proc p;
    struct gtee_err err = {0};
    char args[3 * PATH_MAX], *out, *errs;

    setenv("PATH", x->path_saved, 1); /* no gramine-sgx here */
    launch(x, &l);
    assert_int_equal(gtee_enclave_start(&l, &p, &err), GTEE_ENOTFOUND);
    assert_non_null(strstr(err.msg, "gramine-sgx not found on PATH"));
    /* an explicit loader that is not there is named too */
    l.gramine_sgx = "/nonexistent/gramine-sgx";
    assert_int_equal(gtee_enclave_start(&l, &p, &err), GTEE_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/gramine-sgx"));
    snprintf(args, sizeof(args), "enclave info --tee sgx --gramine-dir '%s'", x->gdir);
    assert_int_not_equal(cli(x, args, &out, &errs), 0);
    assert_non_null(strstr(errs, "gramine-sgx not found on PATH"));
    free(out);
    free(errs);
}

static void test_missing_signed_manifest_or_sigstruct_is_named(void **state)
{
    struct gfix *x = *state;
    struct gtee_enclave_launch l;
    struct gtee_enclave_proc p;
    struct gtee_err err = {0};
    char f[PATH_MAX + 64], g[PATH_MAX + 64];

    launch(x, &l);
    snprintf(f, sizeof(f), "%s/gtee-enclave.sig", x->gdir);
    snprintf(g, sizeof(g), "%s/sig.away", x->gdir);
    assert_int_equal(rename(f, g), 0);
    assert_int_equal(gtee_enclave_start(&l, &p, &err), GTEE_ENOTFOUND);
    assert_non_null(strstr(err.msg, "gtee-enclave.sig missing"));
    assert_int_equal(rename(g, f), 0);
    snprintf(f, sizeof(f), "%s/gtee-enclave.manifest.sgx", x->gdir);
    assert_int_equal(unlink(f), 0);
    assert_int_equal(gtee_enclave_start(&l, &p, &err), GTEE_ENOTFOUND);
    assert_non_null(strstr(err.msg, "gtee-enclave.manifest.sgx missing"));
    assert_non_null(strstr(err.msg, "gramine-sgx-sign"));
    /* nothing the manifest fixes can be given on the host's side */
    l.config = "other";
    assert_int_equal(gtee_enclave_start(&l, &p, &err), GTEE_EINVAL);
    assert_non_null(strstr(err.msg, "fixed in the signed manifest"));
    l.config = NULL;
    l.gramine_dir = "/nonexistent-dir";
    assert_int_equal(gtee_enclave_start(&l, &p, &err), GTEE_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent-dir"));
}

static void test_sgx_on_the_real_root_needs_gramine(void **state)
{
    struct gtee_enclave_launch l = {0};
    struct gtee_enclave_proc p;
    struct gtee_err err = {0};

    (void)state;
    l.binary = getenv("GTEE_ENCLAVE");
    l.tee = "sgx";
    assert_int_equal(gtee_enclave_start(&l, &p, &err), GTEE_EINVAL);
    assert_non_null(strstr(err.msg, "--gramine-dir"));
    /* and a Gramine directory is only for sgx */
    l.tee = "sim";
    l.gramine_dir = "/tmp";
    assert_int_equal(gtee_enclave_start(&l, &p, &err), GTEE_EINVAL);
}

/* --gramine (which relaxes hardening) is refused unless the backend is sgx and Gramine's
 * attestation file exists: sim is never weakened. */
static void test_enclave_refuses_gramine_flag_outside_gramine(void **state)
{
    struct gfix *x = *state;
    char cmd[3 * PATH_MAX + 256], o[PATH_MAX + 8], *out;
    int st;

    snprintf(o, sizeof(o), "%s/eout", x->tmp);
    snprintf(cmd, sizeof(cmd), "'%s' --fd 0 --tee sim --sim-dir /nonexistent --gramine </dev/null >/dev/null 2>'%s'",
             getenv("GTEE_ENCLAVE"), o);
    st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    out = slurp(o);
    assert_non_null(strstr(out, "gramine is only for the sgx backend"));
    free(out);
    snprintf(cmd, sizeof(cmd), "'%s' --fd 0 --tee sgx --root '%s' --gramine </dev/null >/dev/null 2>'%s'",
             getenv("GTEE_ENCLAVE"), x->tmp, o);
    st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    out = slurp(o);
    assert_non_null(strstr(out, "not under Gramine"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sgx_starts_through_gramine_sgx_in_the_manifest_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gramine_enclave_gives_evidence_over_its_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_info_and_evidence_get_with_gramine_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_gramine_sgx_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_signed_manifest_or_sigstruct_is_named, setup, teardown),
        cmocka_unit_test(test_sgx_on_the_real_root_needs_gramine),
        cmocka_unit_test_setup_teardown(test_enclave_refuses_gramine_flag_outside_gramine, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
