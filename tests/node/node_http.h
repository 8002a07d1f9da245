/* Test helpers for the node's C tests: start `gtee node run` on the simulated TEE in a
 * temporary data directory, speak plain HTTP/1.0 to it, stop it. */
#ifndef GTEE_TESTS_NODE_HTTP_H
#define GTEE_TESTS_NODE_HTTP_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

struct test_node {
    char dir[256];
    pid_t pid;
    int port;
};

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* Sends one HTTP/1.0 request (hdr: one more header line without CRLF, or NULL); the
 * connected socket, whose answer node_http_read reads, or -1. */
static int node_http_send(const struct test_node *n, const char *method, const char *path, const char *hdr,
                          const void *req, size_t req_len)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)n->port) };
    struct timeval tv = { 60, 0 };
    char head[512];
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    snprintf(head, sizeof(head), "%s %s HTTP/1.0\r\n%s%sContent-Length: %zu\r\n\r\n", method, path, hdr ? hdr : "",
             hdr ? "\r\n" : "", req_len);
    if (write(fd, head, strlen(head)) < 0) {
        close(fd);
        return -1;
    }
    for (size_t off = 0; off < req_len;) {
        ssize_t w = write(fd, (const uint8_t *)req + off, req_len - off);

        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    return fd;
}

/* Reads the answer on fd (from node_http_send) to its end and closes fd: the status, and the
 * body in *body (malloc'ed, NUL-terminated). */
static int node_http_read(int fd, uint8_t **body, size_t *len)
{
    uint8_t *buf = NULL;
    size_t got = 0, cap = 0;
    int status = 0;
    char *sep;

    *body = NULL;
    *len = 0;
    if (fd < 0)
        return -1;
    for (;;) {
        ssize_t r;

        if (got + 65536 + 1 > cap) {
            cap = (got + 65536 + 1) * 2;
            buf = realloc(buf, cap);
            if (!buf) {
                close(fd);
                return -1;
            }
        }
        r = read(fd, buf + got, 65536);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf)
        return -1;
    buf[got] = '\0';
    sscanf((char *)buf, "HTTP/1.%*d %d", &status);
    sep = strstr((char *)buf, "\r\n\r\n");
    if (!sep) {
        free(buf);
        return -1;
    }
    *len = got - (size_t)((uint8_t *)sep + 4 - buf);
    *body = malloc(*len + 1);
    if (!*body) {
        free(buf);
        return -1;
    }
    memcpy(*body, sep + 4, *len);
    (*body)[*len] = '\0';
    free(buf);
    return status;
}

/* One HTTP/1.0 request (hdr: one more header line without CRLF, or NULL); the status, and
 * the body in *body (malloc'ed, NUL-terminated). */
static int node_http(const struct test_node *n, const char *method, const char *path, const char *hdr,
                     const void *req, size_t req_len, uint8_t **body, size_t *len)
{
    *body = NULL;
    *len = 0;
    return node_http_read(node_http_send(n, method, path, hdr, req, req_len), body, len);
}

/* GET path as JSON (NULL unless the status is want). */
static json_t *node_get_json(const struct test_node *n, const char *path, int want)
{
    uint8_t *b = NULL;
    size_t len = 0;
    json_t *j = NULL;

    if (node_http(n, "GET", path, NULL, NULL, 0, &b, &len) == want)
        j = json_loadb((char *)b, len, 0, NULL);
    free(b);
    return j;
}

/* `gtee node init --tee sim` in a fresh temporary directory (DIR/n), then conf_sed (a sed
 * script for node.conf, or NULL), then `gtee node run` until the enclave runs. */
static int node_start(struct test_node *n, const char *name, const char *conf_sed)
{
    const char *cli = getenv("GTEE_CLI"), *enc = getenv("GTEE_ENCLAVE");
    char cmd[1024], path[300], url[128] = "";

    n->pid = -1;
    if (!cli || !enc)
        return -1;
    snprintf(n->dir, sizeof(n->dir), "/tmp/gtee-test-%s.XXXXXX", name);
    if (!mkdtemp(n->dir))
        return -1;
    snprintf(cmd, sizeof(cmd), "'%s' node init --tee sim --listen 127.0.0.1:0 '%s/n' >/dev/null 2>&1", cli, n->dir);
    if (system(cmd) != 0)
        return -1;
    if (conf_sed) {
        snprintf(cmd, sizeof(cmd), "sed -i '%s' '%s/n/node.conf'", conf_sed, n->dir);
        if (system(cmd) != 0)
            return -1;
    }
    n->pid = fork();
    if (n->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);

        snprintf(path, sizeof(path), "%s/n", n->dir);
        snprintf(cmd, sizeof(cmd), "%s/node.log", n->dir);
        int log = open(cmd, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        dup2(devnull, 1);
        if (log >= 0)
            dup2(log, 2);
        execl(cli, cli, "node", "run", "--enclave", enc, path, (char *)NULL);
        _exit(127);
    }
    snprintf(path, sizeof(path), "%s/n/node.url", n->dir);
    for (int i = 0; i < 600 && !url[0]; i++) {
        FILE *f = fopen(path, "r");

        if (f) {
            if (!fgets(url, sizeof(url), f))
                url[0] = '\0';
            fclose(f);
        }
        if (!url[0])
            sleep_ms(50);
    }
    if (sscanf(url, "http://127.0.0.1:%d/", &n->port) != 1)
        return -1;
    for (int i = 0; i < 600; i++) {
        json_t *j = node_get_json(n, "/api/v1/status", 200);
        int up = j && json_is_string(json_object_get(json_object_get(j, "enclave"), "channel_public_key")) &&
                 !strcmp(json_string_value(json_object_get(json_object_get(j, "enclave"), "state")), "running");

        json_decref(j);
        if (up)
            return 0;
        sleep_ms(50);
    }
    return -1;
}

/* SIGTERM, reaped; then the directory removed. */
static int node_stop(struct test_node *n)
{
    char cmd[300];

    if (n->pid > 0) {
        kill(n->pid, SIGTERM);
        waitpid(n->pid, NULL, 0);
        n->pid = -1;
    }
    if (!n->dir[0])
        return 0;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", n->dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
