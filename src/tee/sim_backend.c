/* The "sim" backend: the simulated device (gtee/sim.h) behind the backend ops table.
 * Chosen only by name, never by "auto"; its evidence chains to a SIMULATED root. */
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/sim.h"
#include "tee/tee_int.h"

struct sim_state {
    struct gtee_sim *sim;
    struct gtee_sim_identity id;
    int version;
};

static int sim_detect(const char *root, const struct gtee_tee_options *opt)
{
    return 0; /* never found: the simulation is only ever asked for by name */
}

static int sim_open(struct gtee_tee *t, struct gtee_err *err)
{
    struct sim_state *s = NULL;
    int rc = GTEE_EINVAL;

    ENSURE(t->opt.sim_dir && t->opt.sim_dir[0], err, GTEE_EINVAL,
           "tee sim: no device directory (make one with `gtee sim init DIR`, pass --sim-dir DIR)");
    ENSURE(t->opt.sim_quote_version == 0 || t->opt.sim_quote_version == GTEE_SIM_QUOTE_SGX ||
           t->opt.sim_quote_version == GTEE_SIM_QUOTE_TDX, err, GTEE_EINVAL,
           "tee sim: quote version %d (use 3 or 4)", t->opt.sim_quote_version);
    s = calloc(1, sizeof(*s));
    ENSURE(s, err, GTEE_ENOMEM, "tee sim: out of memory");
    TRY(gtee_sim_open(t->opt.sim_dir, &s->sim, err));
    memcpy(s->id.mrenclave, t->opt.sim_id.mrenclave, 32);
    memcpy(s->id.mrsigner, t->opt.sim_id.mrsigner, 32);
    s->id.isv_prod_id = t->opt.sim_id.isv_prod_id;
    s->id.isv_svn = t->opt.sim_id.isv_svn;
    s->id.debug = t->opt.sim_id.debug;
    s->version = t->opt.sim_quote_version ? t->opt.sim_quote_version : GTEE_SIM_QUOTE_SGX;
    t->state = s;
    s = NULL;
    rc = 0;
out:
    free(s);
    return rc;
}

static void sim_close(struct gtee_tee *t)
{
    struct sim_state *s = t->state;

    if (!s)
        return;
    gtee_sim_close(s->sim);
    free(s);
    t->state = NULL;
}

static int sim_evidence(struct gtee_tee *t, const uint8_t rd[GTEE_REPORT_DATA_LEN], uint8_t **ev, size_t *ev_len,
                        struct gtee_err *err)
{
    struct sim_state *s = t->state;

    return gtee_sim_quote(s->sim, s->version, &s->id, rd, ev, ev_len, err);
}

static int sim_sealing_key(struct gtee_tee *t, enum gtee_seal_policy policy, uint8_t key[GTEE_SEAL_KEY_LEN],
                           struct gtee_err *err)
{
    struct sim_state *s = t->state;

    return gtee_sim_sealing_key(s->sim, policy == GTEE_SEAL_MRENCLAVE ? GTEE_SIM_SEAL_MRENCLAVE : GTEE_SIM_SEAL_MRSIGNER,
                                &s->id, key, err);
}

/* Where the quote puts it: MRENCLAVE (v3), or MRTD = mrenclave || 16 zero bytes (v4). */
static int sim_measurement(struct gtee_tee *t, uint8_t m[GTEE_MEASUREMENT_MAX], size_t *m_len, struct gtee_err *err)
{
    struct sim_state *s = t->state;

    memset(m, 0, GTEE_MEASUREMENT_MAX);
    memcpy(m, s->id.mrenclave, 32);
    *m_len = s->version == GTEE_SIM_QUOTE_TDX ? 48 : 32;
    return 0;
}

const struct gtee_tee_ops gtee_tee_sim_ops = {
    .name = "sim",
    .kind = GTEE_TEE_KIND_SIM,
    .detect = sim_detect,
    .open = sim_open,
    .close = sim_close,
    .get_evidence = sim_evidence,
    .sealing_key = sim_sealing_key,
    .measurement = sim_measurement,
};
