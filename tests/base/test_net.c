/* HOST:PORT strings, listening and dialing (include/gtee/net.h). */
#include <errno.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "gtee/net.h"

static void test_split_accepts_names_ipv4_and_bracketed_ipv6(void **state)
{
    char host[GTEE_NET_HOST_MAX];
    uint16_t port = 0;

    assert_int_equal(gtee_net_split("127.0.0.1:8443", 0, host, &port, NULL), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8443);
    assert_int_equal(gtee_net_split("node.example:1", 0, host, &port, NULL), 0);
    assert_string_equal(host, "node.example");
    assert_int_equal(port, 1);
    assert_int_equal(gtee_net_split("[::1]:65535", 0, host, &port, NULL), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 65535);
}

static void test_split_rejects_malformed_addresses_naming_them(void **state)
{
    static const char *bad[] = { "", "8443", "host:", "host:x", "host:80x", "host:65536", "host:-1",
                                 "host:99999999999999999999", "::1:80", ":80", "host:0" };
    char host[GTEE_NET_HOST_MAX], longname[300];
    struct gtee_err err = {0};
    uint16_t port;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(gtee_net_split(bad[i], 0, host, &port, &err), GTEE_EINVAL);
        assert_non_null(strstr(err.msg, "address"));
    }
    assert_int_equal(gtee_net_split(NULL, 0, host, &port, &err), GTEE_EINVAL);
    memset(longname, 'a', sizeof(longname));
    strcpy(longname + 280, ":80");
    assert_int_equal(gtee_net_split(longname, 0, host, &port, &err), GTEE_EINVAL);
    assert_non_null(strstr(err.msg, "host longer than"));
}

static void test_listen_addresses_may_omit_the_host_and_use_port_zero(void **state)
{
    char host[GTEE_NET_HOST_MAX];
    uint16_t port = 7;

    assert_int_equal(gtee_net_split(":0", 1, host, &port, NULL), 0);
    assert_string_equal(host, "");
    assert_int_equal(port, 0);
    assert_int_equal(gtee_net_split("127.0.0.1:0", 0, host, &port, NULL), GTEE_EINVAL);
}

static void test_dial_reaches_a_listener_and_names_a_refusal(void **state)
{
    char addr[64];
    struct gtee_err err = {0};
    uint16_t port = 0;
    int lfd = -1, cfd = -1, afd;

    assert_int_equal(gtee_net_listen("127.0.0.1:0", 4, &lfd, &port, &err), 0);
    assert_true(port > 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
    assert_int_equal(gtee_net_dial(addr, 2000, 2000, &cfd, &err), 0);
    afd = accept(lfd, NULL, NULL);
    assert_true(afd >= 0);
    assert_int_equal(write(cfd, "x", 1), 1);
    {
        char c = 0;

        assert_int_equal(read(afd, &c, 1), 1);
        assert_int_equal(c, 'x');
    }
    close(afd);
    close(cfd);
    close(lfd); /* nobody listens there now */
    assert_int_equal(gtee_net_dial(addr, 2000, 0, &cfd, &err), GTEE_EIO);
    assert_int_equal(cfd, -1);
    assert_non_null(strstr(err.msg, addr));
    assert_non_null(strstr(err.msg, "refused"));
}

static void test_listen_refuses_a_taken_port(void **state)
{
    char addr[64];
    struct gtee_err err = {0};
    uint16_t port = 0;
    int a = -1, b = -1;

    assert_int_equal(gtee_net_listen("127.0.0.1:0", 4, &a, &port, &err), 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
    /* SO_REUSEADDR does not allow two listeners on one port. */
    assert_int_equal(gtee_net_listen(addr, 4, &b, NULL, &err), GTEE_EIO);
    assert_int_equal(b, -1);
    assert_non_null(strstr(err.msg, "cannot listen on"));
    close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_accepts_names_ipv4_and_bracketed_ipv6),
        cmocka_unit_test(test_split_rejects_malformed_addresses_naming_them),
        cmocka_unit_test(test_listen_addresses_may_omit_the_host_and_use_port_zero),
        cmocka_unit_test(test_dial_reaches_a_listener_and_names_a_refusal),
        cmocka_unit_test(test_listen_refuses_a_taken_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
