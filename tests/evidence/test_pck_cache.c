/* The PCK chain cache of prepared collateral (docs/evidence.md, "PCK chain cache"): filled by
 * verifications themselves (no gtee_collateral_prepare_pck), used only for the exact bytes
 * it was filled from, never in place of the checks that depend on time or policy, bounded,
 * and safe under concurrent verifications. Every verdict is also compared with the one the
 * same quote gets from collateral that was never prepared. Test PKI of sim_pki.h. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/guard.h"
#include "evidence/dcap.h"
#include "evidence/prepared_pair.h"

static struct gtee_pck_cache_stats stats(const struct prepared_pair *s)
{
    struct gtee_pck_cache_stats st;

    gtee_collateral_pck_stats(&s->prep, &st);
    return st;
}

static void test_second_verification_of_a_quote_hits_the_cache(void **state)
{
    struct prepared_pair s;
    struct gtee_verdict v;
    struct gtee_pck_cache_stats st;

    (void)state;
    prepared_pair_make(&s, &(struct sim_opts){0}, false);
    st = stats(&s);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.capacity, GTEE_PCK_CACHE_MAX);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
    st = stats(&s);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.hits, 0);
    assert_int_equal(st.inserts, 1);
    assert_int_equal(st.entries, 1);
    for (int k = 1; k <= 3; k++) {
        assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
        assert_true(v.claims.simulated);
        st = stats(&s);
        assert_int_equal(st.hits, (uint64_t)k);
        assert_int_equal(st.inserts, 1);
    }
    /* cleared: the next verification is a first one again */
    gtee_collateral_pck_clear(&s.prep);
    assert_int_equal(stats(&s).entries, 0);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
    st = stats(&s);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.inserts, 2);
    prepared_pair_free(&s);
}

/* A quote whose PCK leaf differs in one byte of its PEM from a cached one: its bytes miss,
 * and it is rejected by the full path with the reason naming the PCK chain and the leaf. */
static void test_flipped_byte_in_cached_pck_chain_misses_and_is_rejected(void **state)
{
    struct prepared_pair s;
    struct dcap_quote q;
    struct gtee_verdict v;
    uint64_t misses;
    uint8_t *b, old;

    (void)state;
    prepared_pair_make(&s, &(struct sim_opts){0}, false);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
    assert_int_equal(dcap_quote_parse(s.w.quote, s.w.quote_len, &q, NULL), 0);
    /* a base64 character in the middle of the leaf's PEM (after its 28-byte BEGIN line) */
    b = s.w.quote + q.cert_data.off + 28 + 300;
    old = *b;
    *b = old == 'A' ? 'B' : 'A';
    misses = stats(&s).misses;
    for (int k = 0; k < 2; k++) {
        assert_int_not_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
        assert_false(v.accepted);
        assert_true(gtee_verdict_has(&v, "pck.chain."));
        assert_non_null(strstr(v.reasons[0].msg, "PCK leaf certificate"));
    }
    assert_int_equal(stats(&s).misses, misses + 2);
    assert_int_equal(stats(&s).entries, 1); /* never kept */
    *b = old;
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
    prepared_pair_free(&s);
}

/* A leaf expiring at T0 + 5 days, cached at T0 + 2 days: at the world's time (T0 + 10 days)
 * the cached chain is found but its window is closed, so it is rejected as expired; earlier
 * again it is accepted from the cache. */
static void test_cached_chain_expired_at_the_verification_time_is_rejected(void **state)
{
    struct prepared_pair s;
    struct gtee_verdict v;
    struct gtee_pck_cache_stats st;

    (void)state;
    prepared_pair_make(&s, &(struct sim_opts){ .leaf_expired = true }, false);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, SIM_T0 + 2 * SIM_DAY, &v), 0);
    assert_int_equal(stats(&s).entries, 1);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "pck.chain.expired"));
    st = stats(&s);
    assert_int_equal(st.hits, 1);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, SIM_T0 + 5 * SIM_DAY + 1, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "pck.chain.expired"));
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, SIM_T0 + 2 * SIM_DAY, &v), 0);
    assert_int_equal(stats(&s).hits, 3);
    assert_int_equal(stats(&s).inserts, 1);
    /* before the CRLs' and documents' windows (T0): rejected, though the chain is cached */
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, SIM_T0 - 1, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "pck.chain.crl_not_yet_valid"));
    prepared_pair_free(&s);
}

/* Verified at a boundary second of the CRLs' windows (both issued at T0): accepted by the
 * full path, but not kept, since the cache only takes chains whose every window (and every
 * anchor's) is strictly open at the verification time; kept at an inner time. */
static void test_chain_verified_at_a_window_boundary_is_not_kept(void **state)
{
    struct prepared_pair s;
    struct gtee_verdict v;

    (void)state;
    prepared_pair_make(&s, &(struct sim_opts){0}, false);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, SIM_T0, &v), 0);
    assert_int_equal(stats(&s).entries, 0);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, SIM_T0, &v), 0);
    assert_int_equal(stats(&s).hits, 0);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, SIM_T0 + 1, &v), 0);
    assert_int_equal(stats(&s).entries, 1);
    /* found, but the boundary itself is still decided by the full path */
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, SIM_T0, &v), 0);
    assert_int_equal(stats(&s).inserts, 1);
    prepared_pair_free(&s);
}

/* A cached PCK leaf revoked by a new PCK CRL: with the new CRL in the collateral (prepared
 * before or again after it) the leaf is rejected as revoked, and never cached. */
static void test_crl_revoking_a_cached_pck_is_honoured(void **state)
{
    struct prepared_pair s;
    struct gtee_verdict v;
    char path[128];

    (void)state;
    prepared_pair_make(&s, &(struct sim_opts){0}, false);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
    assert_int_equal(stats(&s).hits, 1);
    snprintf(path, sizeof(path), "%s/pck_crl.der", s.w.dir);
    sim_write_crl(path, s.w.ca, s.w.ca_key, s.w.leaf, NULL);
    read_into(path, &s.prep.pck_crl);
    read_into(path, &s.plain.pck_crl);
    /* the CRL bytes differ from the prepared ones: nothing prepared, cache included, is used */
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), GTEE_EPOLICY);
    assert_true(gtee_verdict_has(&v, "pck.chain.revoked"));
    assert_int_equal(stats(&s).hits, 1);
    /* prepared again with the new CRL: a new, empty cache, and the revoked chain stays out */
    assert_int_equal(gtee_collateral_prepare(&s.prep, &s.a, NULL), 0);
    assert_int_equal(stats(&s).entries, 0);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), GTEE_EPOLICY);
        assert_true(gtee_verdict_has(&v, "pck.chain.revoked"));
    }
    assert_int_equal(stats(&s).entries, 0);
    assert_int_equal(stats(&s).hits, 0);
    /* and gtee_collateral_prepare_pck does not keep it either */
    assert_int_equal(gtee_collateral_prepare_pck(&s.prep, s.w.quote, s.w.quote_len, NULL), 0);
    assert_int_equal(stats(&s).entries, 0);
    prepared_pair_free(&s);
}

/* The quote of platform i: the world's leaf re-issued with serial 1000 + i (same key and SGX
 * extensions, other bytes). */
static void platform_quote(struct sim_world *w, int i)
{
    struct der ext;
    static const uint8_t fmspc[6] = { 0x00, 0xa0, 0x67, 0x11, 0x00, 0x00 };

    X509_free(w->leaf);
    sim_sgx_ext(&ext, fmspc);
    w->leaf = sim_cert(w->leaf_key, w->ca_key, w->ca, "Simulated PCK Certificate", false, 1000 + i,
                       SIM_T0 - 365 * SIM_DAY, SIM_T0 + 365 * SIM_DAY, &ext);
    free(w->quote);
    sim_quote(w, &(struct sim_opts){0});
}

#define PLATFORMS (GTEE_PCK_CACHE_MAX + 6)

struct quotes {
    uint8_t *q[PLATFORMS];
    size_t len[PLATFORMS];
};

static void quotes_make(struct prepared_pair *s, struct quotes *qs)
{
    for (int i = 0; i < PLATFORMS; i++) {
        platform_quote(&s->w, i);
        qs->q[i] = s->w.quote;
        qs->len[i] = s->w.quote_len;
        s->w.quote = NULL;
    }
}

static void quotes_free(struct quotes *qs)
{
    for (int i = 0; i < PLATFORMS; i++)
        free(qs->q[i]);
}

static int verify_prep(struct prepared_pair *s, const struct quotes *qs, int i)
{
    struct gtee_verdict v;

    return gtee_evidence_verify(qs->q[i], qs->len[i], &s->prep, &s->a, &s->p, s->w.at, &v, NULL);
}

/* GTEE_PCK_CACHE_MAX platforms fill the cache; each further one evicts one: the first never
 * used again (CLOCK), while one that was used again survives. */
static void test_cache_evicts_at_its_bound(void **state)
{
    struct prepared_pair s;
    struct quotes qs;
    struct gtee_pck_cache_stats st;
    uint64_t hits;

    (void)state;
    prepared_pair_make(&s, &(struct sim_opts){0}, false);
    quotes_make(&s, &qs);
    for (int i = 0; i < GTEE_PCK_CACHE_MAX; i++)
        assert_int_equal(verify_prep(&s, &qs, i), 0);
    st = stats(&s);
    assert_int_equal(st.entries, GTEE_PCK_CACHE_MAX);
    assert_int_equal(st.inserts, GTEE_PCK_CACHE_MAX);
    assert_int_equal(st.evictions, 0);
    assert_int_equal(verify_prep(&s, &qs, 1), 0); /* platform 1 used again */
    assert_int_equal(stats(&s).hits, 1);
    for (int i = GTEE_PCK_CACHE_MAX; i < GTEE_PCK_CACHE_MAX + 2; i++)
        assert_int_equal(verify_prep(&s, &qs, i), 0);
    st = stats(&s);
    assert_int_equal(st.entries, GTEE_PCK_CACHE_MAX);
    assert_int_equal(st.evictions, 2);
    /* the newest and the re-used platform hit; platform 0 (evicted first) misses */
    hits = st.hits;
    assert_int_equal(verify_prep(&s, &qs, GTEE_PCK_CACHE_MAX + 1), 0);
    assert_int_equal(verify_prep(&s, &qs, 1), 0);
    assert_int_equal(stats(&s).hits, hits + 2);
    assert_int_equal(verify_prep(&s, &qs, 0), 0);
    st = stats(&s);
    assert_int_equal(st.hits, hits + 2);
    assert_int_equal(st.evictions, 3);
    assert_int_equal(st.entries, GTEE_PCK_CACHE_MAX);
    quotes_free(&qs);
    prepared_pair_free(&s);
}

struct worker {
    struct prepared_pair *s;
    const struct quotes *qs;
    int id;
    int failures;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct gtee_verdict v;

    /* each thread walks the platforms in its own order, so inserts, hits and evictions of
     * the same entries interleave; every verification must accept */
    for (int round = 0; round < 3; round++)
        for (int k = 0; k < PLATFORMS; k++) {
            int i = (k * (2 * w->id + 1) + w->id * 7) % PLATFORMS;

            if (gtee_evidence_verify(w->qs->q[i], w->qs->len[i], &w->s->prep, &w->s->a, &w->s->p, w->s->w.at, &v,
                                     NULL) != 0 ||
                !v.accepted || !v.claims.simulated)
                w->failures++;
            if (k == PLATFORMS / 2 && w->id == 0 && round == 1)
                gtee_collateral_pck_clear(&w->s->prep);
        }
    return NULL;
}

static void test_concurrent_verifications_share_the_cache(void **state)
{
    struct prepared_pair s;
    struct quotes qs;
    struct worker w[4];
    pthread_t t[4];
    struct gtee_pck_cache_stats st;

    (void)state;
    prepared_pair_make(&s, &(struct sim_opts){0}, false);
    quotes_make(&s, &qs);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){ &s, &qs, i, 0 };
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    st = stats(&s);
    assert_int_equal(st.hits + st.misses, 4 * 3 * PLATFORMS);
    assert_true(st.entries <= GTEE_PCK_CACHE_MAX);
    assert_true(st.evictions > 0);
    print_message("  %llu hits, %llu misses, %llu evictions\n", (unsigned long long)st.hits,
                  (unsigned long long)st.misses, (unsigned long long)st.evictions);
    quotes_free(&qs);
    prepared_pair_free(&s);
}

/* A second quote of a cached platform with another attestation key: verified with its own
 * key (the cached decoding is for other bytes), and its QE report signature still checked. */
static void test_cached_platform_with_a_new_attestation_key(void **state)
{
    struct prepared_pair s;
    struct gtee_verdict v;
    uint8_t *first;
    size_t first_len;

    (void)state;
    prepared_pair_make(&s, &(struct sim_opts){0}, false);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
    first = s.w.quote;
    first_len = s.w.quote_len;
    EVP_PKEY_free(s.w.att_key);
    s.w.att_key = sim_key();
    sim_quote(&s.w, &(struct sim_opts){0}); /* QE report binds the new key, same PCK chain */
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
    assert_int_equal(stats(&s).hits, 1);
    assert_int_equal(prepared_pair_verify(&s, first, first_len, s.w.at, &v), 0);
    assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), 0);
    /* the QE report signed by another key than the cached leaf's: rejected */
    {
        struct dcap_quote q;

        assert_int_equal(dcap_quote_parse(s.w.quote, s.w.quote_len, &q, NULL), 0);
        s.w.quote[q.qe_report_sig.off + 5] ^= 0x40;
        assert_int_equal(prepared_pair_verify(&s, s.w.quote, s.w.quote_len, s.w.at, &v), GTEE_EPOLICY);
        assert_true(gtee_verdict_has(&v, "qe_report.signature"));
    }
    assert_int_equal(stats(&s).inserts, 1);
    free(first);
    prepared_pair_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_verification_of_a_quote_hits_the_cache),
        cmocka_unit_test(test_flipped_byte_in_cached_pck_chain_misses_and_is_rejected),
        cmocka_unit_test(test_cached_chain_expired_at_the_verification_time_is_rejected),
        cmocka_unit_test(test_chain_verified_at_a_window_boundary_is_not_kept),
        cmocka_unit_test(test_crl_revoking_a_cached_pck_is_honoured),
        cmocka_unit_test(test_cache_evicts_at_its_bound),
        cmocka_unit_test(test_concurrent_verifications_share_the_cache),
        cmocka_unit_test(test_cached_platform_with_a_new_attestation_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
