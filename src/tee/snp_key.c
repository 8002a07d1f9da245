/* SEV-SNP sealing key: MSG_KEY_REQ through /dev/sev-guest (Linux SNP_GET_DERIVED_KEY;
 * AMD SEV-SNP ABI specification, "MSG_KEY_REQ" and "MSG_KEY_RSP"). The firmware derives it
 * from the chip's VCEK secret mixed with the guest fields we select. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sev-guest.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/guard.h"
#include "base/span.h"
#include "gtee/crypto.h"
#include "tee/tee_int.h"

#define SEV_GUEST_DEV "dev/sev-guest"
/* GUEST_FIELD_SELECT bits (MSG_KEY_REQ): 0 guest policy, 1 image id, 2 family id,
 * 3 measurement, 4 guest SVN, 5 TCB version. */
#define FIELD_GUEST_POLICY (1ull << 0)
#define FIELD_MEASUREMENT (1ull << 3)
#define ROOT_KEY_VCEK 0
#define KEY_RSP_STATUS_OFF 0x00
#define KEY_RSP_KEY_OFF 0x20

static int do_ioctl(const struct gtee_tee_options *opt, int fd, unsigned long req, void *arg)
{
    if (opt->snp_ioctl)
        return opt->snp_ioctl->ioctl(fd, req, arg, opt->snp_ioctl->ctx);
    return ioctl(fd, req, arg) == 0 ? 0 : -errno;
}

/* MRENCLAVE policy: bound to the launch MEASUREMENT and the guest policy (a debug-enabled
 * guest gets another key), rooted in the VCEK, at VMPL 0. TCB_VERSION is not mixed in, so
 * the Enclave ID survives firmware updates (docs/tee.md §4.3 weighs this). SEV-SNP has no
 * signer identity in key derivation (ID-block fields are the guest owner's choice, not
 * bound to its key), so the MRSIGNER policy is refused. */
int tee_snp_sealing_key(struct gtee_tee *t, enum gtee_seal_policy policy, uint8_t key[GTEE_SEAL_KEY_LEN],
                        struct gtee_err *err)
{
    static const char info[] = "gtee snp seal key v1: measurement+policy";
    struct snp_derived_key_req req;
    struct snp_derived_key_resp resp;
    struct snp_guest_request_ioctl io;
    char path[PATH_MAX];
    struct span s;
    uint32_t status;
    int fd = -1, rc = GTEE_EUNSUPPORTED, e;

    memset(&resp, 0, sizeof(resp));
    ENSURE(policy == GTEE_SEAL_MRENCLAVE, err, GTEE_EUNSUPPORTED,
           "tee snp: SEV-SNP key derivation has no signer identity; only measurement-bound sealing is available");
    TRY(tee_path(path, sizeof(path), t->root, SEV_GUEST_DEV, err));
    fd = open(path, O_RDWR | O_CLOEXEC);
    ENSURE(fd >= 0, err, errno == ENOENT ? GTEE_ENOTFOUND : GTEE_EIO,
           "tee snp: cannot open %s (%s): the sev-guest driver gives the SNP sealing key", path, strerror(errno));
    memset(&req, 0, sizeof(req));
    req.root_key_select = ROOT_KEY_VCEK;
    req.guest_field_select = FIELD_GUEST_POLICY | FIELD_MEASUREMENT;
    req.vmpl = 0;
    memset(&io, 0, sizeof(io));
    io.msg_version = 1;
    io.req_data = (uint64_t)(uintptr_t)&req;
    io.resp_data = (uint64_t)(uintptr_t)&resp;
    e = do_ioctl(&t->opt, fd, SNP_GET_DERIVED_KEY, &io);
    ENSURE(e == 0, err, GTEE_EIO, "tee snp: SNP_GET_DERIVED_KEY failed (%s, firmware error 0x%x, VMM error 0x%x)",
           strerror(-e), io.fw_error, io.vmm_error);
    s = span_init(resp.data, sizeof(resp.data));
    span_take(&s, KEY_RSP_STATUS_OFF);
    status = span_u32le(&s);
    ENSURE(status == 0, err, GTEE_EIO, "tee snp: MSG_KEY_RSP status 0x%x", status);
    /* HKDF as for SGX: one hardware key, several uses, each with its own derived key. */
    ENSURE(gtee_hkdf_sha256(key, GTEE_SEAL_KEY_LEN, resp.data + KEY_RSP_KEY_OFF, 32, NULL, 0, (const uint8_t *)info,
                            sizeof(info) - 1) == 0,
           err, GTEE_ECRYPTO, "tee snp: sealing key derivation failed");
    rc = 0;
out:
    gtee_wipe(&resp, sizeof(resp));
    if (fd >= 0)
        close(fd);
    return rc;
}
