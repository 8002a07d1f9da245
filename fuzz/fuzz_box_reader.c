/* libFuzzer target: the sealed container reader on arbitrary bytes, under a fixed key
 * (seeds in fuzz/corpus/fuzz_box_reader were sealed with it: bytes 0x00..0x1f). */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gtee/box.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int devnull = -1;
    struct gtee_box_key key;
    struct gtee_box_header hdr;
    struct gtee_err err;
    int fd;

    for (int i = 0; i < GTEE_BOX_KEY_LEN; i++)
        key.bytes[i] = (uint8_t)i;
    (void)gtee_box_header_parse(data, size, &hdr, &err);
    if (devnull < 0)
        devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    if (size && write(fd, data, size) != (ssize_t)size)
        abort();
    lseek(fd, 0, SEEK_SET);
    (void)gtee_box_open(&key, NULL, fd, devnull, NULL, &err);
    close(fd);
    return 0;
}
