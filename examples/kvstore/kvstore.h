/* The confidential key-value store's wire protocol, shared by its enclave and its client.
 * Requests travel inside the attested channel (gtee/sdk.h, gtee/sdk_client.h):
 *   PUT  key_len u16 (big-endian) || key || value  -> empty
 *   GET  key                                       -> value  (error GTEE_ENOTFOUND if absent)
 *   DEL  key                                       -> empty  (error GTEE_ENOTFOUND if absent) */
#ifndef KVSTORE_H
#define KVSTORE_H

enum kv_op {
    KV_PUT = 0,
    KV_GET = 1,
    KV_DEL = 2,
};

#define KV_KEY_MAX 256
#define KV_VALUE_MAX (64 * 1024)
#define KV_ENTRIES_MAX 1024

#endif
