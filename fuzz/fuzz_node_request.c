/* libFuzzer target: the node's parsers of request bytes (src/node/reqparse.c: Range,
 * Upload-Offset, ids, the upload body's and the job body's JSON) and of its data directory's files (node.conf,
 * the operator key). The first byte picks the parser. Seeds: fuzz/corpus/fuzz_node_request. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/config.h"
#include "node/node.h"
#include "node/reqparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gtee_err err;
    char *s;
    uint64_t first, len, v;

    if (size < 1 || size > 64 * 1024)
        return 0;
    s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 7) {
    case 0: {
        /* The resource size is the input's length times a factor, so both sides of the
         * bounds are reached. */
        uint64_t rsize = (uint64_t)(size - 1) * (data[0] / 6 + 1);

        if (gtee_node_parse_range(s, rsize, &first, &len, &err) == 0)
            if (len == 0 || first >= rsize || len > rsize - first)
                abort();
        break;
    }
    case 1:
        (void)gtee_node_parse_offset(s, &v, &err);
        break;
    case 2:
        if (gtee_node_parse_hexid(s, 64, "id", &err) == 0 && strlen(s) != 64)
            abort();
        break;
    case 3: {
        char cid[65];

        /* content_id is optional: none, or 64 lowercase hex digits */
        if (gtee_node_parse_upload_req(s, size - 1, 1u << 20, &v, cid, &err) == 0)
            if (v == 0 || v > (1u << 20) || (strlen(cid) != 0 && strlen(cid) != 64) ||
                strspn(cid, "0123456789abcdef") != strlen(cid))
                abort();
        break;
    }
    case 4: {
        struct gtee_node_config c;
        char *text = NULL;

        /* Whatever parses renders to text that parses to the same configuration. */
        if (gtee_node_config_parse("node.conf", s, size - 1, &c, &err) == 0 &&
            gtee_node_config_render(&c, &text, &err) == 0) {
            struct gtee_node_config d;

            if (gtee_node_config_parse("node.conf", text, strlen(text), &d, &err) != 0 || memcmp(&c, &d, sizeof(c)))
                abort();
        }
        free(text);
        break;
    }
    case 6: {
        struct gtee_node_job_req j;

        if (gtee_node_parse_job_req(s, size - 1, &j, &err) == 0) {
            if (strlen(j.model) != 64 || strlen(j.input) != 64 || (j.labels[0] && strlen(j.labels) != 64) ||
                j.box_len < GTEE_NODE_JOB_BOX_MIN || j.box_len > GTEE_NODE_JOB_BOX_MAX)
                abort();
            free(j.box);
        }
        break;
    }
    default: {
        uint8_t priv[32];

        (void)gtee_node_opkey_parse("operator.key", (const uint8_t *)s, size - 1, priv, &err);
        break;
    }
    }
    free(s);
    return 0;
}
