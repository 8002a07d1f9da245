#!/usr/bin/env bash
# End-to-end tests of the `gtee` command as a user drives it: key files, seal/open round
# trips, tamper and truncation detection, inspect, help, exit codes (docs/cli.md).
set -euo pipefail

: "${GTEE_CLI:?GTEE_CLI must name the gtee binary}"
GTEE_CLI=$(readlink -f "$GTEE_CLI")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"

pass=0
fail=0
rc=0

ok() { pass=$((pass + 1)); }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*" >&2
}
# check DESC COMMAND...: one assertion that COMMAND succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then ok; else bad "$desc"; fi
}
# run ARGS...: runs gtee, keeping stdout in $T/out, stderr in $T/err, status in $rc.
run() {
    set +e
    "$GTEE_CLI" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
}
# expect_rc WANT DESC: one assertion on the last run's exit status.
expect_rc() {
    if [ "$rc" -eq "$1" ]; then ok; else bad "$2: exit $rc, expected $1; stderr: $(head -c 400 "$T/err")"; fi
}
# json EXPR: evaluates a Python expression over the JSON object on stdout (as `j`).
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$T/out" "$1"; }
# no_leftovers PREFIX: no file named PREFIX or PREFIX.* (temporaries) exists.
no_leftovers() { ! compgen -G "$1*" >/dev/null; }
# flip FILE OFFSET: inverts one byte in place.
flip() {
    python3 - "$1" "$2" <<'EOF'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, 'rb').read())
b[off] ^= 0xff
open(p, 'wb').write(b)
EOF
}
mkrand() { head -c "$2" /dev/urandom >"$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
HEADER=96
TAG=16

# ---- keygen and key files ----
run keygen k1
expect_rc 0 "keygen writes a key file"
check "key file mode is 0600" [ "$(stat -c %a k1)" = 600 ]
check "key file is one line gtee-box-key-v1:<64 hex>" grep -Eqx 'gtee-box-key-v1:[0-9a-f]{64}' k1
check "key file is exactly one line" [ "$(wc -l <k1)" -eq 1 ]
KID1=$(grep -Eo '[0-9a-f]{32}' "$T/out" | head -n1 || true)
check "keygen prints a 128-bit key id" [ "${#KID1}" -eq 32 ]
check "keygen never prints the key" bash -c '! grep -qF "$(cut -d: -f2 k1)" "$0"' "$T/out"

cp k1 k1.before
run keygen k1
expect_rc 3 "keygen refuses to overwrite"
check "refused keygen leaves the key unchanged" cmp -s k1 k1.before
run keygen --force k1
expect_rc 0 "keygen --force replaces"
KID1=$(grep -Eo '[0-9a-f]{32}' "$T/out" | head -n1 || true)
check "keygen --force wrote a new key" bash -c '! cmp -s k1 k1.before'
check "replaced key file is still 0600" [ "$(stat -c %a k1)" = 600 ]
run keygen --json k2
expect_rc 0 "keygen --json"
check "keygen --json names the file" [ "$(json 'j["key_file"]')" = k2 ]
KID2=$(json 'j["key_id"]')
check "keygen --json key id is 32 hex digits" grep -Eqx '[0-9a-f]{32}' <<<"$KID2"
run keygen
expect_rc 2 "keygen without OUT is a usage error"

mkrand small 1000
cp k1 k644
chmod 644 k644
run encrypt --key k644 small small.gtee
expect_rc 6 "key file readable by others is refused"
check "permission message says chmod 600" grep -q 'chmod 600 k644' "$T/err"
check "no container written with a refused key" no_leftovers small.gtee
cp k1 k640
chmod 640 k640
run encrypt --key k640 small small.gtee
expect_rc 6 "key file readable by group is refused"

HEX=$(cut -d: -f2 k1)
printf 'gtee-seal-key-v1:%s\n' "$HEX" >kwrong
chmod 600 kwrong
run encrypt --key kwrong small small.gtee
expect_rc 5 "key file with the wrong type prefix is refused"
check "wrong prefix message names line 1 and the expected type" grep -q "line 1.*gtee-box-key-v1" "$T/err"
# A foreign key file's bytes are never echoed, whatever they are: the message says what
# was expected and where (they used to be echoed when printable, up to 40 of them).
printf 'sk-live-Zq81TopSecretMaterial0:%s\n' "$HEX" >kforeign
chmod 600 kforeign
run encrypt --key kforeign small small.gtee
expect_rc 5 "key file with a foreign prefix is refused"
check "foreign prefix bytes are not echoed" bash -c '! grep -q "TopSecret" "$0"' "$T/err"
check "foreign prefix message says where and what was expected" grep -q "line 1, column 1.*colon at column 31.*gtee-box-key-v1" "$T/err"
printf 'gtee-box-key-v1:%sz%s\n' "${HEX:0:10}" "${HEX:11}" >kbadhex
chmod 600 kbadhex
run encrypt --key kbadhex small small.gtee
expect_rc 5 "key file with a non-hex digit is refused"
check "bad hex message gives line 1, column 27" grep -q "line 1, column 27" "$T/err"
check "bad hex message does not echo key digits" bash -c '! grep -qF "${0:0:10}" "$1"' "$HEX" "$T/err"
printf 'gtee-box-key-v1:%s\n' "${HEX:0:62}" >kshort
chmod 600 kshort
run encrypt --key kshort small small.gtee
expect_rc 5 "key file with 62 hex digits is refused"
printf 'gtee-box-key-v1:%s\nextra\n' "$HEX" >kextra
chmod 600 kextra
run encrypt --key kextra small small.gtee
expect_rc 5 "key file with a second line is refused"
check "second-line message names line 2" grep -q "line 2" "$T/err"
run encrypt --key missing.key small small.gtee
expect_rc 3 "missing key file is an I/O error"

# ---- round trips: both algorithms, edge sizes around the chunk size ----
for size in 0 1 1024 1025 5000; do
    mkrand "p$size" "$size"
done
for alg in aes-256-gcm chacha20-poly1305; do
    for size in 0 1 1024 1025 5000; do
        run encrypt --key k1 --alg "$alg" --chunk-size 1K "p$size" "c$alg$size"
        expect_rc 0 "encrypt $alg $size bytes"
        run decrypt --key k1 "c$alg$size" "d$alg$size"
        expect_rc 0 "decrypt $alg $size bytes"
        check "round trip $alg $size bytes" cmp -s "p$size" "d$alg$size"
    done
done
for size in 65536 65537; do
    mkrand "p$size" "$size"
    run encrypt --key k1 "p$size" "c$size"
    expect_rc 0 "encrypt $size bytes, default chunk size"
    run decrypt --key k1 "c$size" "d$size"
    expect_rc 0 "decrypt $size bytes, default chunk size"
    check "round trip $size bytes, default chunk size" cmp -s "p$size" "d$size"
done
cat p5000 | "$GTEE_CLI" encrypt --key k1 --chunk-size 2K - cpipe >/dev/null
"$GTEE_CLI" decrypt --key k1 cpipe - 2>/dev/null >dpipe
check "round trip through stdin and stdout" cmp -s p5000 dpipe

run encrypt --json --key k1 --chunk-size 1K p5000 cjson
expect_rc 0 "encrypt --json"
check "encrypt --json reports bytes in" [ "$(json 'j["bytes_in"]')" = 5000 ]
check "encrypt --json reports bytes out = container size" [ "$(json 'j["bytes_out"]')" = "$(stat -c %s cjson)" ]
check "encrypt --json reports 5 chunks for 5000 bytes in 1K chunks" [ "$(json 'j["chunks"]')" = 5 ]
check "encrypt --json reports the key id" [ "$(json 'j["key_id"]')" = "$KID1" ]
check "encrypt --json reports the algorithm" [ "$(json 'j["algorithm"]')" = aes-256-gcm ]
run encrypt --key k1 p5000 cplain
check "encrypt prints chunks and speed" grep -q 'chunks' "$T/out"
check "encrypt prints MB/s" grep -q 'MB/s' "$T/out"

# ---- wrong key, tampering, truncation: exit 4 and nothing left behind ----
run decrypt --key k2 caes-256-gcm5000 wrongkey.out
expect_rc 4 "decrypt with the wrong key fails authentication"
check "wrong key leaves no output file" no_leftovers wrongkey.out
run decrypt --json --key k2 caes-256-gcm5000 wrongkey.out
check "--json error object on stdout" [ "$(json 'sorted(j["error"].keys())')" = "['code', 'message']" ]
check "--json error code for a wrong key" [ "$(json 'j["error"]["code"]')" = wrong_key ]
check "--json error goes to stderr too" grep -q '^gtee: decrypt: ' "$T/err"

cp caes-256-gcm5000 tampered
flip tampered $((HEADER + (1024 + TAG) + 100)) # inside the second chunk
run decrypt --key k1 tampered tampered.out
expect_rc 4 "flipped byte in a chunk fails authentication"
check "tamper message names chunk 1 (counted from 0)" grep -q 'chunk 1 ' "$T/err"
check "tampered container leaves no output file" no_leftovers tampered.out
cp cchacha20-poly13055000 tampered2
flip tampered2 $((HEADER + 4 * (1024 + TAG) + 3)) # the last, short chunk
run decrypt --key k1 tampered2 tampered2.out
expect_rc 4 "flipped byte in the last chunk fails authentication"
check "last-chunk tamper message names chunk 4" grep -q 'chunk 4 ' "$T/err"
check "last-chunk tamper leaves no output file" no_leftovers tampered2.out
cp caes-256-gcm5000 tampered3
flip tampered3 40 # inside the header, past the key id
run decrypt --key k1 tampered3 tampered3.out
expect_rc 4 "flipped header byte fails authentication"
check "header tamper leaves no output file" no_leftovers tampered3.out

SIZE=$(stat -c %s caes-256-gcm5000)
head -c $((SIZE - 7)) caes-256-gcm5000 >trunc
run decrypt --key k1 trunc trunc.out
expect_rc 4 "container cut inside the last chunk fails"
check "truncated container leaves no output file" no_leftovers trunc.out
head -c $((HEADER + 2 * (1024 + TAG))) caes-256-gcm5000 >trunc2
run decrypt --key k1 trunc2 trunc2.out
expect_rc 4 "container cut at a chunk boundary fails"
check "boundary truncation is reported as truncation" grep -q 'truncated' "$T/err"
check "boundary-truncated container leaves no output file" no_leftovers trunc2.out
head -c 50 caes-256-gcm5000 >trunc3
run decrypt --key k1 trunc3 trunc3.out
check "container cut inside the header is refused (exit 4 or 5)" test "$rc" -eq 4 -o "$rc" -eq 5
check "header-truncated container leaves no output file" no_leftovers trunc3.out

# ---- inspect ----
run inspect caes-256-gcm5000
expect_rc 0 "inspect a container"
check "inspect shows the algorithm" grep -q 'aes-256-gcm' "$T/out"
check "inspect shows the chunk size" grep -Eq 'chunk size +1024' "$T/out"
check "inspect shows the key id" grep -q "$KID1" "$T/out"
check "inspect shows the content id = sha256sum" grep -q "$(sha caes-256-gcm5000)" "$T/out"
run inspect --json cchacha20-poly13055000
expect_rc 0 "inspect --json"
check "inspect --json version 1" [ "$(json 'j["version"]')" = 1 ]
check "inspect --json algorithm" [ "$(json 'j["algorithm"]')" = chacha20-poly1305 ]
check "inspect --json chunk size" [ "$(json 'j["chunk_size"]')" = 1024 ]
check "inspect --json key id" [ "$(json 'j["key_id"]')" = "$KID1" ]
check "inspect --json size" [ "$(json 'j["size"]')" = "$(stat -c %s cchacha20-poly13055000)" ]
check "inspect --json chunks" [ "$(json 'j["chunks"]')" = 5 ]
check "inspect --json plaintext bytes" [ "$(json 'j["plaintext_bytes"]')" = 5000 ]
check "inspect --json content id = sha256sum" [ "$(json 'j["content_id"]')" = "$(sha cchacha20-poly13055000)" ]
for size in 0 1 1024 1025; do
    run encrypt --json --key k1 --chunk-size 1K "p$size" "cnt$size"
    n=$(json 'j["chunks"]')
    run inspect --json "cnt$size"
    check "inspect counts the chunks encrypt wrote ($size bytes)" [ "$(json 'j["chunks"]')" = "$n" ]
    check "inspect computes the plaintext length ($size bytes)" [ "$(json 'j["plaintext_bytes"]')" = "$size" ]
done
run inspect p5000
expect_rc 5 "inspect a non-container"
check "non-container message says so" grep -q 'p5000: not a .*container' "$T/err"
run inspect trunc3
expect_rc 5 "inspect a file shorter than a header"
check "short-file message gives its length" grep -q '50 bytes' "$T/err"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[8]=2; open(sys.argv[2],"wb").write(b)' caes-256-gcm5000 v2
run inspect v2
expect_rc 5 "inspect a container of an unknown format version"
check "version message says unsupported" grep -q 'unsupported' "$T/err"
run decrypt --key k1 v2 v2.out
expect_rc 5 "decrypt refuses an unknown format version as malformed input"
check "unknown version leaves no output file" no_leftovers v2.out
run inspect --json p5000
code=$(json 'j["error"]["code"]')
check "inspect --json non-container error code" test "$code" = malformed -o "$code" = unsupported
run inspect nosuchfile
expect_rc 3 "inspect a missing file"

# ---- help, usage errors, overwrite ----
for c in keygen encrypt decrypt inspect version; do
    run "$c" --help
    expect_rc 0 "$c --help"
    check "$c --help shows usage and exit codes" grep -q 'Exit codes' "$T/out"
    run help "$c"
    expect_rc 0 "help $c"
done
run --help
expect_rc 0 "gtee --help"
check "gtee --help lists encrypt" grep -q 'encrypt' "$T/out"
run --version
expect_rc 0 "gtee --version"
check "--version names OpenSSL" grep -q 'OpenSSL' "$T/out"
run
expect_rc 2 "gtee without a command"
run frobnicate
expect_rc 2 "unknown command"
check "unknown command message" grep -q "unknown command 'frobnicate'" "$T/err"
run help frobnicate
expect_rc 2 "help for an unknown command"
run encrypt --key k1 --bogus p1 x
expect_rc 2 "unknown option"
check "unknown option message names it" grep -q "'--bogus'" "$T/err"
run encrypt --bogus --json --key k1 p1 x
expect_rc 2 "unknown option before --json"
check "usage error as JSON when --json comes later" [ "$(json 'j["error"]["code"]')" = usage ]
run encrypt p1 x
expect_rc 2 "encrypt without --key"
run encrypt --key k1 --alg rot13 p1 x
expect_rc 2 "unknown algorithm"
run encrypt --key k1 --chunk-size 12Q p1 x
expect_rc 2 "malformed chunk size"
run encrypt --key k1 --chunk-size 8M p1 x
expect_rc 2 "chunk size above the maximum"
run encrypt --key k1 p1
expect_rc 2 "encrypt with one path"
run encrypt --key k1 nosuchfile x
expect_rc 3 "encrypt a missing input"
check "missing input leaves no output" no_leftovers x

cp p1 existing
run encrypt --key k1 p5000 existing
expect_rc 3 "encrypt refuses to overwrite"
check "refused overwrite keeps the old file" cmp -s p1 existing
run decrypt --key k1 caes-256-gcm5000 existing
expect_rc 3 "decrypt refuses to overwrite"
check "refused decrypt keeps the old file" cmp -s p1 existing
run decrypt --force --key k1 caes-256-gcm5000 existing
expect_rc 0 "decrypt --force overwrites"
check "decrypt --force wrote the plaintext" cmp -s p5000 existing

# ---- memory: the largest chunk size keeps each command under 16 MiB resident ----
head -c $((96 << 20)) /dev/zero >big
/usr/bin/time -f %M -o rss.enc "$GTEE_CLI" encrypt --no-progress --chunk-size 2M --key k1 big big.box >/dev/null 2>&1
/usr/bin/time -f %M -o rss.dec "$GTEE_CLI" decrypt --no-progress --key k1 big.box big.out >/dev/null 2>&1
check "96 MiB round trip at 2M chunks" cmp -s big big.out
if [ "${GTEE_SANITIZED:-0}" = 1 ]; then
    echo "cli: peak RSS not checked in a sanitizer build (shadow memory)"
else
    check "encrypt peak RSS $(cat rss.enc) KiB < 16384" test "$(cat rss.enc)" -lt 16384
    check "decrypt peak RSS $(cat rss.dec) KiB < 16384" test "$(cat rss.dec)" -lt 16384
fi

# ---- progress: drawn on a terminal for large inputs, never otherwise ----
# script(1) gives the command a pseudo-terminal; its transcript is what a user would see.
rm -f big.box big.out
script -qec "$GTEE_CLI encrypt --key k1 big big.box" /dev/null >tty.out 2>&1
check "progress bar drawn on a terminal" grep -q "encrypt \[.*100%" tty.out
rm -f big.box
script -qec "$GTEE_CLI encrypt --no-progress --key k1 big big.box" /dev/null >tty.out 2>&1
check "no progress bar with --no-progress" bash -c '! grep -q "%" tty.out'
rm -f big.box
"$GTEE_CLI" encrypt --key k1 big big.box 2>notty.err >/dev/null
check "no progress bar when stderr is not a terminal" bash -c '! grep -q "%" notty.err'
rm -f big big.box

# ---- a FIFO planted as the key file is refused, not waited on ----
mkfifo fifo.key
set +e
timeout 5 "$GTEE_CLI" encrypt --key fifo.key p1 fifo.out >"$T/out" 2>"$T/err"
rc=$?
set -e
expect_rc 5 "a FIFO as key file"
check "FIFO key file message" grep -q "not a regular file" "$T/err"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
