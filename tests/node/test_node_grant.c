/* A grant sent through the node's relay (POST /api/v1/relay, the enclave's GRANT op,
 * docs/tee.md §7.2) comes back to its owner as the key id, while the node keeps the grant
 * the enclave sealed for it; when the enclave is killed and restarted, the node hands the
 * sealed grant back (GRANT_RESTORE) and the enclave holds it again. Drives `gtee node run`
 * on the simulated TEE over plain HTTP. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "gtee/box.h"
#include "gtee/crypto.h"
#include "gtee/msg.h"

static char dir[256];
static pid_t node = -1;
static int port;

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* One HTTP/1.0 request; the status, and the body in *body (malloc'ed, NUL-terminated). */
static int http(const char *method, const char *path, const void *req, size_t req_len, uint8_t **body, size_t *len)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct timeval tv = { 30, 0 };
    char head[256];
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;
    char *sep;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    snprintf(head, sizeof(head), "%s %s HTTP/1.0\r\nContent-Length: %zu\r\n\r\n", method, path, req_len);
    if (write(fd, head, strlen(head)) < 0 || (req_len && write(fd, req, req_len) != (ssize_t)req_len)) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t r;

        if (n + 4096 + 1 > cap) {
            cap = (n + 4096 + 1) * 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        r = read(fd, buf + n, 4096);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (!buf)
        return -1;
    buf[n] = '\0';
    sscanf((char *)buf, "HTTP/1.%*d %d", &status);
    sep = strstr((char *)buf, "\r\n\r\n");
    if (!sep) {
        free(buf);
        return -1;
    }
    *len = n - (size_t)((uint8_t *)sep + 4 - buf);
    *body = malloc(*len + 1);
    memcpy(*body, sep + 4, *len);
    (*body)[*len] = '\0';
    free(buf);
    return status;
}

static json_t *status_json(void)
{
    uint8_t *b = NULL;
    size_t n = 0;
    json_t *j = NULL;

    if (http("GET", "/api/v1/status", NULL, 0, &b, &n) == 200)
        j = json_loadb((char *)b, n, 0, NULL);
    free(b);
    return j;
}

static int setup(void **state)
{
    const char *cli = getenv("GTEE_CLI"), *enc = getenv("GTEE_ENCLAVE");
    char cmd[1024], path[300], url[128] = "";

    if (!cli || !enc)
        return -1;
    snprintf(dir, sizeof(dir), "/tmp/gtee-test-grant.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(cmd, sizeof(cmd), "'%s' node init --tee sim --listen 127.0.0.1:0 '%s/n' >/dev/null 2>&1", cli, dir);
    if (system(cmd) != 0)
        return -1;
    node = fork();
    if (node == 0) {
        snprintf(path, sizeof(path), "%s/n", dir);
        int devnull = open("/dev/null", O_WRONLY);

        dup2(devnull, 1);
        execl(cli, cli, "node", "run", "--enclave", enc, path, (char *)NULL);
        _exit(127);
    }
    snprintf(path, sizeof(path), "%s/n/node.url", dir);
    for (int i = 0; i < 400 && !url[0]; i++) {
        FILE *f = fopen(path, "r");

        if (f) {
            if (!fgets(url, sizeof(url), f))
                url[0] = '\0';
            fclose(f);
        }
        if (!url[0])
            sleep_ms(50);
    }
    if (sscanf(url, "http://127.0.0.1:%d/", &port) != 1)
        return -1;
    for (int i = 0; i < 400; i++) {
        json_t *j = status_json();
        int up = j && json_is_string(json_object_get(json_object_get(j, "enclave"), "channel_public_key"));

        json_decref(j);
        if (up)
            return 0;
        sleep_ms(50);
    }
    return -1;
}

static int teardown(void **state)
{
    char cmd[300];

    if (node > 0) {
        kill(node, SIGTERM);
        waitpid(node, NULL, 0);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static long long count(const char *sql)
{
    char path[300];
    sqlite3 *db;
    sqlite3_stmt *st;
    long long v = -1;

    snprintf(path, sizeof(path), "%s/n/state.db", dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_grant_survives_restart(void **state)
{
    struct gtee_box_key key;
    uint8_t chan[GTEE_RELAY_PUB_LEN], pt[1 + 32 + 32 + 32 + 1 + 1 + 8 + 1], owner_priv[32], *p = pt;
    uint8_t resp_key[GTEE_RELAY_KEY_LEN], want_id[GTEE_BOX_KEY_ID_LEN], *box = NULL, *body = NULL, *opened = NULL;
    size_t box_len = 0, n = 0, opened_len = 0;
    struct gtee_err err = { 0 };
    json_t *j = status_json(), *e;
    int pid;

    assert_non_null(j);
    e = json_object_get(j, "enclave");
    assert_int_equal(gtee_hex_decode(json_string_value(json_object_get(e, "channel_public_key")), chan, sizeof(chan)), 0);
    pid = (int)json_integer_value(json_object_get(e, "pid"));
    json_decref(j);

    /* GRANT: content id || key || owner's X25519 key || kinds || flags || until || n. */
    assert_int_equal(gtee_box_key_generate(&key), 0);
    assert_int_equal(gtee_box_key_id(&key, want_id), 0);
    *p++ = GTEE_RELAY_GRANT;
    memset(p, 0x5a, 32), p += 32;
    memcpy(p, key.bytes, 32), p += 32;
    assert_int_equal(gtee_x25519_keypair(owner_priv, p), 0), p += 32;
    *p++ = GTEE_GRANT_INFER;
    *p++ = 0;
    memset(p, 0, 8), p += 8;
    *p++ = 0;
    assert_int_equal(gtee_relay_seal_request(chan, pt, sizeof(pt), resp_key, &box, &box_len, &err), 0);
    assert_int_equal(http("POST", "/api/v1/relay", box, box_len, &body, &n), 200);
    assert_int_equal(gtee_relay_open_response(resp_key, body, n, &opened, &opened_len, &err), 0);
    assert_int_equal(opened_len, GTEE_BOX_KEY_ID_LEN);
    assert_memory_equal(opened, want_id, GTEE_BOX_KEY_ID_LEN);
    free(body);
    free(opened);
    free(box);
    /* The node keeps the sealed grant, not the key: the key's bytes appear nowhere in it. */
    assert_int_equal(count("SELECT COUNT(*) FROM sealed"), 1);
    {
        char sql[200], hex[65];

        gtee_hex_encode(key.bytes, 32, hex);
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM sealed WHERE instr(lower(hex(blob)), '%s') > 0", hex);
        assert_int_equal(count(sql), 0);
    }

    /* The enclave dies; the node restarts it and hands the grant back. */
    assert_int_equal(kill(pid, SIGKILL), 0);
    for (int i = 0; i < 400; i++) {
        if (count("SELECT COUNT(*) FROM events WHERE text LIKE 'restored 1 sealed grant and 0 sealed secrets%'") == 1)
            break;
        sleep_ms(50);
    }
    assert_int_equal(count("SELECT COUNT(*) FROM events WHERE text LIKE 'restored 1 sealed grant and 0 sealed secrets%; 0 refused'"), 1);
    gtee_box_key_wipe(&key);
    gtee_wipe(owner_priv, sizeof(owner_priv));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grant_survives_restart, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
