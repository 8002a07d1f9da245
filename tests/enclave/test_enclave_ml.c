/* The ML engine inside the enclave (docs/tee.md §7.1, §7.2): a provider seals a model and a
 * dataset, grants them over the relay (the keys go to the enclave alone), the host passes the
 * ciphertext into the simulated enclave, and inference and one training epoch run inside the
 * enclave process under its full seccomp list; the results come back HPKE-sealed to the
 * provider through the host, which reads them out of the enclave in pieces. The provider gets the same outputs, losses and trained weights
 * as the plaintext engine gives it on its own machine, the job records count the work, and
 * nothing of the plaintext (key, weights, features, outputs, trained weights) is in anything
 * the host holds: the bytes it relayed, the files it has, its log, the enclave's stderr, its
 * own memory. Results over the 1 MiB message limit (a 7.5 MiB trained MLP built here, a
 * 1.3 MiB inference output) come out whole through RESULT_READ. Also: the memory limit
 * refuses a container before anything is allocated, and every job without the right grant
 * is refused with its reason. Each job's Work Proof (docs/proofs.md "The node's proofs"),
 * taken after its result, verifies as the Enclave ID's in one hash chain from seq 1 naming the
 * job, its blobs and its work; at a restart the sealed counter is checked against the
 * ledger's standing and an old one the host restores is refused.
 *
 * The test process is the host. The provider is a forked child; it leaves the needles for
 * the scan as two masked halves (scan.h), so the host never holds them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "base/span.h"
#include "gtee/box.h"
#include "gtee/crypto.h"
#include "gtee/dataset.h"
#include "gtee/enclave.h"
#include "gtee/jobs.h"
#include "gtee/ml.h"
#include "gtee/ml_train.h"
#include "gtee/msg.h"
#include "gtee/proof.h"
#include "gtee/sim.h"
#include "tee/fake_fifo.c"
#include "box/boxtest.h"
#include "enclave/scan.h"
#include "ml/mlp_build.h"

#define ITEMS 256
#define NEEDLE 32
#define N_NEEDLES 5
#define DATA_PIECE (256u << 10)

/* Children end with exit_group directly: a sanitizer's _exit hook would scan for leaks
 * over memory copied from the parent. */
static void child_exit(int code)
{
    syscall(SYS_exit_group, code);
    abort();
}

struct world {
    char dir[PATH_MAX], dev[PATH_MAX + 8], prov[PATH_MAX + 8], host[PATH_MAX + 8], traffic[PATH_MAX + 32],
        log[PATH_MAX + 32], err[PATH_MAX + 32], needles[PATH_MAX + 32];
    FILE *trafficf, *logf;
    int errfd;
    unsigned stored;
    unsigned progress;                     /* PROGRESS reports the host saw */
    uint64_t biggest;                      /* the largest result read out of the enclave */
    struct gtee_enclave_progress last;
    /* Work Proofs the host took after each job (docs/proofs.md "The node's proofs"), the
     * counter sealed after each, and the job ids (SHA-256 of the relay boxes) they name */
    int proofs_on;
    size_t n_proofs;
    struct gtee_proof proof[8];
    uint8_t *sealed[8];
    size_t sealed_len[8];
    uint8_t job_id[8][32];
};

/* What the host may see of a job's progress: it logs it, as a node would show it. */
static void on_progress(void *arg, const struct gtee_enclave_progress *pr)
{
    struct world *w = arg;

    w->progress++;
    w->last = *pr;
    fprintf(w->logf, "event=progress stage=%u epoch=%u/%u batch=%u/%u loss=%.4f\n", pr->stage, pr->epoch,
            pr->epochs, pr->batch, pr->batches, pr->loss);
}

/* ---- the provider (a child process: the only one besides the enclave with plaintext) ---- */

struct prov {
    int net;
    uint8_t channel_pub[65];
    struct gtee_box_key key;
    uint8_t sk[32], pk[32];       /* the provider's X25519 key: results are sealed to it */
    const struct world *w;
};

/* One relay exchange through the host, which answers with the enclave's whole reply (host
 * part and box), as a node's API would let the client fetch the stored part. */
static void prov_relay(struct prov *p, const uint8_t *req, size_t req_len, uint8_t **pt, size_t *pt_len,
                       uint8_t **host, size_t *host_len)
{
    uint8_t resp_key[32], *box = NULL, *msg = NULL, *in = NULL;
    size_t box_len = 0, msg_len = 0, in_len = 0;
    struct span s;
    uint32_t hl;

    if (gtee_relay_seal_request(p->channel_pub, req, req_len, resp_key, &box, &box_len, NULL) != 0 ||
        gtee_msg_encode(GTEE_MSG_RELAY, 1, box, box_len, &msg, &msg_len, NULL) != 0 ||
        gtee_msg_send(p->net, msg, msg_len, NULL) != 0 || gtee_msg_recv(p->net, &in, &in_len, NULL) != 0)
        child_exit(30);
    s = span_init(in + GTEE_MSG_HEADER_LEN, in_len - GTEE_MSG_HEADER_LEN);
    hl = span_u32be(&s);
    if (s.bad || hl > s.len)
        child_exit(32);
    if (gtee_result_notice_is(s.p, hl)) {
        /* a job's result: downloaded from the host's store by its id */
        struct gtee_result_notice n;
        char hex[65], path[PATH_MAX + 80];

        if (gtee_result_notice_parse(span_take(&s, hl), hl, &n, NULL) != 0)
            child_exit(35);
        gtee_hex_encode(n.sha256, 32, hex);
        snprintf(path, sizeof(path), "%s/result-%s", p->w->host, hex);
        *host = fake_load(path, host_len);
        if (!*host || *host_len != n.len)
            child_exit(36);
    } else {
        *host_len = hl;
        *host = malloc(hl + 1);
        memcpy(*host, span_take(&s, hl), hl);
    }
    if (gtee_relay_open_response(resp_key, s.p, s.len, pt, pt_len, NULL) != 0)
        child_exit(31);
    free(box);
    free(msg);
    free(in);
}

/* The requester's side of a result (docs/tee.md §7.2): the record it alone got, then the
 * HPKE result checked against it and opened with its key. */
static uint8_t *open_result(const struct prov *p, const uint8_t *record, size_t record_len, const uint8_t *res,
                            size_t len, size_t *pt_len)
{
    struct gtee_job_record rec;
    uint8_t *pt = NULL;

    if (gtee_job_record_parse(record, record_len, &rec, NULL) != 0)
        child_exit(33);
    if (gtee_result_open(&rec, p->sk, res, len, &pt, pt_len, NULL) != 0)
        child_exit(34);
    gtee_job_record_free(&rec);
    return pt;
}

/* The provider's grant of a container: to itself (the owner), for both kinds, no end. */
static void prov_grant(struct prov *p, const uint8_t id[32])
{
    uint8_t req[1 + 107], *r = NULL, *host = NULL, want[16];
    size_t r_len = 0, host_len = 0;

    memset(req, 0, sizeof(req));
    req[0] = GTEE_RELAY_GRANT;
    memcpy(req + 1, id, 32);
    memcpy(req + 33, p->key.bytes, 32);
    memcpy(req + 65, p->pk, 32);
    req[97] = GTEE_GRANT_INFER | GTEE_GRANT_TRAIN;
    prov_relay(p, req, sizeof(req), &r, &r_len, &host, &host_len);
    if (gtee_box_key_id(&p->key, want) != 0 || r_len != 16 || memcmp(r, want, 16) != 0 || host_len < 64)
        child_exit(12);
    free(r);
    free(host);
}

/* Seals pt into the shared directory as NAME and asks the host to pass it to the enclave as
 * blob `slot` under key 0; checks the content id the enclave computed. */
static void prov_upload(struct prov *p, const char *name, const void *pt, size_t len, unsigned slot)
{
    char path[PATH_MAX + 64];
    uint8_t req[2 + 64], want[32], *msg = NULL, *in = NULL;
    size_t msg_len = 0, in_len = 0, n = strlen(name);
    struct gtee_box_opts o = { .chunk_size = 16384 };
    uint64_t size = 0;
    int cfd, tmp;

    snprintf(path, sizeof(path), "%s/%s", p->w->host, name);
    /* the ciphertext lands in the host's directory, as an upload to the node would */
    cfd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    tmp = memfd_create("plaintext", MFD_CLOEXEC);
    if (cfd < 0 || tmp < 0 || write(tmp, pt, len) != (ssize_t)len || lseek(tmp, 0, SEEK_SET) != 0 ||
        gtee_box_seal(&p->key, &o, tmp, cfd, NULL, NULL) != 0)
        child_exit(41);
    close(tmp);
    if (lseek(cfd, 0, SEEK_SET) != 0 || gtee_box_content_id(cfd, want, &size, NULL) != 0)
        child_exit(43);
    close(cfd);
    prov_grant(p, want);
    req[0] = (uint8_t)slot;
    req[1] = 0;
    memcpy(req + 2, name, n);
    if (gtee_msg_encode(GTEE_MSG_BLOB_BEGIN, 2, req, 2 + n, &msg, &msg_len, NULL) != 0 ||
        gtee_msg_send(p->net, msg, msg_len, NULL) != 0 || gtee_msg_recv(p->net, &in, &in_len, NULL) != 0)
        child_exit(44);
    /* the enclave's last DATA answer: received u64 || plaintext length u64 || content id */
    if (in_len != GTEE_MSG_HEADER_LEN + 48 || memcmp(in + GTEE_MSG_HEADER_LEN + 16, want, 32) != 0)
        child_exit(45);
    free(msg);
    free(in);
}

static float frand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(*s >> 40) / (float)(1u << 24);
}

/* A .npy of int64 labels (gtee_npy_encode_f32 writes floats only). */
static uint8_t *labels_npy(const int64_t *y, size_t n, size_t *len)
{
    char hdr[118];
    size_t h = (size_t)snprintf(hdr, sizeof(hdr), "{'descr': '<i8', 'fortran_order': False, 'shape': (%zu,), }", n);
    uint8_t *b;

    while (h < sizeof(hdr) - 1)
        hdr[h++] = ' ';
    hdr[h - 1] = '\n';
    *len = 10 + h + n * 8;
    b = malloc(*len);
    if (!b)
        child_exit(50);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (uint8_t)h;
    b[9] = (uint8_t)(h >> 8);
    memcpy(b + 10, hdr, h);
    memcpy(b + 10 + h, y, n * 8);
    return b;
}

/* What the plaintext engine gives the provider on its own machine. */
static void local_infer(const uint8_t *model, size_t model_len, const float *x, size_t n, float **out, size_t *count)
{
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_session *s = NULL;
    struct gtee_ml_options mo = { .threads = 2 };
    struct gtee_ml_tensor in = { GTEE_ML_FLOAT, 4, { (int64_t)n, 1, 28, 28 }, (void *)x }, y = {0};
    uint64_t c = 0;

    if (gtee_ml_model_load(model, model_len, NULL, &m, NULL) != 0 || gtee_ml_session_new(m, &mo, &s, NULL) != 0 ||
        gtee_ml_run(s, &in, 1, &y, 1, NULL) != 0 || gtee_ml_tensor_elems(&y, 1u << 20, &c) != 0)
        child_exit(60);
    *out = malloc(c * sizeof(float));
    memcpy(*out, y.data, c * sizeof(float));
    *count = (size_t)c;
    gtee_ml_session_free(s);
    gtee_ml_model_free(m);
}

static void local_train(const uint8_t *model, size_t model_len, float *x, int64_t *y, double *loss, uint8_t **saved,
                        size_t *saved_len)
{
    struct gtee_ml_model *m = NULL;
    struct gtee_ml_trainer *tr = NULL;
    struct gtee_ml_train_options o = { .threads = 1, .loss = GTEE_ML_LOSS_XENT, .optimizer = GTEE_ML_OPTIM_ADAM };
    struct gtee_array ax = { GTEE_ARRAY_F32, 4, { ITEMS, 1, 28, 28 }, ITEMS * 784, NULL, NULL };
    struct gtee_array ay = { GTEE_ARRAY_I64, 1, { ITEMS }, ITEMS, NULL, NULL };
    struct gtee_dataset ds = {0};
    struct gtee_ml_epoch_stats st;

    ax.f32 = malloc(ITEMS * 784 * sizeof(float));
    ay.i64 = malloc(ITEMS * sizeof(int64_t));
    memcpy(ax.f32, x, ITEMS * 784 * sizeof(float));
    memcpy(ay.i64, y, ITEMS * sizeof(int64_t));
    o.adam = (struct gtee_ml_adam){ 0.001f, 0.9f, 0.999f, 1e-8f, 0.0f, 0 };
    if (gtee_ml_model_load(model, model_len, NULL, &m, NULL) != 0 ||
        gtee_dataset_from_arrays(&ax, "x", &ay, "y", &ds, NULL) != 0 || gtee_ml_trainer_new(m, &o, &tr, NULL) != 0 ||
        gtee_ml_train_epoch(tr, &ds, 0, 32, 7, NULL, NULL, &st, NULL) != 0 ||
        gtee_ml_model_save(m, model, model_len, saved, saved_len, NULL) != 0)
        child_exit(61);
    *loss = st.loss;
    gtee_ml_trainer_free(tr);
    gtee_dataset_free(&ds);
    gtee_ml_model_free(m);
}

/* Leaves needle i as two halves: a random mask, and the needle XOR the mask. */
static void leave_needle(FILE *f, const uint8_t *p)
{
    uint8_t mask[NEEDLE], masked[NEEDLE];

    if (gtee_random(mask, NEEDLE) != 0)
        child_exit(70);
    for (size_t i = 0; i < NEEDLE; i++)
        masked[i] = p[i] ^ mask[i];
    if (fwrite(mask, 1, NEEDLE, f) != NEEDLE || fwrite(masked, 1, NEEDLE, f) != NEEDLE)
        child_exit(71);
}

static int close_enough(const float *a, const float *b, size_t n)
{
    /* The same engine and thread count on the same machine: equal, but allow 1e-5 relative
     * (docs/ml.md lists each test's tolerance). */
    for (size_t i = 0; i < n; i++)
        if (fabsf(a[i] - b[i]) > 1e-5f * fmaxf(1.0f, fabsf(b[i])))
            return 0;
    return 1;
}

static void provider(struct prov *p)
{
    size_t model_len = 0, y_npy_len = 0, x_npy_len = 0, in_npy_len = 0, r_len = 0, want_n = 0, saved_len = 0,
           res_len = 0, out_len = 0;
    uint8_t *model = NULL, *x_npy = NULL, *y_npy = NULL, *in_npy = NULL, *r = NULL, *saved = NULL, req[64],
            *res = NULL, *out_npy = NULL;
    char path[PATH_MAX];
    float *x = malloc(ITEMS * 784 * sizeof(float)), *want = NULL;
    int64_t y[ITEMS];
    uint64_t seed = 0x5eed;
    size_t dims[4] = { ITEMS, 1, 28, 28 }, idims[4] = { 4, 1, 28, 28 };
    struct gtee_array out = {0};
    double loss = 0, eloss;
    FILE *nf;

    /* The enclave runs without --allow-jit, so its matrix products are OpenBLAS's
     * (gtee_ml_forbid_jit); the reference computed here takes the same kernels. */
    gtee_ml_forbid_jit();

    snprintf(path, sizeof(path), "%s/tests/ml/models/mlp.onnx", getenv("GTEE_SOURCE_DIR"));
    model = fake_load(path, &model_len);
    if (!model || !x || gtee_box_key_generate(&p->key) != 0 || gtee_x25519_keypair(p->sk, p->pk) != 0)
        child_exit(10);
    for (size_t i = 0; i < ITEMS * 784; i++)
        x[i] = frand(&seed);
    for (size_t i = 0; i < ITEMS; i++)
        y[i] = (int64_t)(frand(&seed) * 10.0f) % 10;
    if (gtee_npy_encode_f32(x, dims, 4, &x_npy, &x_npy_len, NULL) != 0 ||
        gtee_npy_encode_f32(x, idims, 4, &in_npy, &in_npy_len, NULL) != 0)
        child_exit(11);
    y_npy = labels_npy(y, ITEMS, &y_npy_len);

    /* the containers, granted and passed through the host */
    prov_upload(p, "model.box", model, model_len, 0);
    prov_upload(p, "input.box", in_npy, in_npy_len, 1);
    prov_upload(p, "x.box", x_npy, x_npy_len, 2);
    prov_upload(p, "y.box", y_npy, y_npy_len, 3);

    /* inference: the enclave's output is the plaintext engine's */
    req[0] = GTEE_RELAY_ML_JOB;
    req[1] = 1;
    memcpy(req + 2, p->pk, 32);
    req[34] = 0;
    req[35] = 1;
    req[36] = 2;
    prov_relay(p, req, 37, &r, &r_len, &res, &res_len);
    {
        struct span s = span_init(r, r_len);
        uint64_t macs, samples;

        s.p += 97, s.len -= 97; /* kind, content ids */
        if (span_u8(&s) != 1) /* the result is for the requester */
            child_exit(19);
        span_take(&s, 32 + 8);
        macs = span_u64be(&s);
        samples = span_u64be(&s);
        if (s.bad || samples != 4 || macs != 4ull * (784 * 256 + 256 * 128 + 128 * 10))
            child_exit(20);
    }
    out_npy = open_result(p, r, r_len, res, res_len, &out_len);
    if (gtee_npy_parse(out_npy, out_len, "output", GTEE_ARRAY_F32, GTEE_NORM_NONE, &out, NULL) != 0)
        child_exit(13);
    local_infer(model, model_len, x, 4, &want, &want_n);
    if (out.count != want_n || want_n != 40 || !close_enough(out.f32, want, want_n))
        child_exit(14);
    free(r);
    free(res);

    /* one training epoch: the same loss and the same trained weights */
    {
        uint8_t t[35 + GTEE_JOB_TRAIN_LEN] = { GTEE_RELAY_ML_JOB, 2 };
        float lr = 0.001f;
        uint32_t bits;

        memcpy(t + 2, p->pk, 32);
        t[34] = 0;
        t[35] = 2;
        t[36] = 3;
        t[37] = 1;
        t[38] = 2;
        put_u16be(t + 39, 1);
        put_u32be(t + 41, 32);
        put_u64be(t + 45, 7);
        memcpy(&bits, &lr, 4);
        put_u32be(t + 53, bits);
        prov_relay(p, t, sizeof(t), &r, &r_len, &res, &res_len);
    }
    local_train(model, model_len, x, y, &loss, &saved, &saved_len);
    {
        struct span s = span_init(r, r_len);
        uint64_t lbits, samples, macs;
        uint8_t *trained;
        size_t trained_len = 0;

        s.p += 98, s.len -= 98;
        span_take(&s, 32 + 8);
        macs = span_u64be(&s);
        samples = span_u64be(&s);
        if (span_u16be(&s) != 1)
            child_exit(21);
        lbits = span_u64be(&s);
        memcpy(&eloss, &lbits, 8);
        if (s.bad || samples != ITEMS || macs != 3ull * ITEMS * (784 * 256 + 256 * 128 + 128 * 10) ||
            fabs(eloss - loss) > 1e-6 * fmax(1.0, fabs(loss)))
            child_exit(15);
        /* one thread, the same engine on the same machine and the same seed: the same bytes */
        trained = open_result(p, r, r_len, res, res_len, &trained_len);
        if (trained_len != saved_len || memcmp(trained, saved, saved_len) != 0)
            child_exit(16);
        free(trained);
    }

    /* the needles for the host's scan: the key, a window of the model's weights, the
     * features, the output, the trained weights */
    snprintf(path, sizeof(path), "%s", p->w->needles);
    nf = fopen(path, "wb");
    if (!nf)
        child_exit(17);
    leave_needle(nf, p->key.bytes);
    leave_needle(nf, model + model_len / 2);
    leave_needle(nf, (const uint8_t *)x + 4096);
    leave_needle(nf, (const uint8_t *)out.f32);
    leave_needle(nf, saved + saved_len / 2);
    if (fclose(nf) != 0)
        child_exit(18);
    child_exit(0);
}

/* Results over the message limit (1 MiB): a training job on an MLP built here with a
 * 784x1024 and a 1024x1024 layer (its trained ONNX is about 7.5 MiB), and an inference job
 * whose output .npy (BIG_ROWS x 1024 floats) is over 1 MiB. Both come out whole and are
 * what the plaintext engine gives the provider. */
#define BIG_ROWS 320

static void provider_big(struct prov *p)
{
    static const int64_t train_widths[4] = { 784, 1024, 1024, 10 }, infer_widths[2] = { 784, 1024 };
    size_t model_len = 0, imodel_len = 0, x_npy_len = 0, y_npy_len = 0, in_npy_len = 0, r_len = 0, res_len = 0,
           out_len = 0, want_n = 0, saved_len = 0, trained_len = 0;
    uint8_t *model = mlp_build(train_widths, 3, 0xb16, &model_len), *imodel = mlp_build(infer_widths, 1, 0xb17, &imodel_len);
    uint8_t *x_npy = NULL, *y_npy = NULL, *in_npy = NULL, *r = NULL, *res = NULL, *out_npy = NULL, *saved = NULL,
            *trained = NULL, req[64];
    float *x = malloc(BIG_ROWS * 784 * sizeof(float)), *want = NULL;
    int64_t y[ITEMS];
    uint64_t seed = 0xb19;
    size_t dims[2] = { ITEMS, 784 }, idims[2] = { BIG_ROWS, 784 };
    struct gtee_array out = {0};

    gtee_ml_forbid_jit(); /* the enclave's kernels: see provider() */
    if (!model || !imodel || !x || model_len < (4u << 20) || gtee_box_key_generate(&p->key) != 0 ||
        gtee_x25519_keypair(p->sk, p->pk) != 0)
        child_exit(82);
    for (size_t i = 0; i < BIG_ROWS * 784; i++)
        x[i] = frand(&seed);
    for (size_t i = 0; i < ITEMS; i++)
        y[i] = (int64_t)(frand(&seed) * 10.0f) % 10;
    if (gtee_npy_encode_f32(x, dims, 2, &x_npy, &x_npy_len, NULL) != 0 ||
        gtee_npy_encode_f32(x, idims, 2, &in_npy, &in_npy_len, NULL) != 0)
        child_exit(83);
    y_npy = labels_npy(y, ITEMS, &y_npy_len);
    prov_upload(p, "big-model.box", model, model_len, 0);
    prov_upload(p, "big-input.box", in_npy, in_npy_len, 1);
    prov_upload(p, "big-x.box", x_npy, x_npy_len, 2);
    prov_upload(p, "big-y.box", y_npy, y_npy_len, 3);
    prov_upload(p, "wide-model.box", imodel, imodel_len, 4);

    /* inference: BIG_ROWS x 1024 outputs, over 1 MiB */
    req[0] = GTEE_RELAY_ML_JOB;
    req[1] = 1;
    memcpy(req + 2, p->pk, 32);
    req[34] = 4;
    req[35] = 1;
    req[36] = 1;
    prov_relay(p, req, 37, &r, &r_len, &res, &res_len);
    out_npy = open_result(p, r, r_len, res, res_len, &out_len);
    if (out_len <= GTEE_MSG_MAX_PAYLOAD ||
        gtee_npy_parse(out_npy, out_len, "output", GTEE_ARRAY_F32, GTEE_NORM_NONE, &out, NULL) != 0)
        child_exit(84);
    if (mlp_run_local(imodel, imodel_len, x, BIG_ROWS, 784, &want, &want_n) != 0)
        child_exit(80);
    if (out.count != want_n || want_n != BIG_ROWS * 1024 || !close_enough(out.f32, want, want_n))
        child_exit(85);
    free(r);
    free(res);

    /* one training epoch on the 7.5 MiB model: the same trained weights, byte for byte */
    {
        uint8_t t[35 + GTEE_JOB_TRAIN_LEN] = { GTEE_RELAY_ML_JOB, 2 };
        float lr = 0.001f;
        uint32_t bits;

        memcpy(t + 2, p->pk, 32);
        t[34] = 0;
        t[35] = 2;
        t[36] = 3;
        t[37] = 1;
        t[38] = 2;
        put_u16be(t + 39, 1);
        put_u32be(t + 41, 32);
        put_u64be(t + 45, 7);
        memcpy(&bits, &lr, 4);
        put_u32be(t + 53, bits);
        prov_relay(p, t, sizeof(t), &r, &r_len, &res, &res_len);
    }
    trained = open_result(p, r, r_len, res, res_len, &trained_len);
    if (mlp_train_local(model, model_len, x, y, ITEMS, &saved, &saved_len) != 0)
        child_exit(81);
    if (trained_len < (4u << 20) || trained_len != saved_len || memcmp(trained, saved, saved_len) != 0)
        child_exit(86);
    child_exit(0);
}

/* ---- the host ---- */

static void host_start(struct world *w, struct gtee_enclave_proc *p, struct gtee_enclave_info *info, int jit,
                       uint64_t memory_limit)
{
    struct gtee_enclave_launch l = {0};
    struct gtee_err err = {0};
    const char *bin = getenv("GTEE_ENCLAVE");

    l.binary = bin ? bin : "gtee-enclave";
    l.tee = "sim";
    l.sim_dir = w->dev;
    l.config = "workload=ml";
    l.stderr_fd = w->errfd;
    l.allow_jit = jit;
    l.memory_limit = memory_limit;
    if (gtee_enclave_start(&l, p, &err) != 0 || gtee_enclave_info(p, info, &err) != 0)
        fail_msg("%s", err.msg);
    p->on_progress = on_progress;
    p->progress_arg = w;
    fprintf(w->logf, "event=enclave_start pid=%d\n", (int)p->pid);
}

static void record(struct world *w, const void *p, size_t n)
{
    assert_int_equal(fwrite(p, 1, n, w->trafficf), n);
}

static int call(struct world *w, struct gtee_enclave_proc *p, uint16_t type, const void *in, size_t len,
                uint8_t **r, size_t *r_len, struct gtee_err *err)
{
    int rc = gtee_enclave_call(p, type, in, len, r, r_len, err);

    record(w, in, len);
    if (rc == 0)
        record(w, *r, *r_len);
    return rc;
}

/* Passes a container file to the enclave, as the node will from its blob store. */
static int host_pass(struct world *w, struct gtee_enclave_proc *p, unsigned slot, const char *path, uint8_t **last,
                     size_t *last_len, struct gtee_err *err)
{
    size_t len = 0;
    uint8_t *c = fake_load(path, &len), begin[9], *piece = malloc(1 + DATA_PIECE), *r = NULL;
    size_t r_len = 0;
    int rc;

    assert_non_null(c);
    assert_non_null(piece);
    begin[0] = (uint8_t)slot;
    put_u64be(begin + 1, len);
    rc = call(w, p, GTEE_MSG_BLOB_BEGIN, begin, sizeof(begin), &r, &r_len, err);
    free(r);
    for (size_t off = 0; rc == 0 && off < len; off += DATA_PIECE) {
        size_t n = len - off < DATA_PIECE ? len - off : DATA_PIECE;

        piece[0] = (uint8_t)slot;
        memcpy(piece + 1, c + off, n);
        r = NULL;
        rc = call(w, p, GTEE_MSG_BLOB_DATA, piece, 1 + n, &r, &r_len, err);
        if (rc == 0 && off + n == len) {
            *last = r;
            *last_len = r_len;
        } else {
            free(r);
        }
    }
    fprintf(w->logf, "event=blob slot=%u bytes=%zu rc=%d\n", slot, len, rc);
    free(c);
    free(piece);
    return rc;
}

/* The result a relay answer's notice names, read from the enclave in pieces (each within
 * one message) into the host's store as result-<its SHA-256>, for the provider to fetch
 * there as a client downloads it from a node's blob store. */
static void host_take_result(struct world *w, struct gtee_enclave_proc *p, const uint8_t *notice)
{
    struct gtee_result_notice n;
    struct gtee_err err = {0};
    uint8_t req[44], *res, *piece = NULL, id[32];
    size_t piece_len = 0;
    char hex[65], path[PATH_MAX + 80];

    assert_int_equal(gtee_result_notice_parse(notice, GTEE_RESULT_NOTICE_LEN, &n, &err), 0);
    res = malloc(n.len);
    assert_non_null(res);
    for (uint64_t off = 0; off < n.len; off += piece_len) {
        uint32_t want = n.len - off < DATA_PIECE ? (uint32_t)(n.len - off) : DATA_PIECE;

        memcpy(req, n.sha256, 32);
        put_u64be(req + 32, off);
        put_u32be(req + 40, want);
        if (call(w, p, GTEE_MSG_RESULT_READ, req, sizeof(req), &piece, &piece_len, &err) != 0)
            fail_msg("RESULT_READ at %llu: %s", (unsigned long long)off, err.msg);
        assert_int_equal(piece_len, want);
        memcpy(res + off, piece, piece_len);
        free(piece);
    }
    assert_int_equal(gtee_sha256(res, n.len, id), 0);
    assert_memory_equal(id, n.sha256, 32);
    /* read past its end: refused, naming the bounds */
    put_u64be(req + 32, n.len);
    put_u32be(req + 40, 1);
    assert_int_equal(call(w, p, GTEE_MSG_RESULT_READ, req, sizeof(req), &piece, &piece_len, &err), GTEE_EFORMAT);
    assert_non_null(strstr(err.msg, "outside the result"));
    /* dropped, the enclave holds it no more */
    assert_int_equal(call(w, p, GTEE_MSG_RESULT_DROP, n.sha256, 32, &piece, &piece_len, &err), 0);
    free(piece);
    put_u64be(req + 32, 0);
    assert_int_equal(call(w, p, GTEE_MSG_RESULT_READ, req, sizeof(req), &piece, &piece_len, &err), GTEE_ENOTFOUND);
    gtee_hex_encode(n.sha256, 32, hex);
    snprintf(path, sizeof(path), "%s/result-%s", w->host, hex);
    assert_int_equal(fake_write(path, res, n.len), 0);
    if (n.len > w->biggest)
        w->biggest = n.len;
    fprintf(w->logf, "event=result bytes=%llu pieces=%llu\n", (unsigned long long)n.len,
            (unsigned long long)((n.len + DATA_PIECE - 1) / DATA_PIECE));
    free(res);
}

/* The ledger the proofs count in (any domain: the enclave signs for the one its host names). */
static const struct gtee_proof_domain proof_domain = { 1337, { 0x5f, 0xbd, 0xb2, 0x31, 0x56, 0x78, 0xaf, 0xec, 0xb3,
                                                               0x67, 0xf0, 0x32, 0xd9, 0x3f, 0x64, 0x2f, 0x64, 0x18,
                                                               0x0a, 0xa3 } };

/* PROOF_START as a node makes it: the ledger's standing and the sealed counter it kept. The
 * answer's consent must be the enclave's, over the evidence it gives. */
static int proof_start(struct gtee_enclave_proc *p, const struct gtee_enclave_info *info, uint64_t last_seq,
                       const uint8_t last_hash[32], const uint8_t *sealed, size_t sealed_len, struct gtee_err *err)
{
    uint8_t *in = calloc(1, 120 + sealed_len), *r = NULL, op[20], h[32], eh[32], pub[65], addr[20], sig[65];
    size_t r_len = 0;
    int rc;

    assert_non_null(in);
    memset(op, 0x0b, sizeof(op));
    put_u64be(in, proof_domain.chain_id);
    memcpy(in + 8, proof_domain.contract, 20);
    memcpy(in + 28, op, 20);
    memset(in + 48, 0x4e, 32);
    put_u64be(in + 80, last_seq);
    if (last_hash)
        memcpy(in + 88, last_hash, 32);
    if (sealed_len)
        memcpy(in + 120, sealed, sealed_len);
    rc = gtee_enclave_call(p, GTEE_MSG_PROOF_START, in, 120 + sealed_len, &r, &r_len, err);
    free(in);
    if (rc != 0)
        return rc;
    assert_true(r_len > 161);
    gtee_keccak256(r + 161, r_len - 161, eh);
    assert_memory_equal(eh, r + 129, 32);
    gtee_proof_consent_hash(&proof_domain, info->enclave_addr, op, eh, h);
    memcpy(sig, r + 64, 65);
    sig[64] -= 27;
    assert_int_equal(gtee_secp256k1_recover(h, sig, pub), 0);
    assert_int_equal(gtee_eth_address(pub, addr), 0);
    assert_memory_equal(addr, info->enclave_addr, 20);
    free(r);
    return 0;
}

/* After a job's result: its Work Proof, kept with the sealed counter as a node keeps them. */
static void host_take_proof(struct world *w, struct gtee_enclave_proc *p, const uint8_t *notice, const uint8_t *box,
                            size_t box_len)
{
    struct gtee_result_notice n;
    struct gtee_err err = {0};
    struct gtee_proof *q = NULL;
    size_t r_len = 0, np = 0, k = w->n_proofs;
    uint8_t *r = NULL;
    uint32_t jlen;

    assert_true(k < 8);
    assert_int_equal(gtee_result_notice_parse(notice, GTEE_RESULT_NOTICE_LEN, &n, &err), 0);
    if (call(w, p, GTEE_MSG_PROOF_TAKE, n.sha256, 32, &r, &r_len, &err) != 0)
        fail_msg("PROOF_TAKE: %s", err.msg);
    assert_true(r_len >= 5);
    if (r[0] != 1)
        fail_msg("the enclave did not sign the job's proof: %.*s", (int)r_len - 1, (const char *)r + 1);
    jlen = (uint32_t)r[1] << 24 | (uint32_t)r[2] << 16 | (uint32_t)r[3] << 8 | r[4];
    assert_true(jlen < r_len - 5);
    if (gtee_proof_parse(r + 5, jlen, &q, &np, &err) != 0)
        fail_msg("the proof: %s", err.msg);
    assert_int_equal(np, 1);
    w->proof[k] = q[0];
    w->sealed_len[k] = r_len - 5 - jlen;
    w->sealed[k] = malloc(w->sealed_len[k]);
    assert_non_null(w->sealed[k]);
    memcpy(w->sealed[k], r + 5 + jlen, w->sealed_len[k]);
    assert_int_equal(gtee_sha256(box, box_len, w->job_id[k]), 0);
    assert_memory_equal(q[0].output_cid, n.sha256, 32);
    w->n_proofs++;
    /* taken once: a second TAKE finds nothing */
    free(r);
    assert_int_equal(call(w, p, GTEE_MSG_PROOF_TAKE, n.sha256, 32, &r, &r_len, &err), GTEE_ENOTFOUND);
    free(q);
}

/* Serves the provider: relays its boxes, passes the containers it names. */
static void host_serve(struct world *w, struct gtee_enclave_proc *p, int net)
{
    for (;;) {
        uint8_t *in = NULL, *r = NULL, *out = NULL;
        size_t in_len = 0, r_len = 0, out_len = 0;
        struct gtee_msg_header h;
        struct gtee_err err = {0};
        char path[PATH_MAX + 80];
        uint32_t host_len;

        if (gtee_msg_recv(net, &in, &in_len, &err) == GTEE_ENOTFOUND)
            return;
        assert_int_equal(gtee_msg_header_parse(in, in_len, &h, NULL), 0);
        if (h.type == GTEE_MSG_RELAY) {
            record(w, in, in_len);
            if (gtee_enclave_call(p, GTEE_MSG_RELAY, in + GTEE_MSG_HEADER_LEN, h.length, &r, &r_len, &err) != 0)
                fail_msg("relay: %s", err.msg);
            record(w, r, r_len);
            host_len = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
            assert_true(host_len <= r_len - 4);
            /* what a node stores: the sealed grant, or the sealed result its notice names */
            if (gtee_result_notice_is(r + 4, host_len)) {
                host_take_result(w, p, r + 4);
                if (w->proofs_on)
                    host_take_proof(w, p, r + 4, in + GTEE_MSG_HEADER_LEN, h.length);
            } else {
                snprintf(path, sizeof(path), "%s/stored-%u", w->host, w->stored++);
                assert_int_equal(fake_write(path, r + 4, host_len), 0);
            }
            assert_int_equal(gtee_msg_encode(GTEE_MSG_RELAY | GTEE_MSG_REPLY, 1, r, r_len, &out, &out_len, NULL), 0);
            fprintf(w->logf, "event=relay request_bytes=%zu reply_bytes=%zu stored_bytes=%u\n", in_len, r_len,
                    host_len);
        } else {
            assert_int_equal(h.type, GTEE_MSG_BLOB_BEGIN);
            snprintf(path, sizeof(path), "%s/%.*s", w->host, (int)h.length - 2, (const char *)in + GTEE_MSG_HEADER_LEN + 2);
            if (host_pass(w, p, in[GTEE_MSG_HEADER_LEN], path, &r, &r_len, &err) != 0)
                fail_msg("blob: %s", err.msg);
            assert_int_equal(gtee_msg_encode(GTEE_MSG_BLOB_BEGIN | GTEE_MSG_REPLY, 2, r, r_len, &out, &out_len, NULL),
                             0);
        }
        assert_int_equal(gtee_msg_send(net, out, out_len, &err), 0);
        free(in);
        free(r);
        free(out);
    }
}

static void world_make(struct world *w)
{
    memset(w, 0, sizeof(*w));
    assert_int_equal(fake_tmpdir(w->dir, sizeof(w->dir), "encml"), 0);
    snprintf(w->dev, sizeof(w->dev), "%s/dev", w->dir);
    snprintf(w->host, sizeof(w->host), "%s/host", w->dir);
    snprintf(w->prov, sizeof(w->prov), "%s/provider", w->dir);
    snprintf(w->traffic, sizeof(w->traffic), "%s/host/traffic.bin", w->dir);
    snprintf(w->log, sizeof(w->log), "%s/host/host.log", w->dir);
    snprintf(w->err, sizeof(w->err), "%s/host/enclave.stderr", w->dir);
    snprintf(w->needles, sizeof(w->needles), "%s/provider/needles", w->dir);
    assert_int_equal(gtee_sim_init(w->dev, NULL), 0);
    assert_int_equal(mkdir(w->host, 0700), 0);
    assert_int_equal(mkdir(w->prov, 0700), 0);
    w->trafficf = fopen(w->traffic, "wb");
    w->logf = fopen(w->log, "w");
    w->errfd = open(w->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_non_null(w->trafficf);
    assert_non_null(w->logf);
    assert_true(w->errfd >= 0);
}

static void world_close(struct world *w)
{
    fclose(w->trafficf);
    fclose(w->logf);
    close(w->errfd);
    w->trafficf = w->logf = NULL;
}

/* Every file of the host's directory (containers, stored grants and results, traffic, log,
 * the enclave's stderr), for one needle; *files counts them. */
static size_t scan_host_files(const struct world *w, const struct needle *n, size_t *files)
{
    char path[PATH_MAX + 300];
    DIR *d = opendir(w->host);
    struct dirent *de;
    size_t hits = 0;

    assert_non_null(d);
    *files = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", w->host, de->d_name);
        hits += needle_scan_file(n, path);
        (*files)++;
    }
    closedir(d);
    return hits;
}

/* Each job's proof verifies as the Enclave ID's, in one hash chain from seq 1, naming the
 * job, its blobs and its work; after a restart the sealed counter the host kept is checked
 * against the ledger's standing: the current one passes, an older one is refused. */
static void check_proofs(struct world *w, const struct gtee_enclave_info *info)
{
    struct gtee_enclave_proc p2;
    struct gtee_enclave_info info2;
    struct gtee_err err = {0};
    uint8_t hashes[8][32], zero[32] = {0}, *r = NULL, id[32];
    size_t n = w->n_proofs, r_len = 0;
    int trained = 0, st = 0;

    assert_true(n >= 2);
    for (size_t i = 0; i < n; i++) {
        const struct gtee_proof *q = &w->proof[i];

        if (gtee_proof_verify(q, hashes[i], &err) != 0)
            fail_msg("proof %zu: %s", i, err.msg);
        assert_memory_equal(q->enclave_id, info->enclave_addr, 20);
        assert_int_equal(q->domain.chain_id, proof_domain.chain_id);
        assert_memory_equal(q->domain.contract, proof_domain.contract, 20);
        assert_int_equal(q->seq, i + 1);
        assert_memory_equal(q->job_id, w->job_id[i], 32);
        assert_true(q->units > 0);
        assert_true(q->end_time >= q->start_time && q->start_time > 1700000000);
        assert_memory_not_equal(q->model_cid, zero, 32);
        assert_memory_not_equal(q->input_cid, zero, 32);
        assert_memory_not_equal(q->evidence_hash, zero, 32);
        if (q->job_kind == GTEE_JOB_TRAINING) {
            trained = 1;
            assert_memory_not_equal(q->receipt_hash, zero, 32);
        } else {
            assert_int_equal(q->job_kind, GTEE_JOB_INFERENCE);
            assert_memory_equal(q->receipt_hash, zero, 32);
        }
    }
    assert_true(trained);
    if (gtee_proof_chain_check(w->proof, (const uint8_t(*)[32])hashes, n, &err) != 0)
        fail_msg("the chain: %s", err.msg);

    /* the restart: same code, same device, so the same Enclave ID */
    host_start(w, &p2, &info2, 0, 0);
    assert_memory_equal(info2.enclave_addr, info->enclave_addr, 20);
    /* before any START, a job's proof is not signed; a TAKE of nothing is refused */
    memset(id, 0x77, sizeof(id));
    assert_int_equal(gtee_enclave_call(&p2, GTEE_MSG_PROOF_TAKE, id, 32, &r, &r_len, &err), GTEE_ENOTFOUND);
    /* the host restores the counter sealed after proof 1 while the ledger holds proof n */
    assert_int_equal(proof_start(&p2, &info2, n, hashes[n - 1], w->sealed[0], w->sealed_len[0], &err), GTEE_ESTATE);
    assert_non_null(strstr(err.msg, "restored old sealed state"));
    /* none at all, likewise (proof 0 is behind proof n) */
    assert_int_equal(proof_start(&p2, &info2, n, hashes[n - 1], NULL, 0, &err), GTEE_ESTATE);
    /* the last one, a seq past the ledger's (not yet submitted), or at it */
    if (proof_start(&p2, &info2, n - 1, hashes[n - 2], w->sealed[n - 1], w->sealed_len[n - 1], &err) != 0)
        fail_msg("the current counter, ahead of the ledger: %s", err.msg);
    if (proof_start(&p2, &info2, n, hashes[n - 1], NULL, 0, &err) != 0)
        fail_msg("the counter in memory at the ledger's: %s", err.msg);
    /* a standing past what this enclave signed is refused whatever the host hands in */
    assert_int_equal(proof_start(&p2, &info2, n + 1, hashes[0], NULL, 0, &err), GTEE_ESTATE);
    /* a sealed counter altered by the host does not unseal */
    w->sealed[n - 1][w->sealed_len[n - 1] / 2] ^= 1;
    assert_int_equal(gtee_enclave_stop(&p2, &st), 0);
    host_start(w, &p2, &info2, 0, 0);
    assert_true(proof_start(&p2, &info2, n, hashes[n - 1], w->sealed[n - 1], w->sealed_len[n - 1], &err) < 0);
    assert_int_equal(gtee_enclave_stop(&p2, &st), 0);
    for (size_t i = 0; i < n; i++)
        free(w->sealed[i]);
}

static void test_inference_and_training_inside_the_enclave(void **state)
{
    struct world w;
    struct prov pv = {0};
    struct gtee_enclave_proc p;
    struct gtee_enclave_info info;
    uint8_t *halves;
    size_t halves_len = 0, scanned = 0;
    int sv[2], st = 0;
    pid_t c;

    (void)state;
    world_make(&w);
    host_start(&w, &p, &info, 0, 0);
    {
        struct gtee_err err = {0};
        uint8_t none[32] = {0};

        /* a job before the host started the counter: its proof would be refused (below, the
         * restart); here the ledger has no proof of this enclave yet */
        if (proof_start(&p, &info, 0, none, NULL, 0, &err) != 0)
            fail_msg("PROOF_START: %s", err.msg);
        w.proofs_on = 1;
    }
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        close(sv[0]);
        close(p.fd);
        pv.net = sv[1];
        pv.w = &w;
        memcpy(pv.channel_pub, info.channel_pub, 65);
        provider(&pv);
    }
    close(sv[1]);
    host_serve(&w, &p, sv[0]);
    close(sv[0]);
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) != 0)
        fail_msg("the provider's check %d failed (see provider())", WEXITSTATUS(st));
    /* the training job reported its progress, the last at its last batch (256 items in 32s) */
    assert_true(w.progress >= 1);
    assert_int_equal(w.last.stage, 1);
    assert_int_equal(w.last.epochs, 1);
    assert_int_equal(w.last.batches, 8);
    assert_int_equal(w.last.batch, 7);
    /* the enclave ran it all under its seccomp list and is still answering */
    {
        struct gtee_enclave_info again;
        struct gtee_err err = {0};

        assert_int_equal(gtee_enclave_info(&p, &again, &err), 0);
    }
    assert_int_equal(gtee_enclave_stop(&p, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    check_proofs(&w, &info);
    world_close(&w);

    /* nothing the host holds has any of the plaintext */
    halves = fake_load(w.needles, &halves_len);
    assert_non_null(halves);
    assert_int_equal(halves_len, N_NEEDLES * 2 * NEEDLE);
    for (size_t i = 0; i < N_NEEDLES; i++) {
        struct needle n = { halves + 2 * i * NEEDLE, halves + (2 * i + 1) * NEEDLE, NEEDLE };

        size_t files = 0;

        if (scan_host_files(&w, &n, &files) != 0)
            fail_msg("needle %zu found in the host's files", i);
        assert_true(files >= 13); /* 4 containers, 4 grants, 2 results, traffic, log, stderr */
        assert_int_equal(needle_scan_memory(&n, &scanned), 0);
        assert_true(scanned > (1u << 20));
    }
    free(halves);
    fake_rmtree(w.dir);
}

static void test_results_over_the_message_limit(void **state)
{
    struct world w;
    struct prov pv = {0};
    struct gtee_enclave_proc p;
    struct gtee_enclave_info info;
    int sv[2], st = 0;
    pid_t c;

    (void)state;
    world_make(&w);
    host_start(&w, &p, &info, 0, 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        close(sv[0]);
        close(p.fd);
        pv.net = sv[1];
        pv.w = &w;
        memcpy(pv.channel_pub, info.channel_pub, 65);
        provider_big(&pv);
    }
    close(sv[1]);
    host_serve(&w, &p, sv[0]);
    close(sv[0]);
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) != 0)
        fail_msg("the provider's check %d failed (see provider_big())", WEXITSTATUS(st));
    /* the host read results of several pieces each, the trained model's the largest */
    assert_true(w.biggest > (4u << 20));
    assert_int_equal(gtee_enclave_stop(&p, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    world_close(&w);
    fake_rmtree(w.dir);
}

/* The memory limit: a container over it is refused at BLOB_BEGIN, naming the sizes, before
 * anything is allocated; the enclave goes on answering. */
static void test_memory_limit_refuses_before_allocating(void **state)
{
    struct world w;
    struct gtee_enclave_proc p;
    struct gtee_enclave_info info;
    struct gtee_err err = {0};
    uint8_t begin[9] = { 0 }, *r = NULL;
    size_t r_len = 0;
    int st = 0, rc;

    (void)state;
    world_make(&w);
    host_start(&w, &p, &info, 0, 65536);
    put_u64be(begin + 1, 1u << 20);
    rc = call(&w, &p, GTEE_MSG_BLOB_BEGIN, begin, sizeof(begin), &r, &r_len, &err);
    if (rc != GTEE_ELIMIT)
        fail_msg("BLOB_BEGIN over the limit: %d (%s)", rc, err.msg);
    assert_non_null(strstr(err.msg, "65536-byte memory limit"));
    put_u64be(begin + 1, 32768);
    assert_int_equal(call(&w, &p, GTEE_MSG_BLOB_BEGIN, begin, sizeof(begin), &r, &r_len, &err), 0);
    free(r);
    assert_int_equal(gtee_enclave_info(&p, &info, &err), 0);
    assert_int_equal(gtee_enclave_stop(&p, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    world_close(&w);
    fake_rmtree(w.dir);
}

/* ---- refusals: the test process is host and clients at once (no canary here) ---- */

struct party {
    uint8_t sk[32], pk[32];
};

struct box {
    struct buf c;
    uint8_t id[32];
    struct gtee_box_key key;
};

static void seal_file(const char *path, struct box *b)
{
    size_t len = 0;
    uint8_t *pt = fake_load(path, &len);
    int in = memfd_create("pt", MFD_CLOEXEC), out = memfd_create("ct", MFD_CLOEXEC);
    uint64_t size = 0;
    off_t end;

    assert_non_null(pt);
    assert_int_equal(gtee_box_key_generate(&b->key), 0);
    assert_int_equal(write(in, pt, len), (ssize_t)len);
    assert_int_equal(lseek(in, 0, SEEK_SET), 0);
    assert_int_equal(gtee_box_seal(&b->key, NULL, in, out, NULL, NULL), 0);
    end = lseek(out, 0, SEEK_END);
    b->c.len = (size_t)end;
    b->c.p = malloc(b->c.len);
    assert_int_equal(pread(out, b->c.p, b->c.len, 0), (ssize_t)b->c.len);
    assert_int_equal(lseek(out, 0, SEEK_SET), 0);
    assert_int_equal(gtee_box_content_id(out, b->id, &size, NULL), 0);
    close(in);
    close(out);
    free(pt);
}

/* A relay exchange in-process; returns the enclave's answer code, the host part in *stored. */
static int relay(struct world *w, struct gtee_enclave_proc *p, const struct gtee_enclave_info *info,
                 const uint8_t *req, size_t len, struct buf *stored, struct gtee_err *err)
{
    uint8_t resp_key[32], *box = NULL, *r = NULL;
    size_t box_len = 0, r_len = 0;
    int rc;

    assert_int_equal(gtee_relay_seal_request(info->channel_pub, req, len, resp_key, &box, &box_len, NULL), 0);
    rc = call(w, p, GTEE_MSG_RELAY, box, box_len, &r, &r_len, err);
    if (rc == 0 && stored) {
        uint32_t hl = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];

        stored->p = malloc(hl + 1);
        memcpy(stored->p, r + 4, hl);
        stored->len = hl;
    }
    free(box);
    free(r);
    return rc;
}

static int grant(struct world *w, struct gtee_enclave_proc *p, const struct gtee_enclave_info *info,
                 const struct box *b, const uint8_t id[32], const struct party *owner, uint8_t kinds, uint64_t until,
                 struct buf *stored)
{
    uint8_t req[1 + 107];
    struct gtee_err err = {0};

    memset(req, 0, sizeof(req));
    req[0] = GTEE_RELAY_GRANT;
    memcpy(req + 1, id, 32);
    memcpy(req + 33, b->key.bytes, 32);
    memcpy(req + 65, owner->pk, 32);
    req[97] = kinds;
    put_u64be(req + 99, until);
    return relay(w, p, info, req, sizeof(req), stored, &err);
}

static int job_infer(struct world *w, struct gtee_enclave_proc *p, const struct gtee_enclave_info *info,
                     const struct party *requester, uint8_t kind, struct gtee_err *err)
{
    uint8_t req[35 + GTEE_JOB_TRAIN_LEN] = { GTEE_RELAY_ML_JOB, 0 };
    float lr = 0.01f;
    uint32_t bits;

    req[1] = kind;
    memcpy(req + 2, requester->pk, 32);
    req[34] = 0; /* model: blob 0 */
    req[35] = 1; /* input, or features: blob 1 */
    req[36] = 1; /* infer: threads; train: labels, blob 1 */
    if (kind == 1)
        return relay(w, p, info, req, 37, NULL, err);
    req[37] = 1;
    req[38] = 1;
    put_u16be(req + 39, 1);
    put_u32be(req + 41, 8);
    memcpy(&bits, &lr, 4);
    put_u32be(req + 53, bits);
    return relay(w, p, info, req, sizeof(req), NULL, err);
}

static void test_jobs_without_the_right_grant_are_refused(void **state)
{
    struct world w;
    struct gtee_enclave_proc p;
    struct gtee_enclave_info info;
    struct gtee_err err = {0};
    struct party a, b;
    struct box model, input;
    struct buf sealed_grant = {0}, unused = {0};
    uint8_t *last = NULL, *r = NULL, other[32];
    size_t last_len = 0, r_len = 0;
    char path[PATH_MAX + 64];
    int st = 0;

    (void)state;
    world_make(&w);
    assert_int_equal(gtee_x25519_keypair(a.sk, a.pk), 0);
    assert_int_equal(gtee_x25519_keypair(b.sk, b.pk), 0);
    snprintf(path, sizeof(path), "%s/tests/ml/models/mlp.onnx", getenv("GTEE_SOURCE_DIR"));
    seal_file(path, &model);
    snprintf(path, sizeof(path), "%s/tests/ml/models/mlp.input.npy", getenv("GTEE_SOURCE_DIR"));
    seal_file(path, &input);
    snprintf(path, sizeof(path), "%s/model.box", w.host);
    assert_int_equal(fake_write(path, model.c.p, model.c.len), 0);
    snprintf(path, sizeof(path), "%s/input.box", w.host);
    assert_int_equal(fake_write(path, input.c.p, input.c.len), 0);
    host_start(&w, &p, &info, 0, 0);

    /* a container whose key no grant holds */
    snprintf(path, sizeof(path), "%s/model.box", w.host);
    assert_int_equal(host_pass(&w, &p, 0, path, &last, &last_len, &err), GTEE_EPOLICY);
    assert_non_null(strstr(err.msg, "no grant holds the key"));
    /* its key granted, but for another content id: the host swapped the container */
    memset(other, 0x5a, sizeof(other));
    assert_int_equal(grant(&w, &p, &info, &model, other, &a, GTEE_GRANT_INFER, 0, &unused), 0);
    free(unused.p);
    assert_int_equal(host_pass(&w, &p, 0, path, &last, &last_len, &err), GTEE_EPOLICY);
    assert_non_null(strstr(err.msg, "is in no grant"));
    /* a tampered container */
    model.c.p[96 + 100] ^= 1;
    snprintf(path, sizeof(path), "%s/tampered.box", w.host);
    assert_int_equal(fake_write(path, model.c.p, model.c.len), 0);
    model.c.p[96 + 100] ^= 1;
    assert_int_equal(grant(&w, &p, &info, &model, model.id, &a, GTEE_GRANT_INFER, 0, &sealed_grant), 0);
    assert_int_equal(host_pass(&w, &p, 0, path, &last, &last_len, &err), GTEE_EAUTH);
    assert_non_null(strstr(err.msg, "chunk 0"));

    /* the model and the input, granted to their owner a, for inference only */
    assert_int_equal(grant(&w, &p, &info, &input, input.id, &a, GTEE_GRANT_INFER, 0, &unused), 0);
    free(unused.p);
    snprintf(path, sizeof(path), "%s/model.box", w.host);
    assert_int_equal(host_pass(&w, &p, 0, path, &last, &last_len, &err), 0);
    free(last);
    snprintf(path, sizeof(path), "%s/input.box", w.host);
    assert_int_equal(host_pass(&w, &p, 1, path, &last, &last_len, &err), 0);
    free(last);
    assert_int_equal(job_infer(&w, &p, &info, &a, 1, &err), 0);
    /* another requester: not named by the grants */
    assert_int_equal(job_infer(&w, &p, &info, &b, 1, &err), GTEE_EPOLICY);
    assert_non_null(strstr(err.msg, "names this requester"));
    /* another kind */
    assert_int_equal(job_infer(&w, &p, &info, &a, 2, &err), GTEE_EPOLICY);
    assert_non_null(strstr(err.msg, "allows training"));
    /* the model's grant replaced by an expired one */
    assert_int_equal(grant(&w, &p, &info, &model, model.id, &a, GTEE_GRANT_INFER, 1, &unused), 0);
    free(unused.p);
    assert_int_equal(job_infer(&w, &p, &info, &a, 1, &err), GTEE_EPOLICY);
    assert_non_null(strstr(err.msg, "has expired"));
    /* a slot with nothing opened */
    assert_int_equal(call(&w, &p, GTEE_MSG_BLOB_DROP, "\x01", 1, &r, &r_len, &err), 0);
    free(r);
    assert_int_equal(job_infer(&w, &p, &info, &a, 1, &err), GTEE_EPOLICY); /* the model's grant still expired */
    assert_int_equal(gtee_enclave_stop(&p, &st), 0);

    /* restart: the sealed grant the host stored is restored, and the model opens again */
    host_start(&w, &p, &info, 0, 0);
    snprintf(path, sizeof(path), "%s/model.box", w.host);
    assert_int_equal(host_pass(&w, &p, 0, path, &last, &last_len, &err), GTEE_EPOLICY);
    assert_int_equal(call(&w, &p, GTEE_MSG_GRANT_RESTORE, sealed_grant.p, sealed_grant.len, &r, &r_len, &err), 0);
    /* the grants held u16, the place it took u16 (the first), expired u8 (no: until 0) */
    assert_int_equal(r_len, 5);
    assert_memory_equal(r, "\x00\x01\x00\x00\x00", 5);
    free(r);
    assert_int_equal(host_pass(&w, &p, 0, path, &last, &last_len, &err), 0);
    free(last);
    /* a stored grant altered by the host is refused */
    sealed_grant.p[sealed_grant.len / 2] ^= 1;
    assert_int_equal(call(&w, &p, GTEE_MSG_GRANT_RESTORE, sealed_grant.p, sealed_grant.len, &r, &r_len, &err),
                     GTEE_EAUTH);
    assert_int_equal(gtee_enclave_stop(&p, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    free(sealed_grant.p);
    free(model.c.p);
    free(input.c.p);
    world_close(&w);
    fake_rmtree(w.dir);
}

static void take_receipts(struct gtee_enclave_proc *p)
{
    struct gtee_err err = {0};
    uint8_t *r = NULL;
    size_t r_len = 0;

    if (gtee_enclave_call(p, GTEE_MSG_RELEASE_TAKE, NULL, 0, &r, &r_len, &err) != 0)
        fail_msg("RELEASE_TAKE: %s", err.msg);
    free(r);
}

/* The enclave's grants fill up: every place taken, a new grant takes the place of an expired
 * one; with none expired it is refused, naming the limit, and the grants held still work. */
static void test_grants_fill_and_expired_ones_make_room(void **state)
{
    struct world w;
    struct gtee_enclave_proc p;
    struct gtee_enclave_info info;
    struct gtee_err err = {0};
    struct party a;
    struct box model;
    uint8_t id[32], req[1 + 107];
    char path[PATH_MAX + 64];
    int st = 0;

    (void)state;
    world_make(&w);
    assert_int_equal(gtee_x25519_keypair(a.sk, a.pk), 0);
    snprintf(path, sizeof(path), "%s/tests/ml/models/mlp.onnx", getenv("GTEE_SOURCE_DIR"));
    seal_file(path, &model);
    host_start(&w, &p, &info, 0, 0);
    memset(id, 0, sizeof(id));
    if (proof_start(&p, &info, 0, id, NULL, 0, &err) != 0) /* the host takes key-release receipts after it */
        fail_msg("PROOF_START: %s", err.msg);
    /* the first grant expired long ago, then as many live ones as there are places, the
     * receipts taken as a node takes them (at most GTEE_ENCLAVE_RELEASES wait) */
    assert_int_equal(grant(&w, &p, &info, &model, id, &a, GTEE_GRANT_INFER, 1, NULL), 0);
    for (uint32_t i = 1; i < GTEE_ENCLAVE_GRANTS; i++) {
        put_u32be(id, i);
        assert_int_equal(grant(&w, &p, &info, &model, id, &a, GTEE_GRANT_INFER, 0, NULL), 0);
        if (i % (GTEE_ENCLAVE_RELEASES / 2) == 0 || i == GTEE_ENCLAVE_GRANTS - 1)
            take_receipts(&p);
    }
    /* full: this one takes the expired grant's place */
    put_u32be(id, GTEE_ENCLAVE_GRANTS);
    assert_int_equal(grant(&w, &p, &info, &model, id, &a, GTEE_GRANT_INFER, 0, NULL), 0);
    take_receipts(&p);
    /* full, none expired: refused */
    memset(req, 0, sizeof(req));
    req[0] = GTEE_RELAY_GRANT;
    put_u32be(req + 1, GTEE_ENCLAVE_GRANTS + 1);
    memcpy(req + 33, model.key.bytes, 32);
    memcpy(req + 65, a.pk, 32);
    req[97] = GTEE_GRANT_INFER;
    assert_int_not_equal(relay(&w, &p, &info, req, sizeof(req), NULL, &err), 0);
    assert_non_null(strstr(err.msg, "1024 grants held already, none of them expired"));
    /* a grant held is still replaced in its place; a new one is not taken */
    put_u32be(id, 7);
    assert_int_equal(grant(&w, &p, &info, &model, id, &a, GTEE_GRANT_TRAIN, 0, NULL), 0);
    assert_int_equal(grant(&w, &p, &info, &model, model.id, &a, GTEE_GRANT_INFER, 0, NULL), GTEE_ELIMIT);
    assert_int_equal(gtee_enclave_stop(&p, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    free(model.c.p);
    world_close(&w);
    fake_rmtree(w.dir);
}

/* ---- requests that overlap a running job (docs/tee.md §2) ---- */

struct bg {
    struct gtee_enclave_mux *m;
    uint8_t *box;
    size_t box_len;
    uint8_t resp_key[32];
    int rc;
    struct gtee_err err;
    uint8_t *r;
    size_t r_len;
    _Atomic int progress, done;
};

static void bg_progress(void *arg, const struct gtee_enclave_progress *pr)
{
    struct bg *b = arg;

    (void)pr;
    b->progress++;
}

static void *bg_call(void *arg)
{
    struct bg *b = arg;

    b->rc = gtee_enclave_mux_call(b->m, GTEE_MSG_RELAY, b->box, b->box_len, &b->r, &b->r_len, bg_progress, b,
                                  &b->err);
    b->done = 1;
    return NULL;
}

/* A training job of requester on blobs 0, 1, 2, sealed to the enclave into b. */
static void train_box(const struct gtee_enclave_info *info, const struct party *requester, uint16_t epochs,
                      struct bg *b)
{
    struct gtee_job job = { .kind = GTEE_JOB_TRAIN, .model = 0, .input = 1, .labels = 2, .threads = 1,
                            .optimizer = 1, .epochs = epochs, .batch = 1, .seed = 9, .lr = 0.001f };
    uint8_t pt[1 + GTEE_JOB_MAX_LEN];
    size_t n = 0;

    memcpy(job.requester, requester->pk, 32);
    pt[0] = GTEE_RELAY_ML_JOB;
    assert_int_equal(gtee_job_encode(&job, pt + 1, &n, NULL), 0);
    assert_int_equal(gtee_relay_seal_request(info->channel_pub, pt, 1 + n, b->resp_key, &b->box, &b->box_len, NULL),
                     0);
}

static void mux_grant(struct gtee_enclave_mux *m, const struct gtee_enclave_info *info, const struct box *b,
                      const struct party *owner, const struct party *to, uint8_t flags)
{
    struct gtee_grant g = { .kinds = GTEE_GRANT_INFER | GTEE_GRANT_TRAIN, .flags = flags, .n_to = 1 };
    uint8_t req[1 + GTEE_GRANT_MAX_LEN], resp_key[32], *box = NULL, *r = NULL;
    size_t n = 0, box_len = 0, r_len = 0;
    struct gtee_err err = { 0 };

    memcpy(g.content_id, b->id, 32);
    memcpy(g.key, b->key.bytes, 32);
    memcpy(g.owner, owner->pk, 32);
    memcpy(g.to[0], to->pk, 32);
    req[0] = GTEE_RELAY_GRANT;
    assert_int_equal(gtee_grant_encode(&g, req + 1, &n, NULL), 0);
    assert_int_equal(gtee_relay_seal_request(info->channel_pub, req, 1 + n, resp_key, &box, &box_len, NULL), 0);
    if (gtee_enclave_mux_call(m, GTEE_MSG_RELAY, box, box_len, &r, &r_len, NULL, NULL, &err) != 0)
        fail_msg("grant: %s", err.msg);
    free(box);
    free(r);
    gtee_wipe(&g, sizeof(g));
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wait_progress(struct bg *b)
{
    for (int i = 0; i < 6000 && !b->progress && !b->done; i++)
        usleep(10000);
    if (!b->progress)
        fail_msg("the job reported no progress: %s", b->done ? b->err.msg : "timed out");
}

/* A job runs on the enclave's job thread while its main loop answers the rest: a second job
 * is refused as busy, evidence is given, the running job's blobs cannot be dropped, and a
 * GRANT that replaces the grant the job uses is taken without changing the running job's
 * terms (its trained weights still go to the model's owner). Once it ended, the next job
 * runs. The enclave killed under a job and the host's waiting request: it fails at once,
 * and so does every later request. */
static void test_requests_overlap_a_running_job(void **state)
{
    struct world w;
    struct gtee_enclave_proc p;
    struct gtee_enclave_info info;
    struct gtee_enclave_mux *m = NULL;
    struct gtee_err err = { 0 };
    struct party a, b;
    struct box model, features, labels;
    struct bg job = { 0 }, second = { 0 }, third = { 0 };
    struct gtee_job_record rec = { 0 };
    uint8_t *last = NULL, *r = NULL, *opened = NULL, nonce[32] = { 1 }, *x_npy = NULL, *y_npy;
    size_t r_len = 0, opened_len = 0, x_len = 0, y_len = 0;
    float *x = malloc(64 * 784 * sizeof(float));
    int64_t y[64], t0;
    size_t dims[4] = { 64, 1, 28, 28 };
    uint64_t seed = 0xfeed;
    char path[PATH_MAX + 64];
    pthread_t th;
    int st = 0;

    (void)state;
    world_make(&w);
    assert_int_equal(gtee_x25519_keypair(a.sk, a.pk), 0);
    assert_int_equal(gtee_x25519_keypair(b.sk, b.pk), 0);
    assert_non_null(x);
    for (size_t i = 0; i < 64 * 784; i++)
        x[i] = frand(&seed);
    for (size_t i = 0; i < 64; i++)
        y[i] = (int64_t)(i % 10);
    assert_int_equal(gtee_npy_encode_f32(x, dims, 4, &x_npy, &x_len, NULL), 0);
    y_npy = labels_npy(y, 64, &y_len);
    snprintf(path, sizeof(path), "%s/x.npy", w.prov);
    assert_int_equal(fake_write(path, x_npy, x_len), 0);
    seal_file(path, &features);
    snprintf(path, sizeof(path), "%s/y.npy", w.prov);
    assert_int_equal(fake_write(path, y_npy, y_len), 0);
    seal_file(path, &labels);
    snprintf(path, sizeof(path), "%s/tests/ml/models/mlp.onnx", getenv("GTEE_SOURCE_DIR"));
    seal_file(path, &model);
    host_start(&w, &p, &info, 0, 0);
    /* a's blobs, granted to b as well; the model's trained weights stay a's */
    assert_int_equal(gtee_enclave_mux_start(&p, &m, &err), 0);
    mux_grant(m, &info, &model, &a, &b, 0);
    mux_grant(m, &info, &features, &a, &b, 0);
    mux_grant(m, &info, &labels, &a, &b, 0);
    {
        const struct box *bx[3] = { &model, &features, &labels };

        for (unsigned slot = 0; slot < 3; slot++) {
            uint8_t begin[9];

            begin[0] = (uint8_t)slot;
            put_u64be(begin + 1, bx[slot]->c.len);
            assert_int_equal(gtee_enclave_mux_call(m, GTEE_MSG_BLOB_BEGIN, begin, 9, &r, &r_len, NULL, NULL, &err), 0);
            free(r);
            last = malloc(1 + bx[slot]->c.len);
            last[0] = (uint8_t)slot;
            memcpy(last + 1, bx[slot]->c.p, bx[slot]->c.len);
            if (gtee_enclave_mux_call(m, GTEE_MSG_BLOB_DATA, last, 1 + bx[slot]->c.len, &r, &r_len, NULL, NULL, &err))
                fail_msg("blob %u: %s", slot, err.msg);
            free(r);
            free(last);
        }
    }

    /* a training job of a good while, on the job thread */
    job.m = m;
    train_box(&info, &b, 120, &job);
    assert_int_equal(pthread_create(&th, NULL, bg_call, &job), 0);
    wait_progress(&job);
    /* a second job while it runs: busy */
    second.m = m;
    train_box(&info, &b, 1, &second);
    assert_int_equal(gtee_enclave_mux_call(m, GTEE_MSG_RELAY, second.box, second.box_len, &r, &r_len, NULL, NULL, &err),
                     GTEE_ESTATE);
    assert_non_null(strstr(err.msg, "busy"));
    /* evidence, while it runs */
    assert_int_equal(gtee_enclave_mux_call(m, GTEE_MSG_EVIDENCE, nonce, 32, &r, &r_len, NULL, NULL, &err), 0);
    free(r);
    /* its blobs stay */
    assert_int_equal(gtee_enclave_mux_call(m, GTEE_MSG_BLOB_DROP, "\x00", 1, &r, &r_len, NULL, NULL, &err), GTEE_ESTATE);
    assert_non_null(strstr(err.msg, "in use by the running job"));
    /* the model's grant replaced: weights would now go to the requester */
    mux_grant(m, &info, &model, &a, &b, GTEE_GRANT_WEIGHTS_TO_REQUESTER);
    assert_false(job.done); /* all of it while the job ran */
    pthread_join(th, NULL);
    if (job.rc != 0)
        fail_msg("the job: %s", job.err.msg);
    {
        uint32_t hl = (uint32_t)job.r[0] << 24 | (uint32_t)job.r[1] << 16 | (uint32_t)job.r[2] << 8 | job.r[3];

        assert_true(4 + (size_t)hl < job.r_len);
        assert_int_equal(gtee_relay_open_response(job.resp_key, job.r + 4 + hl, job.r_len - 4 - hl, &opened,
                                                  &opened_len, NULL),
                         0);
    }
    assert_int_equal(gtee_job_record_parse(opened, opened_len, &rec, NULL), 0);
    assert_int_equal(rec.recipient, 2); /* the terms the job started with */
    assert_int_equal(rec.n_epochs, 120);
    gtee_job_record_free(&rec);
    free(opened);
    /* the job has ended: the next one runs (to the requester now, by the new grant) */
    if (gtee_enclave_mux_call(m, GTEE_MSG_RELAY, second.box, second.box_len, &r, &r_len, NULL, NULL, &err) != 0)
        fail_msg("the next job: %s", err.msg);
    free(r);

    /* the enclave dies under a running job: its request fails at once, and so do later ones */
    third.m = m;
    train_box(&info, &b, 1000, &third);
    assert_int_equal(pthread_create(&th, NULL, bg_call, &third), 0);
    wait_progress(&third);
    t0 = mono_ms();
    assert_int_equal(kill(p.pid, SIGKILL), 0);
    pthread_join(th, NULL);
    assert_int_equal(third.rc, GTEE_EIO);
    assert_true(mono_ms() - t0 < 10000); /* not the 60 s request timeout */
    assert_int_equal(gtee_enclave_mux_call(m, GTEE_MSG_EVIDENCE, nonce, 32, &r, &r_len, NULL, NULL, &err), GTEE_EIO);
    gtee_enclave_mux_free(m);
    assert_int_equal(gtee_enclave_stop(&p, &st), 0);
    assert_true(WIFSIGNALED(st));
    free(job.box);
    free(job.r);
    free(second.box);
    free(third.box);
    free(x);
    free(x_npy);
    free(y_npy);
    free(model.c.p);
    free(features.c.p);
    free(labels.c.p);
    world_close(&w);
    fake_rmtree(w.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inference_and_training_inside_the_enclave),
        cmocka_unit_test(test_results_over_the_message_limit),
        cmocka_unit_test(test_memory_limit_refuses_before_allocating),
        cmocka_unit_test(test_jobs_without_the_right_grant_are_refused),
        cmocka_unit_test(test_grants_fill_and_expired_ones_make_room),
        cmocka_unit_test(test_requests_overlap_a_running_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
