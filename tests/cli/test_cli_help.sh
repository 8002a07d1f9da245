#!/usr/bin/env bash
# `--help` on every command (docs/cli.md, "Conventions": prints the usage on stdout, exits
# 0): each command listed by `gtee --help`, and each subcommand listed by its parent's
# --help. `gtee model train --help` used to fail with "cannot open (null)", exit 3.
set -euo pipefail

. "$(dirname "$0")/../cli_harness.sh"

# commands OUTPUT: the names under "Commands:" in a --help text.
commands() { sed -n '/^Commands:/,/^$/p' "$1" | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p'; }

n=0
run --help
expect_rc 0 "gtee --help"
cp "$T/out" "$T/top"
for c in $(commands "$T/top"); do
    run "$c" --help
    expect_rc 0 "gtee $c --help"
    grep -q "^Usage: gtee $c" "$T/out" || bad "gtee $c --help prints no 'Usage: gtee $c' line: $(head -c 200 "$T/out")"
    n=$((n + 1))
    cp "$T/out" "$T/sub"
    for s in $(commands "$T/sub"); do
        run "$c" "$s" --help
        expect_rc 0 "gtee $c $s --help"
        grep -q "^Usage: gtee $c $s" "$T/out" ||
            bad "gtee $c $s --help prints no 'Usage: gtee $c $s' line: $(head -c 200 "$T/out") $(head -c 200 "$T/err")"
        n=$((n + 1))
    done
done
[ "$n" -ge 15 ] || bad "only $n commands found in the help texts"

if [ "$fail" -ne 0 ]; then
    echo "$fail check(s) failed" >&2
    exit 1
fi
echo "--help: $n commands checked"
