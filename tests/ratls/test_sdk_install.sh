#!/usr/bin/env bash
# The SDK as an outside developer gets it: `cmake --install` into a temporary prefix puts
# the public headers, the three libraries by role (core, enclave, host) and their .pc files
# in place; the kvstore example, compiled outside the source tree, its enclave with nothing
# but `pkg-config --cflags --libs gtee-enclave` and its client with `gtee-host`, runs on the
# simulated TEE. Each archive exports only the gtee_* names its installed headers declare.
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
pc=$(find "$T/prefix" -name gtee-enclave.pc | head -1)
[ -n "$pc" ] || { echo "FAIL: no gtee-enclave.pc installed" >&2; exit 1; }
pcdir=$(dirname "$pc")
for p in gtee gtee-core gtee-host; do
    [ -f "$pcdir/$p.pc" ] || bad "$p.pc not installed"
done
for h in sdk.h sdk_client.h ratls.h evidence.h err.h file.h; do
    [ -f "$T/prefix/include/gtee/$h" ] || bad "header gtee/$h not installed"
done
# Only the public headers: nothing of src/ (internal headers) is installed.
extra_h=$(find "$T/prefix/include" -name '*.h' | sed "s|$T/prefix/include/||" | while read -r h; do
    [ -f "$GTEE_SOURCE_DIR/include/$h" ] || echo "$h"; done)
[ -z "$extra_h" ] || bad "installed headers that are not public: $extra_h"
export PKG_CONFIG_PATH=$pcdir
# Each side's file pulls only what that side needs: the core needs no ML engine and no
# seccomp; the host side (the client, the launcher) none either.
for p in gtee-core gtee-host; do
    # shellcheck disable=SC2086
    req=$(pkg-config --print-requires-private --print-requires $p | tr '\n' ' ')
    for dep in openblas libprotobuf-c libseccomp zlib gtee-enclave; do
        grep -qw -- "$dep" <<<"$req" && bad "$p.pc requires $dep: $req"
    done
    pkg-config --libs $p | grep -q -- '-lgtee-enclave' && bad "$p links the enclave library"
done
grep -q -- '-lgtee-core' <<<"$(pkg-config --libs gtee-enclave)" || bad "gtee-enclave does not pull gtee-core"
for dep in openblas libprotobuf-c libseccomp; do
    pkg-config --print-requires gtee-enclave | grep -qw -- "$dep" || bad "gtee-enclave.pc does not require $dep"
done
# An enclave application runs the engine on OpenBLAS's serial build, as gtee-enclave does.
pkg-config --libs gtee-enclave | grep -q -- '-Wl,-rpath,[^ ]*/openblas-serial' ||
    bad "gtee-enclave.pc does not point the run-time loader at OpenBLAS's serial build: $(pkg-config --libs gtee-enclave)"
for l in -lgtee-core -lgtee-enclave -lgtee-host; do
    pkg-config --libs gtee | grep -q -- "$l" || bad "the umbrella gtee.pc does not pull $l"
done

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
# The enclave application against the enclave library alone, the client against the host
# library alone.
for pp in kvstore_enclave:gtee-enclave kvstore_client:gtee-host; do
    p=${pp%%:*} pkg=${pp#*:}
    # shellcheck disable=SC2046
    "${cc:-cc}" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror "${extra[@]}" -o "$T/outside/$p" "$T/outside/$p.c" \
        $(pkg-config --cflags --libs "$pkg") || bad "external build of $p against $pkg alone failed"
done
public=$("$GTEE_SOURCE_DIR/scripts/public-symbols.sh" "$T/prefix/include/gtee")
echo 'int main(void) { return 0; }' >"$T/outside/whole.c"
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
for pkg in gtee-core gtee-enclave gtee-host; do
    lib=$(find "$T/prefix" -name "lib$pkg.a" | head -1)
    [ -n "$lib" ] || { bad "lib$pkg.a not installed"; continue; }
    # Each .pc names every library its archive needs: a program that links the whole archive
    # resolves with nothing but pkg-config's flags.
    # shellcheck disable=SC2046
    "${cc:-cc}" "${extra[@]}" -o "$T/outside/whole" "$T/outside/whole.c" $(pkg-config --cflags $pkg) \
        -Wl,--whole-archive "$lib" -Wl,--no-whole-archive $(pkg-config --libs $pkg) ||
        bad "linking the whole lib$pkg.a with pkg-config's flags failed: $pkg.pc misses a library"
    # The archive exports the public API alone: every defined global symbol is a gtee_* name
    # that an installed header declares, so neither a developer's own box_nonce nor an
    # internal gtee_* name of the parts is reachable.
    defined=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sort -u)
    [ -n "$defined" ] || bad "lib$pkg.a defines nothing"
    others=$(comm -23 <(echo "$defined") <(echo "$public"))
    [ -z "$others" ] || bad "lib$pkg.a exports names no installed header declares: $(head -5 <<<"$others" | tr '\n' ' ')"
    # shellcheck disable=SC2046
    "${cc:-cc}" "${extra[@]}" -o "$T/outside/clash" "$T/outside/clash.c" $(pkg-config --cflags $pkg) \
        -Wl,--whole-archive "$lib" -Wl,--no-whole-archive $(pkg-config --libs $pkg) ||
        bad "a program defining names the library uses internally does not link against lib$pkg.a"
done
grep -qx gtee_ratls_connect <<<"$(nm -g --defined-only "$(find "$T/prefix" -name libgtee-core.a)" | awk 'NF == 3 { print $3 }')" ||
    bad "libgtee-core.a lacks the public gtee_ratls_connect"
# Neither the core nor the host library holds the ML engine.
for pkg in gtee-core gtee-host; do
    nm "$(find "$T/prefix" -name "lib$pkg.a")" | grep -qE ' [TtDdBbRr] (gtee_ml_|onnx__)' &&
        bad "lib$pkg.a holds ML engine code"
done
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
