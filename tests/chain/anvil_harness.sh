# Shared start of the tests that run a real anvil (sourced after tests/cli_harness.sh): the
# pinned npm tools must be installed (a missing one fails the test: it never skips), the
# contracts are compiled into $T/glacier.json, and anvil_start LOG PORT [ARGS...] starts
# anvil on 127.0.0.1:PORT (0: any free port) in the background, stopped with the test,
# waits (bounded) until it listens, and sets ANVIL_PID and port.
NM="$GTEE_SOURCE_DIR/npm/node_modules"
ANVIL="$NM/@foundry-rs/anvil-linux-amd64/bin/anvil"
for need in "$ANVIL" "$NM/solc" "$NM/js-sha3"; do
    if [ ! -e "$need" ]; then
        echo "FAIL: $need is not installed (run scripts/install-deps.sh)" >&2
        exit 1
    fi
done
command -v node >/dev/null || { echo "FAIL: node is not installed (scripts/install-deps.sh)" >&2; exit 1; }
node "$GTEE_SOURCE_DIR/contracts/compile.js" "$T/glacier.json"

# anvil_accounts LOG N: ACC and KEY, anvil's dev accounts and their private keys as LOG
# (anvil's output) prints them, at least N of each (else the test fails); anvil_keyfile I
# FILE writes KEY[I] to FILE (mode 0600), as the chain commands read a key.
anvil_accounts() {
    mapfile -t ACC < <(sed -n '/^Available Accounts/,/^Private Keys/s/^([0-9]*) \(0x[0-9a-fA-F]*\).*/\1/p' "$1")
    mapfile -t KEY < <(sed -n '/^Private Keys/,/^Wallet/s/^([0-9]*) \(0x[0-9a-fA-F]*\).*/\1/p' "$1")
    [ "${#KEY[@]}" -ge "$2" ] && [ "${#ACC[@]}" -ge "$2" ] || { bad "anvil's accounts: ${#ACC[@]} ${#KEY[@]}"; exit 1; }
}
anvil_keyfile() { (umask 077; echo "${KEY[$1]}" >"$2"); }

anvil_start() {
    local log=$1 want=$2
    shift 2
    bg_start "$ANVIL" --host 127.0.0.1 --port "$want" "$@" >"$log" 2>&1
    ANVIL_PID=$BG_PID
    for _ in $(seq 300); do grep -q '^Listening on' "$log" && break; sleep 0.05; done
    port=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
    [ -n "$port" ] || { bad "anvil did not start: $(cat "$log")"; exit 1; }
}
