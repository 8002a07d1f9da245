#!/usr/bin/env bash
# `gtee identity new FILE` and `gtee identity show FILE` (docs/cli.md, "identity"): a 0600
# file of one line, written through the safe writer (never over an existing file without
# --force), whose public key both commands print and no private digit; show refuses a file
# others may read (exit 6), another kind of key file and a malformed one (exit 5).
set -euo pipefail

. "$(dirname "$0")/../cli_harness.sh"

run identity new "$T/me.id"
expect_rc 0 "identity new"
pub=$(sed -n 's/^public key \([0-9a-f]\{64\}\)$/\1/p' "$T/out")
[ -n "$pub" ] || bad "identity new printed no public key: $(cat "$T/out")"
[ "$(stat -c %a "$T/me.id")" = 600 ] || bad "identity file mode is $(stat -c %a "$T/me.id"), expected 600"
grep -qx 'gtee-identity-v1:[0-9a-f]\{64\}' "$T/me.id" || bad "identity file is not one gtee-identity-v1 line"
priv=$(sed 's/^gtee-identity-v1://' "$T/me.id")
[ "$priv" != "$pub" ] || bad "the public key is the private key"
grep -q "$priv" "$T/out" "$T/err" && bad "identity new printed the private key"

run identity show --json "$T/me.id"
expect_rc 0 "identity show --json"
[ "$(json 'j["public_key"]')" = "$pub" ] || bad "identity show --json: $(cat "$T/out"), expected public key $pub"
grep -q "$priv" "$T/out" "$T/err" && bad "identity show printed the private key"

# Never over an existing file without --force; with it, a new identity.
cp "$T/me.id" "$T/before"
run identity new "$T/me.id"
expect_rc 3 "identity new over an existing file"
cmp -s "$T/me.id" "$T/before" || bad "identity new changed the existing file it refused"
run identity new --force "$T/me.id"
expect_rc 0 "identity new --force"
cmp -s "$T/me.id" "$T/before" && bad "identity new --force kept the old identity"

chmod 640 "$T/me.id"
run identity show "$T/me.id"
expect_rc 6 "identity show on a group-readable file"
grep -q "chmod 600" "$T/err" || bad "identity show does not say how to fix the mode: $(cat "$T/err")"
chmod 600 "$T/me.id"

run keygen "$T/box.key"
expect_rc 0 "keygen"
run identity show "$T/box.key"
expect_rc 5 "identity show on a container key file"
grep -q "expected 'gtee-identity-v1'" "$T/err" || bad "identity show on a box key: $(cat "$T/err")"
printf 'gtee-identity-v1:%s\n' "abc" >"$T/short.id"
chmod 600 "$T/short.id"
run identity show "$T/short.id"
expect_rc 5 "identity show on a short key"
grep -q "line 1, column" "$T/err" || bad "identity show names no place: $(cat "$T/err")"

run identity new
expect_rc 2 "identity new without FILE"

if [ "$fail" -ne 0 ]; then
    echo "$fail check(s) failed" >&2
    exit 1
fi
echo "identity: ok"
