/* Internal: the context and connection structs, shared by conn.c and msg.c. */
#ifndef GTEE_RATLS_CONN_INT_H
#define GTEE_RATLS_CONN_INT_H

#include <stdbool.h>

#include <openssl/ssl.h>

#include "gtee/ratls.h"

struct gtee_ratls_ctx {
    SSL_CTX *ssl;
    bool server;
    bool has_vfy;
    struct gtee_ratls_verify vfy;
    bool has_cred;
    struct gtee_ratls_cred cred;    /* holds the channel key: wiped on free */
};

struct gtee_ratls_conn {
    SSL *ssl;
    struct gtee_ratls_ctx *ctx;
    bool attested;                  /* the peer's certificate passed gtee_ratls_verify_cert */
    struct gtee_ratls_peer peer;
    struct gtee_err verr;           /* the verification's error, for the handshake's caller */
};

#endif
