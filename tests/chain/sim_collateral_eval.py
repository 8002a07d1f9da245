#!/usr/bin/env python3
"""Re-signs a simulated device's TCB info and QE identity (DIR/sgx and DIR/tdx) with another
tcbEvaluationDataNumber, using the device's own TCB signing key (DIR/tcb_signing.key.pem), so
that evidence verified with them claims that TCB figure (docs/evidence.md, "The TCB figure").
A test helper: it plays an operator whose node judges its own evidence with collateral other
than the verifiers' (tests/chain/test_verifiers_slow.sh). The signature covers the exact bytes
of the inner object, raw r||s (P-256, SHA-256), as src/simvendor/sim_collateral.c writes it.
Usage: sim_collateral_eval.py DIR NUMBER"""
import re
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def resign(path, key, outer, number):
    text = open(path, encoding="utf-8").read()
    prefix = '{"%s":' % outer
    tail = text.rindex(',"signature":"')
    if not text.startswith(prefix):
        sys.exit(f"{path}: not a signed {outer} document")
    inner, n = re.subn(r'"tcbEvaluationDataNumber":\d+', f'"tcbEvaluationDataNumber":{number}',
                       text[len(prefix):tail])
    if n != 1:
        sys.exit(f"{path}: {n} tcbEvaluationDataNumber fields, expected one")
    r, s = decode_dss_signature(key.sign(inner.encode(), ec.ECDSA(hashes.SHA256())))
    sig = (r.to_bytes(32, "big") + s.to_bytes(32, "big")).hex()
    with open(path, "w", encoding="utf-8") as f:
        f.write(f'{prefix}{inner},"signature":"{sig}"}}')


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.splitlines()[-1])
    d, number = sys.argv[1], int(sys.argv[2])
    key = serialization.load_pem_private_key(open(f"{d}/tcb_signing.key.pem", "rb").read(), None)
    for tee in ("sgx", "tdx"):
        resign(f"{d}/{tee}/tcb_info.json", key, "tcbInfo", number)
        resign(f"{d}/{tee}/qe_identity.json", key, "enclaveIdentity", number)


main()
