# The one shell helper for background processes a test starts (servers: `gtee keyrelease
# serve`, `gtee relay`, the kvstore enclave), sourced, not run: every process started with
# bg_start is stopped when the test exits, on every path (a failed check under `set -e`, an
# `exit 1`, SIGINT or SIGTERM), and the test's own cleanup (at_exit) runs after that.
#   bg_start CMD ARGS... [redirections]   runs CMD in the background; its pid in BG_PID
#   bg_stop PID       SIGTERM, up to 10 s to exit, then SIGKILL; always collects it
#   bg_wait PID       waits for PID to exit by itself; returns its status
#   at_exit 'CMD'     one more command for the exit trap (run after the processes are stopped)
# A test that sources this must not set its own EXIT trap (it would replace this one).
BG_PIDS=""
BG_AT_EXIT=":"
BG_PID=
bg_forget() {
    local p keep=""
    for p in $BG_PIDS; do [ "$p" = "$1" ] || keep="$keep $p"; done
    BG_PIDS=$keep
}
bg_start() {
    "$@" &
    BG_PID=$!
    BG_PIDS="$BG_PIDS $BG_PID"
}
# Running, not a zombie waiting to be collected (which kill -0 cannot tell apart).
bg_alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "${st%% *}" != Z ]
}
bg_stop() {
    local i
    [ -n "${1:-}" ] || return 0
    kill -TERM "$1" 2>/dev/null || true
    for i in $(seq 100); do bg_alive "$1" || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    bg_forget "$1"
}
bg_wait() {
    local st=0
    wait "$1" || st=$?
    bg_forget "$1"
    return "$st"
}
at_exit() { BG_AT_EXIT="$BG_AT_EXIT; $1"; }
bg_exit() {
    local st=$? p
    set +e
    for p in $BG_PIDS; do bg_stop "$p"; done
    eval "$BG_AT_EXIT"
    exit "$st"
}
trap bg_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
