/* The simulated device directory: what `gtee sim init` creates and with which modes, its
 * refusal to touch a non-empty directory, gtee_sim_open's permission check, and the
 * EGETKEY-like sealing keys. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gtee/crypto.h"
#include "tee/sim_testlib.h"

static const char *const SECRET_FILES[] = {
    "device_secret", "root_ca.key.pem", "platform_ca.key.pem", "pck.key.pem", "tcb_signing.key.pem",
    "qe_attest.key.pem",
};

static mode_t mode_of(const char *dir, const char *rel)
{
    char path[1024];
    struct stat st;

    path_join(path, sizeof(path), dir, rel);
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode;
}

static void test_init_creates_the_device_with_private_modes(void **state)
{
    char *dir = make_device();
    char path[1024];
    size_t len;
    uint8_t *readme;

    (void)state;
    assert_true(S_ISDIR(mode_of(dir, ".")));
    assert_int_equal(mode_of(dir, ".") & 07777, 0700);
    for (size_t i = 0; i < sizeof(SECRET_FILES) / sizeof(SECRET_FILES[0]); i++) {
        mode_t m = mode_of(dir, SECRET_FILES[i]);
        assert_true(S_ISREG(m));
        assert_int_equal(m & 07777, 0600);
    }
    path_join(path, sizeof(path), dir, "device_secret");
    free(read_all(path, &len));
    assert_int_equal(len, 32);
    assert_true(S_ISREG(mode_of(dir, GTEE_SIM_ROOT_CA_FILE)));
    assert_true(S_ISREG(mode_of(dir, GTEE_SIM_PCK_CHAIN_FILE)));
    path_join(path, sizeof(path), dir, "README.txt");
    readme = read_all(path, &len);
    assert_non_null(strstr((char *)readme, "SIMULATED"));
    assert_non_null(strstr((char *)readme, "NOT SECURE"));
    free(readme);
    rm_device(dir);
}

/* The collateral directories hold exactly the files of a real sample directory (less the
 * quote and the expected verdict, which are not collateral). */
static void test_collateral_has_the_layout_of_the_real_samples(void **state)
{
    char *dir = make_device();
    char vec[1024], mine[1024];
    DIR *d;
    struct dirent *e;
    int n = 0;

    (void)state;
    vector_path(vec, sizeof(vec), "sgx/sgx-1");
    d = opendir(vec);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "quote.bin") || !strcmp(e->d_name, "expected.json"))
            continue;
        for (int k = 0; k < 2; k++) {
            snprintf(mine, sizeof(mine), "%s/%s", k ? GTEE_SIM_TDX_COLLATERAL_DIR : GTEE_SIM_SGX_COLLATERAL_DIR,
                     e->d_name);
            assert_true(S_ISREG(mode_of(dir, mine)));
        }
        n++;
    }
    closedir(d);
    assert_int_equal(n, 7);
    rm_device(dir);
}

static void test_init_refuses_a_non_empty_directory(void **state)
{
    char tmpl[] = "/tmp/gtee-sim-test-XXXXXX";
    char *base = mkdtemp(tmpl), path[1024];
    struct gtee_err err = { 0 };
    FILE *f;
    size_t len;
    uint8_t *kept;
    DIR *d;
    struct dirent *e;
    int entries = 0;

    (void)state;
    assert_non_null(base);
    path_join(path, sizeof(path), base, "mine.txt");
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("keep me", f);
    fclose(f);
    assert_int_equal(gtee_sim_init(base, &err), GTEE_EEXIST);
    assert_non_null(strstr(err.msg, "not empty"));
    kept = read_all(path, &len);
    assert_string_equal((char *)kept, "keep me");
    free(kept);
    d = opendir(base);
    while ((e = readdir(d)) != NULL)
        entries += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 1); /* nothing added */
    unlink(path);
    /* An existing empty directory is accepted and made private. */
    assert_int_equal(chmod(base, 0755), 0);
    assert_int_equal(gtee_sim_init(base, &err), 0);
    assert_int_equal(mode_of(base, ".") & 07777, 0700);
    assert_int_equal(gtee_sim_init(base, &err), GTEE_EEXIST); /* and never re-initialized */
    path_join(path, sizeof(path), base, "x");
    rm_device(strdup(path));
}

static void test_open_rejects_a_group_readable_secret(void **state)
{
    char *dir = make_device();
    char path[1024];
    struct gtee_sim *sim = (struct gtee_sim *)1;
    struct gtee_err err = { 0 };

    (void)state;
    path_join(path, sizeof(path), dir, "device_secret");
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(gtee_sim_open(dir, &sim, &err), GTEE_EPERM);
    assert_null(sim);
    assert_non_null(strstr(err.msg, "device_secret"));
    assert_int_equal(chmod(path, 0600), 0);
    path_join(path, sizeof(path), dir, "pck.key.pem");
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(gtee_sim_open(dir, &sim, &err), GTEE_EPERM);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(gtee_sim_open(dir, &sim, &err), 0);
    gtee_sim_close(sim);
    gtee_sim_close(NULL);
    rm_device(dir);
}

static void test_open_reports_a_missing_device(void **state)
{
    struct gtee_sim *sim = NULL;
    struct gtee_err err = { 0 };

    (void)state;
    char tmpl[] = "/tmp/gtee-sim-test-XXXXXX";
    char *empty = mkdtemp(tmpl);

    assert_int_equal(gtee_sim_open("/tmp/gtee-sim-test-does-not-exist/dev", &sim, &err), GTEE_ENOTFOUND);
    assert_null(sim);
    /* A directory without a device in it. */
    assert_non_null(empty);
    assert_int_equal(gtee_sim_open(empty, &sim, &err), GTEE_ENOTFOUND);
    assert_null(sim);
    assert_non_null(strstr(err.msg, "device_secret"));
    assert_int_equal(rmdir(empty), 0);
}

/* ---- sealing keys ---- */
static const struct gtee_sim_identity BASE_ID = {
    .mrenclave = { 1, 2, 3, 4, [31] = 5 },
    .mrsigner = { 9, 8, 7, [31] = 6 },
    .isv_prod_id = 7,
    .isv_svn = 3,
};

static void seal_key(struct gtee_sim *sim, enum gtee_sim_seal_policy p, const struct gtee_sim_identity *id,
                     uint8_t key[32])
{
    struct gtee_err err = { 0 };

    if (gtee_sim_sealing_key(sim, p, id, key, &err) != 0)
        fail_msg("gtee_sim_sealing_key: %s", err.msg);
}

static void test_sealing_keys_bind_device_and_identity(void **state)
{
    char *dir = make_device(), *other_dir = make_device();
    struct gtee_sim *sim, *again, *other;
    struct gtee_sim_identity id;
    struct gtee_err err = { 0 };
    uint8_t k1[32], k2[32], zero[32] = { 0 };

    (void)state;
    assert_int_equal(gtee_sim_open(dir, &sim, &err), 0);
    assert_int_equal(gtee_sim_open(dir, &again, &err), 0);
    assert_int_equal(gtee_sim_open(other_dir, &other, &err), 0);

    for (int p = GTEE_SIM_SEAL_MRENCLAVE; p <= GTEE_SIM_SEAL_MRSIGNER; p++) {
        /* Same device (reopened), same identity: same key. */
        seal_key(sim, p, &BASE_ID, k1);
        seal_key(again, p, &BASE_ID, k2);
        assert_memory_equal(k1, k2, 32);
        assert_memory_not_equal(k1, zero, 32);
        /* Another device: another key. */
        seal_key(other, p, &BASE_ID, k2);
        assert_memory_not_equal(k1, k2, 32);
        /* Another product, SVN or debug setting: another key. */
        id = BASE_ID;
        id.isv_svn++;
        seal_key(sim, p, &id, k2);
        assert_memory_not_equal(k1, k2, 32);
        id = BASE_ID;
        id.isv_prod_id++;
        seal_key(sim, p, &id, k2);
        assert_memory_not_equal(k1, k2, 32);
        id = BASE_ID;
        id.debug = 1;
        seal_key(sim, p, &id, k2);
        assert_memory_not_equal(k1, k2, 32);
    }

    /* MRENCLAVE policy: another enclave, another key, even from the same signer. */
    seal_key(sim, GTEE_SIM_SEAL_MRENCLAVE, &BASE_ID, k1);
    id = BASE_ID;
    id.mrenclave[0] ^= 1;
    seal_key(sim, GTEE_SIM_SEAL_MRENCLAVE, &id, k2);
    assert_memory_not_equal(k1, k2, 32);
    /* MRSIGNER policy: another enclave of the same signer gets the same key... */
    seal_key(sim, GTEE_SIM_SEAL_MRSIGNER, &BASE_ID, k1);
    seal_key(sim, GTEE_SIM_SEAL_MRSIGNER, &id, k2);
    assert_memory_equal(k1, k2, 32);
    /* ...another signer does not, and the two policies never share a key. */
    id = BASE_ID;
    id.mrsigner[31] ^= 1;
    seal_key(sim, GTEE_SIM_SEAL_MRSIGNER, &id, k2);
    assert_memory_not_equal(k1, k2, 32);
    seal_key(sim, GTEE_SIM_SEAL_MRENCLAVE, &BASE_ID, k2);
    assert_memory_not_equal(k1, k2, 32);

    assert_int_equal(gtee_sim_sealing_key(sim, (enum gtee_sim_seal_policy)3, &BASE_ID, k1, &err), GTEE_EINVAL);

    gtee_sim_close(sim);
    gtee_sim_close(again);
    gtee_sim_close(other);
    rm_device(dir);
    rm_device(other_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_creates_the_device_with_private_modes),
        cmocka_unit_test(test_collateral_has_the_layout_of_the_real_samples),
        cmocka_unit_test(test_init_refuses_a_non_empty_directory),
        cmocka_unit_test(test_open_rejects_a_group_readable_secret),
        cmocka_unit_test(test_open_reports_a_missing_device),
        cmocka_unit_test(test_sealing_keys_bind_device_and_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
