/* libFuzzer target: the crypto layer's entry points for untrusted bytes (public keys,
 * signatures, peer points, ciphertexts, hex) on arbitrary input. The first byte picks the
 * entry point; every result must be one of the documented codes, and a recovered key must
 * always give an address. Seeds in fuzz/corpus/fuzz_crypto_verify hold the standards'
 * vectors used by tests/crypto (RFC 6979, RFC 8032, EIP-155, RFC 8439). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Takes n bytes from the input, zero-padded when it runs short. */
static const uint8_t *take(const uint8_t **p, size_t *left, uint8_t *buf, size_t n)
{
    size_t k = *left < n ? *left : n;

    memset(buf, 0, n);
    if (k)
        memcpy(buf, *p, k);
    *p += k;
    *left -= k;
    return buf;
}

static void expect(int rc, int a, int b, int c)
{
    if (rc != a && rc != b && rc != c)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t pub[97], sig[96], digest[32], rec[65], addr[20], out[64], key[32], nonce[12], tag[16];
    const uint8_t *p = data;
    size_t left = size;
    uint8_t which;
    int rc;

    if (size == 0)
        return 0;
    which = data[0] % 8;
    p++;
    left--;
    switch (which) {
    case 0: /* ECDSA P-256: pub || sig || msg */
    case 1: /* ECDSA P-384 */
    {
        enum gtee_ec_curve c = which == 0 ? GTEE_EC_P256 : GTEE_EC_P384;

        take(&p, &left, pub, gtee_ec_pub_len(c));
        take(&p, &left, sig, gtee_ec_sig_len(c));
        expect(gtee_ecdsa_verify(c, pub, p, left, sig), 0, GTEE_EAUTH, GTEE_EKEY);
        break;
    }
    case 2: /* Ed25519: pub || sig || msg */
        take(&p, &left, pub, GTEE_ED25519_PUB_LEN);
        take(&p, &left, sig, GTEE_ED25519_SIG_LEN);
        expect(gtee_ed25519_verify(pub, p, left, sig), 0, GTEE_EAUTH, GTEE_EKEY);
        break;
    case 3: /* secp256k1: digest || r || s || v */
    {
        char hex[GTEE_ETH_ADDR_HEX_LEN + 1];
        uint8_t rsig[GTEE_SECP256K1_RSIG_LEN];

        take(&p, &left, digest, 32);
        take(&p, &left, rsig, sizeof(rsig));
        rc = gtee_secp256k1_recover(digest, rsig, rec);
        expect(rc, 0, GTEE_EAUTH, GTEE_EAUTH);
        if (rc == 0) {
            if (gtee_eth_address(rec, addr) != 0)
                abort();
            gtee_eth_address_hex(addr, hex);
            if (strlen(hex) != GTEE_ETH_ADDR_HEX_LEN)
                abort();
        }
        break;
    }
    case 4: /* an uncompressed secp256k1 point */
        take(&p, &left, pub, GTEE_SECP256K1_PUB_LEN);
        expect(gtee_eth_address(pub, addr), 0, GTEE_EKEY, GTEE_EKEY);
        break;
    case 5: /* hex text */
    {
        char *s = malloc(left + 1);

        if (!s)
            abort();
        if (left)
            memcpy(s, p, left);
        s[left] = '\0';
        expect(gtee_hex_decode(s, out, left / 2 < sizeof(out) ? left / 2 : sizeof(out)), 0,
               GTEE_EFORMAT, GTEE_EFORMAT);
        free(s);
        break;
    }
    case 6: /* an X25519 peer point against a fixed private key */
        memset(key, 0x5a, sizeof(key));
        take(&p, &left, pub, GTEE_X25519_KEY_LEN);
        expect(gtee_x25519(out, key, pub), 0, GTEE_EKEY, GTEE_EKEY);
        break;
    case 7: /* AEAD open: alg byte || nonce || tag || ciphertext, fixed key */
    {
        struct gtee_aead *ctx = NULL;
        uint8_t alg[1], *pt;

        take(&p, &left, alg, 1);
        take(&p, &left, nonce, sizeof(nonce));
        take(&p, &left, tag, sizeof(tag));
        for (int i = 0; i < 32; i++)
            key[i] = (uint8_t)(0x80 + i);
        if (gtee_aead_new(&ctx, alg[0] & 1 ? GTEE_AEAD_CHACHA20_POLY1305 : GTEE_AEAD_AES_256_GCM, key,
                          NULL) != 0)
            abort();
        pt = malloc(left + 1);
        if (!pt)
            abort();
        rc = gtee_aead_open(ctx, nonce, NULL, 0, p, left, tag, pt, NULL);
        expect(rc, 0, GTEE_EAUTH, GTEE_EAUTH);
        if (rc != 0) {
            for (size_t i = 0; i < left; i++)
                if (pt[i] != 0) /* failed opens leave no plaintext */
                    abort();
        }
        free(pt);
        gtee_aead_free(ctx);
        break;
    }
    }
    return 0;
}
