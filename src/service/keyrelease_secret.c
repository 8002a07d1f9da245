/* The key-release service's master secret: 32 random bytes in a file only its owner may
 * read (written 0600 through the output helper, never replacing a file; a
 * readable-by-others file is refused on load). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/file.h"
#include "gtee/keyrelease.h"
#include "gtee/keyrelease_service.h"

int gtee_kr_secret_init(const char *path, struct gtee_err *err)
{
    uint8_t s[GTEE_KR_SECRET_LEN];
    int rc = GTEE_ECRYPTO;

    ENSURE(gtee_random(s, sizeof(s)) == 0, err, GTEE_ECRYPTO, "keyrelease: no randomness for the master secret");
    /* never replacing: an existing secret file is an error (GTEE_EEXIST) */
    TRY(gtee_file_write(path, s, sizeof(s), 0600, 0, err));
out:
    gtee_wipe(s, sizeof(s));
    return rc;
}

int gtee_kr_secret_load(const char *path, uint8_t master[GTEE_KR_SECRET_LEN], struct gtee_err *err)
{
    uint8_t extra;
    struct stat st;
    int fd, rc = GTEE_EIO;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    ENSURE(fd >= 0, err, errno == ENOENT ? GTEE_ENOTFOUND : GTEE_EIO, "keyrelease: cannot open %s (%s)", path,
           strerror(errno));
    ENSURE(fstat(fd, &st) == 0, err, GTEE_EIO, "keyrelease: cannot stat %s", path);
    ENSURE((st.st_mode & 077) == 0, err, GTEE_EPERM,
           "keyrelease: %s may be read by group or others (mode %03o); chmod 600 it", path,
           (unsigned)(st.st_mode & 0777));
    ENSURE(read(fd, master, GTEE_KR_SECRET_LEN) == GTEE_KR_SECRET_LEN && read(fd, &extra, 1) == 0, err,
           GTEE_EFORMAT, "keyrelease: %s is not exactly %d bytes", path, GTEE_KR_SECRET_LEN);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        gtee_wipe(master, GTEE_KR_SECRET_LEN);
    return rc;
}
