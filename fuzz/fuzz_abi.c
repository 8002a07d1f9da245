/* libFuzzer target: the ABI readers of what a chain returns (src/chain/abi.c): words,
 * integers, addresses, dynamic strings at every offset word, and revert reasons; and the
 * decoder of a proof submission's transaction input that a verifier reads back from the
 * chain (src/chain/glacier.c). Seeds: an Error(string) revert, a Panic(uint256), a
 * contract's policy() answer, a submitProofs input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/abi.h"
#include "chain/glacier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char reason[256], *s;
    uint8_t w[32], addr[20];
    uint64_t v;
    struct gtee_proof_domain d = { .chain_id = 1 };
    struct gtee_proof *p = NULL;
    size_t n = 0;

    abi_revert_reason(data, size, reason, sizeof(reason));
    if (strlen(reason) >= sizeof(reason))
        abort();
    for (size_t i = 0; i < 8; i++) {
        (void)abi_word(data, size, i, w, NULL);
        (void)abi_word_u64(data, size, i, &v, NULL);
        (void)abi_word_address(data, size, i, addr, NULL);
        s = NULL;
        if (abi_string(data, size, size >= 4 ? 4 : 0, i, &s, NULL) == 0 && !s)
            abort();
        free(s);
    }
    if (glacier_submit_decode(data, size, &d, 64, &p, &n, NULL) == 0) {
        if (!p || n < 1 || n > 64)
            abort();
        for (size_t i = 0; i < n; i++)
            if (p[i].domain.chain_id != 1)
                abort();
    } else if (p || n) {
        abort();
    }
    free(p);
    return 0;
}
