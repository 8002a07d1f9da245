/* Internal to the attested channel. Includes neither gtee/tee.h nor gtee/evidence.h, so the
 * file that reuses the runtime's report-data layout (binding.c, which needs tee.h) and the
 * files that verify evidence (which need evidence.h) can share it. */
#ifndef GTEE_RATLS_INTERNAL_H
#define GTEE_RATLS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gtee/err.h"

/* Same prototype as in gtee/ratls.h (64 = report data, 65 = public keys, 32 = nonce). */
int gtee_ratls_report_data(const uint8_t enclave_pub[65], const uint8_t channel_pub[65], const uint8_t nonce[32],
                           uint8_t report_data[64]) GTEE_MUST_USE;

/* A P-256 EVP_PKEY from a raw private scalar and its public point (checked to match);
 * NULL on failure. */
EVP_PKEY *ratls_p256_key(const uint8_t priv[32], const uint8_t pub[65]);
/* The uncompressed point of a P-256 EVP_PKEY; GTEE_EKEY if it is another kind of key. */
int ratls_p256_pub(const EVP_PKEY *pk, uint8_t pub[65], struct gtee_err *err) GTEE_MUST_USE;

/* A BIO over fd that never raises SIGPIPE (bio.c); NULL on failure. */
BIO *ratls_fd_bio(int fd);

struct gtee_ratls_ext;
struct gtee_ratls_verify;
struct gtee_ratls_peer;

/* gtee_ratls_ext_parse's checks on a decoded certificate (cert.c). */
int ratls_ext_from_x509(X509 *x, struct gtee_ratls_ext *out, struct gtee_err *err) GTEE_MUST_USE;
/* Verification of a parsed certificate: evidence, binding, policy (verify.c). */
int ratls_verify_ext(const struct gtee_ratls_ext *ext, const struct gtee_ratls_verify *vfy,
                     struct gtee_ratls_peer *peer, struct gtee_err *err) GTEE_MUST_USE;

/* gtee_ratls_verify_cert on the handshake's decoded leaf (verify.c). */
int ratls_verify_x509(X509 *x, const struct gtee_ratls_verify *vfy, struct gtee_ratls_peer *peer,
                      struct gtee_err *err) GTEE_MUST_USE;
/* Verifies fresh evidence over nonce for the keys peer was verified with (verify.c). */
int ratls_verify_fresh(const uint8_t *ev, size_t ev_len, const uint8_t nonce[32], const struct gtee_ratls_verify *vfy,
                       struct gtee_ratls_peer *peer, struct gtee_err *err) GTEE_MUST_USE;

#endif
