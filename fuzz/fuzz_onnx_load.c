/* libFuzzer target: the ONNX loader on arbitrary bytes (protobuf decoding, size checks,
 * graph checks, shape inference), and for models it accepts, one run on zero inputs with
 * symbolic dimensions set to 2. Small limits keep each input fast; a refusal must carry a
 * message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gtee/ml.h"

#define RUN_MAX_ELEMS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_once(const struct gtee_ml_model *m)
{
    struct gtee_ml_tensor in[8], out[8];
    struct gtee_ml_model_info info;
    struct gtee_ml_session *s = NULL;
    struct gtee_err err = { 0 };
    struct gtee_ml_io io;
    void *buf[8] = { NULL };
    size_t n_in = 0;

    gtee_ml_model_info(m, &info);
    if (info.n_inputs > 8 || info.n_outputs > 8)
        return;
    for (; n_in < info.n_inputs; n_in++) {
        uint64_t n;
        if (gtee_ml_model_io(m, 0, n_in, &io) < 0)
            abort();
        in[n_in] = io.type;
        for (int d = 0; d < in[n_in].rank; d++)
            if (in[n_in].dim[d] < 0)
                in[n_in].dim[d] = 2;
        if (gtee_ml_tensor_elems(&in[n_in], RUN_MAX_ELEMS, &n) < 0)
            goto out;
        buf[n_in] = calloc(n + 1, 8);
        if (!buf[n_in])
            goto out;
        in[n_in].data = buf[n_in];
    }
    if (gtee_ml_session_new(m, NULL, &s, &err) < 0)
        abort();
    if (gtee_ml_run(s, in, n_in, out, info.n_outputs, &err) < 0 && !err.msg[0])
        abort();
out:
    gtee_ml_session_free(s);
    for (size_t i = 0; i < 8; i++)
        free(buf[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct gtee_ml_limits lim = { 1u << 20, 1u << 16, 1u << 18, 256 };
    struct gtee_ml_model *m = NULL;
    struct gtee_err err = { 0 };
    int rc = gtee_ml_model_load(data, size, &lim, &m, &err);

    if (rc < 0) {
        if (m || !err.msg[0])
            abort();
        return 0;
    }
    run_once(m);
    gtee_ml_model_free(m);
    return 0;
}
