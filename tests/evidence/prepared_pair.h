/* Test fixture for prepared collateral (include after <cmocka.h>): one test PKI's
 * collateral loaded twice, `plain` never prepared (the full path every time) and `prep`
 * prepared (gtee_collateral_prepare, and with with_pck its quote's PCK chain too), and a
 * verification through both that must give the same verdict (same_verdict.h). */
#ifndef GTEE_TEST_PREPARED_PAIR_H
#define GTEE_TEST_PREPARED_PAIR_H

#include <stdbool.h>
#include <string.h>

#include "evidence/same_verdict.h"
#include "evidence/sim_pki.h"

struct prepared_pair {
    struct sim_world w;
    struct gtee_collateral plain, prep;
    struct gtee_anchors a;
    struct gtee_policy p; /* the default, simulation allowed */
};

static inline void prepared_pair_make(struct prepared_pair *s, const struct sim_opts *o, bool with_pck)
{
    memset(s, 0, sizeof(*s));
    sim_world_make(&s->w, o);
    assert_int_equal(gtee_collateral_load(s->w.dir, &s->plain, NULL), 0);
    assert_int_equal(gtee_collateral_load(s->w.dir, &s->prep, NULL), 0);
    s->a.sim_root_der = s->w.root_der;
    s->a.sim_root_len = s->w.root_der_len;
    assert_int_equal(gtee_collateral_prepare(&s->prep, &s->a, NULL), 0);
    if (with_pck)
        assert_int_equal(gtee_collateral_prepare_pck(&s->prep, s->w.quote, s->w.quote_len, NULL), 0);
    gtee_policy_default(&s->p);
    s->p.allow_simulation = true;
}

static inline void prepared_pair_free(struct prepared_pair *s)
{
    gtee_collateral_free(&s->plain);
    gtee_collateral_free(&s->prep);
    sim_world_free(&s->w);
}

/* Verifies quote with the prepared and the plain collateral at `at`; the two verdicts must
 * be the same. Returns the prepared one's return code, its verdict in v. */
static inline int prepared_pair_verify(struct prepared_pair *s, const uint8_t *quote, size_t len, int64_t at,
                                       struct gtee_verdict *v)
{
    struct gtee_verdict full;
    int rc = gtee_evidence_verify(quote, len, &s->prep, &s->a, &s->p, at, v, NULL);
    int rc_full = gtee_evidence_verify(quote, len, &s->plain, &s->a, &s->p, at, &full, NULL);

    assert_same_verdict(rc, v, rc_full, &full);
    return rc;
}

#endif
