#!/bin/bash
# The HPKE reference (tests/crypto/hpke_ref.py, Python's hmac and Debian's python3-cryptography)
# still reproduces RFC 9180 A.1.1, and still gives the values test_hpke.c checks our suite
# against.
set -euo pipefail
src=${GTEE_SOURCE_DIR:?}
# Debian's interpreter, which has Debian's python3-cryptography (scripts/debian-packages)
out=$(/usr/bin/python3 "$src/tests/crypto/hpke_ref.py")
grep -q "RFC 9180 A.1.1 reproduced" <<<"$out" || { echo "FAIL: the reference does not reproduce A.1.1: $out"; exit 1; }
for name in KEY_2 NONCE_2 CT0 CT1; do
    v=$(sed -n "s/^static const char $name\[\] = \"\([0-9a-f]*\)\";.*/\1/p" "$src/tests/crypto/test_hpke.c")
    [ -n "$v" ] || { echo "FAIL: no $name in test_hpke.c"; exit 1; }
    grep -q "$v" <<<"$out" || { echo "FAIL: $name of test_hpke.c is not what the reference gives"; exit 1; }
done
echo "ok: the reference reproduces A.1.1 and test_hpke.c's values"
