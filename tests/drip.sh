# The slow-client check shared by the server tests (sourced after tests/cli_harness.sh): a
# client that drips its first message must neither hold its session past the server's 10 s
# --session-timeout nor keep a second client waiting (issue 11, finding 3).
#   drip_start PORT PREFIX_HEX CHUNK_HEX   connects the drip (PREFIX, then CHUNK each second
#                                          for up to 60 s; output in $T/drip), returns once it
#                                          is connected and has held its session for 1 s
#   drip_check SERVED WHO                  waits for the drip to end; checks that it was cut
#                                          near the 10 s deadline, and that WHO (the second
#                                          client, done at time SERVED) was done before that
DPID=
drip_start() {
    bg_start python3 "$NC" drip 127.0.0.1 "$1" "$2" "$3" 1 60 >"$T/drip"
    DPID=$BG_PID
    for _ in $(seq 200); do grep -q connected "$T/drip" && break; sleep 0.05; done
    grep -q connected "$T/drip" || { echo "the drip client did not connect" >&2; exit 1; }
    sleep 1
}
drip_check() {
    local what held at
    bg_wait "$DPID" || true
    DPID=
    read -r what held at <<<"$(tail -1 "$T/drip")"
    [ "$what" = closed ] || bad "the drip client was never cut: $(cat "$T/drip")"
    [ "$what" = closed ] && python3 -c "import sys; sys.exit(0 if 9 <= float(sys.argv[1]) < 45 else 1)" "$held" ||
        bad "the drip client was cut after ${held}s, expected near its 10 s deadline"
    python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$1" "$at" ||
        bad "$2 only after the drip was cut (served one at a time)"
}
