/* libFuzzer target: the JSON-RPC answer parser (src/chain/rpc.c) and the readers of what it
 * returns: quantities of 64 and 256 bits, data, and the error path with its revert reason.
 * and the log objects of eth_getLogs. Seeds: a result, a revert with Error(string) data, a
 * receipt, a list of logs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/rpc.h"
#include "gtee/evm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gtee_err err = {0};
    json_t *res = NULL;
    uint8_t w[32], *d = NULL;
    uint64_t v;
    size_t n;

    if (rpc_parse_response((const char *)data, size, 1, "fuzz", &res, &err) != 0) {
        if (res || !err.msg[0])
            abort(); /* a failure leaves no result and says why */
        return 0;
    }
    (void)rpc_quantity(res, &v, NULL);
    (void)rpc_quantity256(res, w, NULL);
    if (rpc_data(res, 1u << 16, &d, &n, NULL) == 0)
        free(d);
    (void)rpc_quantity(json_object_get(res, "status"), &v, NULL);
    for (size_t i = 0; json_is_array(res) && i < json_array_size(res) && i < 16; i++) {
        struct gtee_evm_log l;

        if (rpc_log_parse(json_array_get(res, i), &l, NULL) == 0) {
            if (l.n_topics < 1 || l.n_topics > 4 || (l.len && !l.data))
                abort();
            free(l.data);
        }
    }
    json_decref(res);
    return 0;
}
