/* libFuzzer target: the key-file parser of the `gtee` command on arbitrary bytes. The CLI
 * is not part of libgtee, so its one source file is compiled in here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/keyfile.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gtee_box_key key;
    struct gtee_err err = { 0 };
    int rc;

    memset(&key, 0xa5, sizeof(key));
    rc = cli_keyfile_parse("fuzz", data, size, &key, &err);
    if (rc != 0 && rc != GTEE_EFORMAT)
        abort();
    if (rc == 0 && size < sizeof(CLI_BOX_KEY_PREFIX) - 1 + 2 * GTEE_BOX_KEY_LEN)
        abort(); /* accepted fewer bytes than a whole key line */
    if (rc < 0) {
        /* a refused key must not survive in the output struct */
        for (size_t i = 0; i < sizeof(key.bytes); i++)
            if (key.bytes[i])
                abort();
        if (!err.msg[0])
            abort();
    }
    gtee_box_key_wipe(&key);
    return 0;
}
