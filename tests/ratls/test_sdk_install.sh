#!/usr/bin/env bash
# The SDK as an outside developer gets it: `cmake --install` into a temporary prefix puts
# the headers, libgtee and gtee.pc in place; the kvstore example, compiled outside the
# source tree with nothing but `pkg-config --cflags --libs gtee`, runs on the simulated TEE.
set -euo pipefail

: "${GTEE_SOURCE_DIR:?}" "${GTEE_BINARY_DIR:?}" "${GTEE_CLI:?}"
# The enclave is stopped on every path (tests/bg.sh).
. "$GTEE_SOURCE_DIR/tests/bg.sh"
T=$(mktemp -d)
at_exit 'rm -rf "$T"'
fail=0
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*" >&2
}

cmake --install "$GTEE_BINARY_DIR" --prefix "$T/prefix" >/dev/null
pc=$(find "$T/prefix" -name gtee.pc | head -1)
[ -n "$pc" ] || { echo "FAIL: no gtee.pc installed" >&2; exit 1; }
for h in sdk.h sdk_client.h ratls.h evidence.h err.h file.h; do
    [ -f "$T/prefix/include/gtee/$h" ] || bad "header gtee/$h not installed"
done
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --cflags --libs gtee)
echo "$flags" | grep -q -- "-lgtee" || bad "pkg-config --libs has no -lgtee: $flags"

# The examples use only the SDK's public headers (and the public output helper).
if grep -h '#include' "$GTEE_SOURCE_DIR"/examples/kvstore/*.c | grep gtee/ |
    grep -v -e 'gtee/sdk.h' -e 'gtee/sdk_client.h' -e 'gtee/file.h'; then
    bad "an example includes a header other than gtee/sdk.h, gtee/sdk_client.h and gtee/file.h"
fi

# Same compiler and sanitizer setting as the library was built with.
cache="$GTEE_BINARY_DIR/CMakeCache.txt"
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$cache")
extra=()
if grep -q '^GTEE_SANITIZE:BOOL=ON' "$cache" || grep -q '^GTEE_FUZZ:BOOL=ON' "$cache"; then
    extra=(-fsanitize=address,undefined)
fi
mkdir "$T/outside"
cp "$GTEE_SOURCE_DIR"/examples/kvstore/*.[ch] "$T/outside/"
for p in kvstore_enclave kvstore_client; do
    # shellcheck disable=SC2086
    "${cc:-cc}" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror "${extra[@]}" -o "$T/outside/$p" "$T/outside/$p.c" \
        $flags || bad "external build of $p failed"
done
# gtee.pc names every library libgtee needs: a program that links the whole archive (every
# part, the ML engine included) resolves with nothing but pkg-config's flags.
echo 'int main(void) { return 0; }' >"$T/outside/whole.c"
# shellcheck disable=SC2046
"${cc:-cc}" "${extra[@]}" -o "$T/outside/whole" "$T/outside/whole.c" $(pkg-config --cflags gtee) \
    -Wl,--whole-archive $(pkg-config --libs-only-L gtee) -lgtee -Wl,--no-whole-archive $flags ||
    bad "linking the whole libgtee with pkg-config's flags failed: gtee.pc misses a library"
# The archive exports the public API alone: every defined global symbol is gtee_*, so a
# developer's own box_nonce or ml_fail cannot collide with the library's internal names.
lib=$(find "$T/prefix" -name libgtee.a | head -1)
defined=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }')
others=$(grep -v '^gtee_' <<<"$defined" || true)
[ -z "$others" ] || bad "libgtee.a exports names outside gtee_*: $(head -5 <<<"$others" | tr '\n' ' ')"
grep -qx gtee_ratls_connect <<<"$defined" || bad "libgtee.a lacks the public gtee_ratls_connect"
cat >"$T/outside/clash.c" <<'C'
#include <gtee/err.h>
int box_nonce(void);
int ml_fail(void);
int dcap_verify(void);
int box_nonce(void) { return 1; }
int ml_fail(void) { return 2; }
int dcap_verify(void) { return 3; }
int main(void) { return box_nonce() + ml_fail() + dcap_verify() == 6 ? 0 : 1; }
C
# shellcheck disable=SC2046
"${cc:-cc}" "${extra[@]}" -o "$T/outside/clash" "$T/outside/clash.c" $(pkg-config --cflags gtee) \
    -Wl,--whole-archive $(pkg-config --libs-only-L gtee) -lgtee -Wl,--no-whole-archive $flags ||
    bad "a program defining names the library uses internally does not link against libgtee"
[ "$fail" -eq 0 ] || exit 1

"$GTEE_CLI" sim init "$T/dev" >/dev/null 2>&1
echo '{"allow_simulation":true}' >"$T/sim.json"
bg_start "$T/outside/kvstore_enclave" --tee sim --sim-dir "$T/dev" --state "$T/state" --port-file "$T/port" \
    --max-clients 2 2>"$T/enclave.log"
PID=$BG_PID
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
[ -s "$T/port" ] || { echo "FAIL: enclave did not start: $(cat "$T/enclave.log")" >&2; exit 1; }
C=("$T/outside/kvstore_client" --connect "127.0.0.1:$(cat "$T/port")" --policy "$T/sim.json"
    --collateral "$T/dev" --sim-root "$T/dev/sim_root_ca.der")
"${C[@]}" put k "built outside" 2>/dev/null || bad "external client put failed"
[ "$("${C[@]}" get k 2>/dev/null)" = "built outside" ] || bad "external client get failed"
bg_wait "$PID" || bad "external enclave exited with an error: $(cat "$T/enclave.log")"

[ "$fail" -eq 0 ] || { echo "$fail check(s) failed" >&2; exit 1; }
echo "SDK install and external build: all checks passed"
