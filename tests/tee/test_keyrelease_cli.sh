#!/usr/bin/env bash
# `gtee keyrelease init FILE`: a 32-byte secret, mode 0600, never overwritten.
set -euo pipefail
: "${GTEE_CLI:?GTEE_CLI not set}"
dir=$(mktemp -d "${TMPDIR:-/tmp}/gtee-krcli-XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$GTEE_CLI" keyrelease init "$dir/master" >/dev/null
[ "$(stat -c %a "$dir/master")" = 600 ] || { echo "mode is not 600"; exit 1; }
[ "$(stat -c %s "$dir/master")" = 32 ] || { echo "size is not 32"; exit 1; }
before=$(sha256sum "$dir/master")
if "$GTEE_CLI" keyrelease init "$dir/master" 2>/dev/null; then echo "overwrote an existing secret"; exit 1; fi
[ "$(sha256sum "$dir/master")" = "$before" ] || { echo "secret changed"; exit 1; }
"$GTEE_CLI" keyrelease init "$dir/other" >/dev/null
[ "$(sha256sum < "$dir/master")" != "$(sha256sum < "$dir/other")" ] || { echo "two secrets are equal"; exit 1; }
echo ok
