/* Key commitment, shown against a real attack: an AES-GCM ciphertext that authenticates
 * under two different keys (GCM is not key-committing; see Dodis et al., "Fast Message
 * Franking", and Len, Grubbs, Ristenpart, "Partitioning Oracle Attacks", USENIX Sec 2021).
 * The test builds one for two containers' data keys, checks that bare GCM accepts it under
 * both, and then that a container carrying it opens under at most one key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "base/span.h"
#include "box/internal.h"
#include "gtee/box.h"

typedef struct {
    uint64_t hi, lo; /* GCM bit order: bit 0 of the block is the MSB of hi */
} gf128;

static gf128 gf_load(const uint8_t b[16])
{
    struct span s = span_init(b, 16);
    gf128 r;

    r.hi = span_u64be(&s);
    r.lo = span_u64be(&s);
    return r;
}

static void gf_store(gf128 x, uint8_t b[16])
{
    put_u64be(b, x.hi);
    put_u64be(b + 8, x.lo);
}

static gf128 gf_add(gf128 a, gf128 b)
{
    return (gf128){ a.hi ^ b.hi, a.lo ^ b.lo };
}

/* Multiplication in GF(2^128) as NIST SP 800-38D §6.3 (Algorithm 1) defines it. */
static gf128 gf_mul(gf128 x, gf128 y)
{
    gf128 z = { 0, 0 }, v = y;

    for (int i = 0; i < 128; i++) {
        uint64_t bit = i < 64 ? (x.hi >> (63 - i)) & 1 : (x.lo >> (127 - i)) & 1;
        uint64_t lsb = v.lo & 1;

        if (bit)
            z = gf_add(z, v);
        v.lo = (v.lo >> 1) | (v.hi << 63);
        v.hi >>= 1;
        if (lsb)
            v.hi ^= 0xe100000000000000ull;
    }
    return z;
}

static gf128 gf_pow(gf128 x, int e)
{
    gf128 r = { 1ull << 63, 0 }; /* the field's one */

    while (e--)
        r = gf_mul(r, x);
    return r;
}

/* x^(2^128 - 2) = x^-1: square-and-multiply over the exponent's 127 one bits then a zero. */
static gf128 gf_inv(gf128 x)
{
    gf128 r = x;

    for (int i = 0; i < 126; i++)
        r = gf_mul(gf_mul(r, r), x);
    return gf_mul(r, r);
}

static void aes_block(const uint8_t key[32], const uint8_t in[16], uint8_t out[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0;

    assert_non_null(c);
    assert_int_equal(EVP_EncryptInit_ex2(c, EVP_aes_256_ecb(), key, NULL, NULL), 1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_int_equal(EVP_EncryptUpdate(c, out, &n, in, 16), 1);
    EVP_CIPHER_CTX_free(c);
}

/* GHASH over aad (a multiple of 16 bytes) and ciphertext blocks c[0..nc). */
static gf128 ghash(gf128 h, const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len)
{
    uint8_t lenblk[16];
    gf128 y = { 0, 0 };

    for (size_t i = 0; i < aad_len; i += 16)
        y = gf_mul(gf_add(y, gf_load(aad + i)), h);
    for (size_t i = 0; i < ct_len; i += 16)
        y = gf_mul(gf_add(y, gf_load(ct + i)), h);
    put_u64be(lenblk, (uint64_t)aad_len * 8);
    put_u64be(lenblk + 8, (uint64_t)ct_len * 8);
    return gf_mul(gf_add(y, gf_load(lenblk)), h);
}

struct gcm_keys {
    gf128 h, s; /* H = E_K(0^128), S = E_K(J0) */
};

static struct gcm_keys gcm_keys(const uint8_t key[32], const uint8_t nonce[12])
{
    uint8_t zero[16] = {0}, j0[16] = {0}, out[16];
    struct gcm_keys k;

    aes_block(key, zero, out);
    k.h = gf_load(out);
    memcpy(j0, nonce, 12);
    j0[15] = 1; /* J0 = IV || 0^31 || 1 for a 96-bit IV */
    aes_block(key, j0, out);
    k.s = gf_load(out);
    return k;
}

static void set_key(struct gtee_box_key *k, uint8_t seed)
{
    for (size_t i = 0; i < sizeof(k->bytes); i++)
        k->bytes[i] = (uint8_t)(seed * 7 + i);
}

static int open_container(const struct gtee_box_key *key, const uint8_t *c, size_t len, struct gtee_err *err)
{
    int in = memfd_create("c", 0), out = memfd_create("p", 0), rc;

    assert_int_equal(write(in, c, len), (ssize_t)len);
    lseek(in, 0, SEEK_SET);
    rc = gtee_box_open(key, NULL, in, out, NULL, err);
    close(in);
    close(out);
    return rc;
}

/* Builds the header for key k over a fixed salt, as the writer would. */
static void header_for(const struct gtee_box_key *k, const uint8_t salt[32], struct gtee_box_header *hdr,
                       struct box_keys *keys)
{
    uint8_t raw[GTEE_BOX_HEADER_LEN] = "GTEE-BOX";

    raw[8] = 1;
    raw[9] = GTEE_AEAD_AES_256_GCM;
    put_u32be(raw + 12, GTEE_BOX_CHUNK_MIN);
    assert_int_equal(gtee_box_key_id(k, raw + 16), 0);
    memcpy(raw + 32, salt, 32);
    assert_int_equal(gtee_box_header_parse(raw, sizeof(raw), hdr, NULL), 0);
    assert_int_equal(box_derive_keys(k, hdr, keys, NULL), 0);
    assert_int_equal(box_commitment(keys, hdr->raw, raw + 64, NULL), 0);
    assert_int_equal(gtee_box_header_parse(raw, sizeof(raw), hdr, NULL), 0);
}

static void test_box_opens_a_two_key_gcm_ciphertext_under_one_key_only(void **state)
{
    struct gtee_box_key k1, k2;
    struct gtee_box_header hdr;
    struct box_keys d1, d2;
    struct gcm_keys g1, g2;
    uint8_t salt[32], nonce[12], ct[32] = "two keys, one ciphertext", tag[16], pt[32];
    uint8_t container[GTEE_BOX_HEADER_LEN + sizeof(ct) + 16];
    struct gtee_aead *a1, *a2;
    struct gtee_err err = {0};
    gf128 x, num, den;

    (void)state;
    set_key(&k1, 1);
    set_key(&k2, 2);
    memset(salt, 0x5a, sizeof(salt));
    header_for(&k1, salt, &hdr, &d1);
    /* The data keys do not depend on the key id or commitment, only on K, salt and
     * header[0..16), so the attacker can compute both for one header. */
    assert_int_equal(box_derive_keys(&k2, &hdr, &d2, NULL), 0);
    box_nonce(0, true, nonce);
    g1 = gcm_keys(d1.data_key, nonce);
    g2 = gcm_keys(d2.data_key, nonce);

    /* Solve for the first ciphertext block x so both tags agree:
     * G1(0) + x*H1^3 + S1 = G2(0) + x*H2^3 + S2 (x sits 3 multiplications from the end). */
    memset(ct, 0, 16);
    num = gf_add(gf_add(ghash(g1.h, hdr.raw, sizeof(hdr.raw), ct, sizeof(ct)), g1.s),
                 gf_add(ghash(g2.h, hdr.raw, sizeof(hdr.raw), ct, sizeof(ct)), g2.s));
    den = gf_add(gf_pow(g1.h, 3), gf_pow(g2.h, 3));
    x = gf_mul(num, gf_inv(den));
    gf_store(x, ct);
    gf_store(gf_add(ghash(g1.h, hdr.raw, sizeof(hdr.raw), ct, sizeof(ct)), g1.s), tag);

    /* Bare AES-GCM accepts the same bytes under both keys: the attack is real. */
    assert_int_equal(gtee_aead_new(&a1, GTEE_AEAD_AES_256_GCM, d1.data_key, NULL), 0);
    assert_int_equal(gtee_aead_new(&a2, GTEE_AEAD_AES_256_GCM, d2.data_key, NULL), 0);
    assert_int_equal(gtee_aead_open(a1, nonce, hdr.raw, sizeof(hdr.raw), ct, sizeof(ct), tag, pt, NULL), 0);
    assert_int_equal(gtee_aead_open(a2, nonce, hdr.raw, sizeof(hdr.raw), ct, sizeof(ct), tag, pt, NULL), 0);
    gtee_aead_free(a1);
    gtee_aead_free(a2);

    /* As a container it opens under k1, for which its header was made ... */
    memcpy(container, hdr.raw, sizeof(hdr.raw));
    memcpy(container + sizeof(hdr.raw), ct, sizeof(ct));
    memcpy(container + sizeof(hdr.raw) + sizeof(ct), tag, sizeof(tag));
    assert_int_equal(open_container(&k1, container, sizeof(container), &err), 0);
    /* ... and not under k2: its id is not in the header ... */
    assert_int_equal(open_container(&k2, container, sizeof(container), &err), GTEE_EKEY);
    /* ... and with k2's id written in, the commitment (HMAC under k1's commit key) fails. */
    assert_int_equal(gtee_box_key_id(&k2, container + 16), 0);
    assert_int_equal(open_container(&k2, container, sizeof(container), &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "key commitment"));
    box_keys_wipe(&d1);
    box_keys_wipe(&d2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_box_opens_a_two_key_gcm_ciphertext_under_one_key_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
