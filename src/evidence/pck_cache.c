/* The prepared collateral's cache of verified PCK chains (docs/evidence.md, "PCK chain
 * cache"): a bounded table, keyed by SHA-256 of the exact certification-data bytes (and
 * compared byte for byte on a hit), of chains that passed every time-independent check
 * against the prepared trust store, with their recorded validity windows, parsed SGX
 * extensions and the last attestation key decoded for that platform. Filled by verifications
 * (and by gtee_collateral_prepare_pck), read by verifications, possibly from several threads
 * at once: one mutex guards the table, and a caller gets its own references to what it uses,
 * so an eviction never frees an object in use. Replacement: CLOCK (second chance). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "evidence/dcap.h"
#include "gtee/crypto.h"

struct pck_entry {
    bool used;
    bool ref; /* CLOCK bit: set by a hit, cleared as the hand passes */
    uint8_t key[GTEE_SHA256_LEN];
    uint8_t *pem;
    size_t len;
    STACK_OF(X509) *certs;
    struct dcap_path path;
    struct pck_ext ext;
    uint8_t att_xy[DCAP_ATT_KEY_LEN];
    EVP_PKEY *att; /* NULL: none decoded yet */
};

struct dcap_pck_cache {
    pthread_mutex_t lock;
    size_t hand;
    size_t n;
    uint64_t hits, misses, inserts, evictions;
    struct pck_entry e[DCAP_PCK_CACHE_MAX];
};

struct dcap_pck_cache *dcap_pck_cache_new(void)
{
    struct dcap_pck_cache *c = calloc(1, sizeof(*c));

    if (c && pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

static void entry_clear(struct pck_entry *e)
{
    free(e->pem);
    sk_X509_pop_free(e->certs, X509_free);
    EVP_PKEY_free(e->att);
    memset(e, 0, sizeof(*e));
}

void dcap_pck_cache_free(struct dcap_pck_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < DCAP_PCK_CACHE_MAX; i++)
        entry_clear(&c->e[i]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void dcap_pck_cache_clear(struct dcap_pck_cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < DCAP_PCK_CACHE_MAX; i++)
        entry_clear(&c->e[i]);
    c->n = 0;
    c->hand = 0;
    pthread_mutex_unlock(&c->lock);
}

int dcap_pck_key(const uint8_t *pem, size_t len, uint8_t key[GTEE_SHA256_LEN])
{
    return gtee_sha256(pem, len, key);
}

/* Under the lock: the entry for these exact bytes, or NULL. */
static struct pck_entry *find(struct dcap_pck_cache *c, const uint8_t key[GTEE_SHA256_LEN], const uint8_t *pem,
                              size_t len)
{
    for (size_t i = 0; i < DCAP_PCK_CACHE_MAX; i++) {
        struct pck_entry *e = &c->e[i];

        if (e->used && memcmp(e->key, key, GTEE_SHA256_LEN) == 0 && e->len == len && memcmp(e->pem, pem, len) == 0)
            return e;
    }
    return NULL;
}

bool dcap_pck_cache_get(struct dcap_pck_cache *c, const uint8_t key[GTEE_SHA256_LEN], const uint8_t *pem,
                        size_t len, const uint8_t att_xy[DCAP_ATT_KEY_LEN], struct dcap_pck_hit *hit)
{
    struct pck_entry *e;
    bool found = false;

    memset(hit, 0, sizeof(*hit));
    pthread_mutex_lock(&c->lock);
    e = find(c, key, pem, len);
    if (e && (hit->chain = X509_chain_up_ref(e->certs)) != NULL) {
        hit->path = e->path;
        hit->ext = e->ext;
        if (e->att && memcmp(e->att_xy, att_xy, DCAP_ATT_KEY_LEN) == 0 && EVP_PKEY_up_ref(e->att) == 1)
            hit->att = e->att;
        e->ref = true;
        c->hits++;
        found = true;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

/* Under the lock: a free slot, or the first one the CLOCK hand finds unreferenced. */
static struct pck_entry *victim(struct dcap_pck_cache *c)
{
    for (size_t i = 0; i < DCAP_PCK_CACHE_MAX; i++)
        if (!c->e[i].used)
            return &c->e[i];
    for (;;) {
        struct pck_entry *e = &c->e[c->hand];

        c->hand = (c->hand + 1) % DCAP_PCK_CACHE_MAX;
        if (!e->ref) {
            entry_clear(e);
            c->n--;
            c->evictions++;
            return e;
        }
        e->ref = false;
    }
}

static void set_att(struct pck_entry *e, const uint8_t att_xy[DCAP_ATT_KEY_LEN], EVP_PKEY *att)
{
    if (!att || EVP_PKEY_up_ref(att) != 1)
        return;
    EVP_PKEY_free(e->att);
    e->att = att;
    memcpy(e->att_xy, att_xy, DCAP_ATT_KEY_LEN);
}

void dcap_pck_cache_put(struct dcap_pck_cache *c, const uint8_t key[GTEE_SHA256_LEN], const uint8_t *pem, size_t len,
                        STACK_OF(X509) *chain, const struct dcap_path *path, const struct pck_ext *ext,
                        const uint8_t att_xy[DCAP_ATT_KEY_LEN], EVP_PKEY *att)
{
    STACK_OF(X509) *certs;
    uint8_t *copy;
    struct pck_entry *e;

    if (!path->ok)
        return;
    copy = malloc(len ? len : 1);
    certs = X509_chain_up_ref(chain);
    if (!copy || !certs) {
        free(copy);
        sk_X509_pop_free(certs, X509_free);
        return;
    }
    memcpy(copy, pem, len);
    pthread_mutex_lock(&c->lock);
    if ((e = find(c, key, pem, len)) != NULL) { /* another thread was first: keep its entry */
        set_att(e, att_xy, att);
        pthread_mutex_unlock(&c->lock);
        free(copy);
        sk_X509_pop_free(certs, X509_free);
        return;
    }
    e = victim(c);
    e->used = true;
    e->ref = false;
    memcpy(e->key, key, GTEE_SHA256_LEN);
    e->pem = copy;
    e->len = len;
    e->certs = certs;
    e->path = *path;
    e->ext = *ext;
    set_att(e, att_xy, att);
    c->n++;
    c->inserts++;
    pthread_mutex_unlock(&c->lock);
}

void dcap_pck_cache_put_att(struct dcap_pck_cache *c, const uint8_t key[GTEE_SHA256_LEN], const uint8_t *pem,
                            size_t len, const uint8_t att_xy[DCAP_ATT_KEY_LEN], EVP_PKEY *att)
{
    struct pck_entry *e;

    pthread_mutex_lock(&c->lock);
    if ((e = find(c, key, pem, len)) != NULL)
        set_att(e, att_xy, att);
    pthread_mutex_unlock(&c->lock);
}

void dcap_pck_cache_stats(struct dcap_pck_cache *c, struct gtee_pck_cache_stats *st)
{
    pthread_mutex_lock(&c->lock);
    st->hits = c->hits;
    st->misses = c->misses;
    st->inserts = c->inserts;
    st->evictions = c->evictions;
    st->entries = c->n;
    st->capacity = DCAP_PCK_CACHE_MAX;
    pthread_mutex_unlock(&c->lock);
}
