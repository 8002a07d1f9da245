#!/usr/bin/env bash
# A failing test leaves no server behind. Two key-release tests are made to fail after their
# `gtee keyrelease serve` has started, each in a scratch TMPDIR of its own that names every
# process it starts (the service's --secret lies there), and no process naming it may
# remain: the shell test through a gtee that hides the service's real port (tests/bg.sh stops
# the service), the C test through a missing sample, which aborts it after its service has
# started (tests/reap.h: the service dies with the test).
set -uo pipefail
: "${GTEE_SOURCE_DIR:?}" "${GTEE_BINARY_DIR:?}" "${GTEE_CLI:?}"
. "$GTEE_SOURCE_DIR/tests/bg.sh"
T=$(mktemp -d)
at_exit 'rm -rf "$T"'
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
real=$(readlink -f "$GTEE_CLI")

# left TAG: the processes whose command line names $T/TAG, after up to 10 s for them to go
# (a process killed because its parent died is collected by init, a moment later).
left() {
    local i
    for i in $(seq 100); do
        pgrep -f "$T/$1" >/dev/null || return 1
        sleep 0.1
    done
    pgrep -af "$T/$1"
}

# 1. tests/tee/test_keyrelease_cli.sh with a gtee whose `keyrelease serve` first announces
#    a port nobody listens on: the test fails at its connection, with the real service
#    (--once, so it would wait for that connection forever) still running.
mkdir -p "$T/sh" "$T/bin"
cat >"$T/bin/gtee" <<EOS
#!/usr/bin/env bash
if [ "\${1:-} \${2:-}" = "keyrelease serve" ]; then echo "listening on 127.0.0.1:1"; fi
exec "$real" "\$@"
EOS
chmod +x "$T/bin/gtee"
TMPDIR="$T/sh" GTEE_CLI="$T/bin/gtee" timeout 60 bash "$GTEE_SOURCE_DIR/tests/tee/test_keyrelease_cli.sh" \
    >"$T/sh.log" 2>&1
rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || bad "the broken shell test did not fail by itself (exit $rc): $(tail -5 "$T/sh.log")"
if procs=$(left sh); then bad "the failed shell test left: $procs"; pkill -KILL -f "$T/sh" || true; fi

# 2. tee/test_tdx_keyrelease_tcp with no samples: its first test starts the service, then
#    looks for the TDX sample, which aborts the binary.
bin="$GTEE_BINARY_DIR/tee_test_tdx_keyrelease_tcp"
[ -x "$bin" ] || { echo "FAIL: no $bin" >&2; exit 1; }
mkdir -p "$T/c" "$T/nosrc"
TMPDIR="$T/c" GTEE_SOURCE_DIR="$T/nosrc" timeout 120 "$bin" >"$T/c.log" 2>&1
rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || bad "the C test without samples did not fail by itself (exit $rc)"
grep -q 'missing test vector' "$T/c.log" || bad "the C test did not name the missing sample: $(tail -5 "$T/c.log")"
if procs=$(left c); then bad "the failed C test left: $procs"; pkill -KILL -f "$T/c" || true; fi

exit $fail
