#!/usr/bin/env bash
# `make` on a machine without the build's Debian packages names them and says that `make
# deps` installs them, before CMake runs (scripts/check-deps.sh, over scripts/debian-packages,
# the list scripts/install-deps.sh installs from). A fake dpkg-query on PATH reports one
# package of each group missing.
set -uo pipefail
: "${GTEE_SOURCE_DIR:?}"
. "$GTEE_SOURCE_DIR/tests/bg.sh"
T=$(mktemp -d)
at_exit 'rm -rf "$T"'
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
check="$GTEE_SOURCE_DIR/scripts/check-deps.sh"
list="$GTEE_SOURCE_DIR/scripts/debian-packages"

build_pkg=$(sed -n 's/^build:[[:space:]]*//p' "$list" | tr ' ' '\n' | grep -x libsecp256k1-dev)
test_pkg=$(sed -n 's/^test:[[:space:]]*//p' "$list" | tr ' ' '\n' | grep -x dataset-fashion-mnist)
[ -n "$build_pkg" ] && [ -n "$test_pkg" ] || bad "scripts/debian-packages lacks libsecp256k1-dev (build) or dataset-fashion-mnist (test)"

# dpkg-query as Debian's answers -W -f='${Status}' PKG: installed, except the packages in $MISSING.
mkdir -p "$T/bin"
cat >"$T/bin/dpkg-query" <<'EOS'
#!/usr/bin/env bash
pkg=${!#}
for m in $MISSING; do
    if [ "$m" = "$pkg" ]; then echo "dpkg-query: no packages found matching $pkg" >&2; exit 1; fi
done
printf 'install ok installed'
EOS
chmod +x "$T/bin/dpkg-query"

# run_check MISSING ARGS...: the check with the fake dpkg-query first on PATH.
run_check() {
    local m=$1
    shift
    MISSING="$m" PATH="$T/bin:$PATH" bash "$check" "$@" >"$T/out" 2>"$T/err"
    rc=$?
}

run_check ""
[ "$rc" = 0 ] || bad "all present: exit $rc: $(cat "$T/err")"
[ ! -s "$T/err" ] || bad "all present: said $(cat "$T/err")"

run_check "$build_pkg"
[ "$rc" = 1 ] || bad "a build package missing: exit $rc, want 1"
grep -q "missing Debian packages: $build_pkg\$" "$T/err" || bad "the missing package is not named: $(cat "$T/err")"
grep -q "'make deps' (or scripts/install-deps.sh" "$T/err" || bad "the fix is not named: $(cat "$T/err")"

run_check "$test_pkg"
[ "$rc" = 0 ] || bad "a test package missing fails the build check (exit $rc)"
run_check "$test_pkg $build_pkg" --all
[ "$rc" = 1 ] || bad "--all, two missing: exit $rc, want 1"
grep -q "missing Debian packages: $build_pkg $test_pkg\$" "$T/err" || bad "--all names: $(cat "$T/err")"
run_check "$test_pkg $build_pkg" --all --list
[ "$rc" = 0 ] && [ "$(cat "$T/out")" = "$build_pkg"$'\n'"$test_pkg" ] || bad "--list: exit $rc, out '$(cat "$T/out")'"

# Without dpkg-query (not Debian): said so, exit 2, which `make` lets CMake go on from.
mkdir -p "$T/nodpkg"
for tool in bash sed grep dirname; do ln -s "$(command -v "$tool")" "$T/nodpkg/$tool"; done
PATH="$T/nodpkg" "$T/nodpkg/bash" "$check" >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 2 ] && grep -q "no dpkg-query" "$T/err" || bad "without dpkg-query: exit $rc: $(cat "$T/err")"

# make itself stops before CMake, naming the package: its build directory is never made.
if command -v make >/dev/null; then
    MISSING="$build_pkg" PATH="$T/bin:$PATH" make -s -C "$GTEE_SOURCE_DIR" BUILD="$T/build" >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" != 0 ] || bad "make with $build_pkg missing succeeded"
    grep -q "missing Debian packages: $build_pkg" "$T/err" || bad "make did not name $build_pkg: $(head -c 600 "$T/err")"
    [ ! -e "$T/build" ] || bad "make ran CMake although $build_pkg is missing"
fi
exit $fail
