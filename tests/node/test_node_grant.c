/* A grant sent through the node's relay (POST /api/v1/relay, the enclave's GRANT op,
 * docs/tee.md §7.2) comes back to its owner as the key id, while the node keeps the grant
 * the enclave sealed for it; when the enclave is killed and restarted, the node hands the
 * sealed grant back (GRANT_RESTORE) and the enclave holds it again, however many rows the
 * store holds before it; at that start the node drops the stored grants that no longer
 * count (replaced by a newer one for the same blob and owner, or expired). Drives `gtee
 * node run` on the simulated TEE over plain HTTP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "gtee/box.h"
#include "gtee/crypto.h"
#include "gtee/msg.h"
#include "node/node_http.h"

static struct test_node node;

static json_t *status_json(void)
{
    return node_get_json(&node, "/api/v1/status", 200);
}

static int http(const char *method, const char *path, const void *req, size_t req_len, uint8_t **body, size_t *len)
{
    return node_http(&node, method, path, NULL, req, req_len, body, len);
}

static int setup(void **state)
{
    (void)state;
    return node_start(&node, "grant", NULL);
}

static int teardown(void **state)
{
    (void)state;
    return node_stop(&node);
}

static long long count(const char *sql)
{
    char path[300];
    sqlite3 *db;
    sqlite3_stmt *st;
    long long v = -1;

    snprintf(path, sizeof(path), "%s/n/state.db", node.dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Rows the host stored before the grant that the enclave does not take back: more than one
 * read of the store holds, so the grant after them is restored only if every row is. */
#define JUNK_ROWS 1100

static void add_junk_rows(void)
{
    char path[300];
    sqlite3 *db;
    sqlite3_stmt *st;
    uint8_t junk[64];

    snprintf(path, sizeof(path), "%s/n/state.db", node.dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO sealed(blob, created) VALUES(?, 0)", -1, &st, NULL), SQLITE_OK);
    for (int i = 0; i < JUNK_ROWS; i++) {
        memset(junk, i & 0xff, sizeof(junk));
        assert_int_equal(sqlite3_bind_blob(st, 1, junk, sizeof(junk), SQLITE_STATIC), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* The enclave's channel key and process id, from the node's status. */
static int enclave_of(uint8_t chan[GTEE_RELAY_PUB_LEN])
{
    json_t *j = status_json(), *e;
    int pid;

    assert_non_null(j);
    e = json_object_get(j, "enclave");
    assert_int_equal(gtee_hex_decode(json_string_value(json_object_get(e, "channel_public_key")), chan,
                                     GTEE_RELAY_PUB_LEN),
                     0);
    pid = (int)json_integer_value(json_object_get(e, "pid"));
    json_decref(j);
    return pid;
}

/* A GRANT through the relay (content id || key || owner's X25519 key || kinds || flags ||
 * until || n): content id all `fill`, owner's key `owner`, key into *key; the answer is
 * the key's id. */
static void grant(const uint8_t chan[GTEE_RELAY_PUB_LEN], uint8_t fill, const uint8_t owner[32], uint64_t until,
                  struct gtee_box_key *key)
{
    uint8_t pt[1 + 32 + 32 + 32 + 1 + 1 + 8 + 1], *p = pt;
    uint8_t resp_key[GTEE_RELAY_KEY_LEN], want_id[GTEE_BOX_KEY_ID_LEN], *box = NULL, *body = NULL, *opened = NULL;
    size_t box_len = 0, n = 0, opened_len = 0;
    struct gtee_err err = { 0 };

    assert_int_equal(gtee_box_key_generate(key), 0);
    assert_int_equal(gtee_box_key_id(key, want_id), 0);
    *p++ = GTEE_RELAY_GRANT;
    memset(p, fill, 32), p += 32;
    memcpy(p, key->bytes, 32), p += 32;
    memcpy(p, owner, 32), p += 32;
    *p++ = GTEE_GRANT_INFER;
    *p++ = 0;
    for (int i = 0; i < 8; i++)
        *p++ = (uint8_t)(until >> (56 - 8 * i));
    *p++ = 0;
    assert_int_equal(gtee_relay_seal_request(chan, pt, sizeof(pt), resp_key, &box, &box_len, &err), 0);
    assert_int_equal(http("POST", "/api/v1/relay", box, box_len, &body, &n), 200);
    assert_int_equal(gtee_relay_open_response(resp_key, body, n, &opened, &opened_len, &err), 0);
    assert_int_equal(opened_len, GTEE_BOX_KEY_ID_LEN);
    assert_memory_equal(opened, want_id, GTEE_BOX_KEY_ID_LEN);
    gtee_wipe(pt, sizeof(pt));
    free(body);
    free(opened);
    free(box);
}

/* Kills the enclave and waits until the node has restored it `times` times in all. */
static void restart_enclave(int pid, int times)
{
    assert_int_equal(kill(pid, SIGKILL), 0);
    for (int i = 0; i < 400; i++) {
        if (count("SELECT COUNT(*) FROM events WHERE text LIKE 'restored % sealed grant% and 0 sealed secrets%'") ==
            times)
            break;
        sleep_ms(50);
    }
}

static void test_grant_survives_restart(void **state)
{
    struct gtee_box_key key;
    uint8_t chan[GTEE_RELAY_PUB_LEN], owner_priv[32], owner[32];
    int pid = enclave_of(chan);

    (void)state;
    add_junk_rows();
    assert_int_equal(gtee_x25519_keypair(owner_priv, owner), 0);
    grant(chan, 0x5a, owner, 0, &key);
    /* The node keeps the sealed grant, not the key: the key's bytes appear nowhere in it. */
    assert_int_equal(count("SELECT COUNT(*) FROM sealed"), 1 + JUNK_ROWS);
    {
        char sql[200], hex[65];

        gtee_hex_encode(key.bytes, 32, hex);
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM sealed WHERE instr(lower(hex(blob)), '%s') > 0", hex);
        assert_int_equal(count(sql), 0);
    }

    /* The enclave dies; the node restarts it and hands every stored row back: the junk is
     * refused, the grant after it is held again. */
    restart_enclave(pid, 1);
    assert_int_equal(count("SELECT COUNT(*) FROM events WHERE text LIKE 'restored 1 sealed grant and 0 sealed secrets%; "
                           "1100 refused'"), 1);
    gtee_box_key_wipe(&key);
    gtee_wipe(owner_priv, sizeof(owner_priv));
}

/* Rows that no longer count go at the next start: a grant replaced by a newer one for the
 * same blob and owner, and an expired grant; the others are restored and stay. */
static void test_replaced_and_expired_grants_are_dropped(void **state)
{
    struct gtee_box_key k1, k2, k3, k4;
    uint8_t chan[GTEE_RELAY_PUB_LEN], a_priv[32], a[32], b_priv[32], b[32];
    int pid = enclave_of(chan);

    (void)state;
    assert_int_equal(gtee_x25519_keypair(a_priv, a), 0);
    assert_int_equal(gtee_x25519_keypair(b_priv, b), 0);
    grant(chan, 0x11, a, 0, &k1);                          /* replaced by k2 */
    grant(chan, 0x11, b, 0, &k3);                          /* another owner's: stays */
    grant(chan, 0x22, a, (uint64_t)time(NULL) + 2, &k4);   /* expires */
    grant(chan, 0x11, a, 0, &k2);
    assert_int_equal(count("SELECT COUNT(*) FROM sealed"), 4);
    sleep_ms(3100);
    restart_enclave(pid, 1);
    assert_int_equal(count("SELECT COUNT(*) FROM events WHERE text LIKE 'restored 4 sealed grants and 0 sealed "
                           "secrets%; 0 refused'"),
                     1);
    for (int i = 0; i < 100 && count("SELECT COUNT(*) FROM sealed") != 2; i++)
        sleep_ms(50);
    assert_int_equal(count("SELECT COUNT(*) FROM sealed"), 2);
    assert_int_equal(count("SELECT COUNT(*) FROM events WHERE text LIKE 'dropped 2 stored grants that no longer "
                           "count%'"),
                     1);
    /* the next start restores the two that count, and drops nothing */
    restart_enclave(enclave_of(chan), 2);
    assert_int_equal(count("SELECT COUNT(*) FROM events WHERE text LIKE 'restored 2 sealed grants and 0 sealed "
                           "secrets%; 0 refused'"),
                     1);
    assert_int_equal(count("SELECT COUNT(*) FROM sealed"), 2);
    assert_int_equal(count("SELECT COUNT(*) FROM events WHERE text LIKE 'dropped %'"), 1);
    gtee_box_key_wipe(&k1);
    gtee_box_key_wipe(&k2);
    gtee_box_key_wipe(&k3);
    gtee_box_key_wipe(&k4);
    gtee_wipe(a_priv, sizeof(a_priv));
    gtee_wipe(b_priv, sizeof(b_priv));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grant_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replaced_and_expired_grants_are_dropped, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
