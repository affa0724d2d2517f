#!/bin/sh
# Run the test suites and print one summary line: "N passed, N failed, N skipped".
#   tests/run-all.sh [--unit-only | --root-only] [--lane NAME] BUILD_DIR
# Unit tests (cmocka, no root) print TAP via CMOCKA_MESSAGE_OUTPUT=TAP; integration tests
# (tests/integration/*.sh, root) print TAP themselves. A test program that exits non-zero
# without reporting a failure counts as one failure.
set -u
mode=all
lane=host
while [ $# -gt 1 ]; do
	case "$1" in
	--unit-only) mode=unit ;;
	--root-only) mode=root ;;
	--lane) lane=$2; shift ;;
	*) break ;;
	esac
	shift
done
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
log=$(mktemp /tmp/jobrun-tests.XXXXXX)
trap 'rm -f "$log"' EXIT INT TERM

pass=0 fail=0 skip=0 failed_names=""

count() { # $1 = name, TAP on stdin file $2, exit code $3
	p=$(grep '^ok ' "$2" | grep -vc '# [Ss][Kk][Ii][Pp]')
	s=$(grep '^ok ' "$2" | grep -c '# [Ss][Kk][Ii][Pp]')
	f=$(grep -c '^not ok ' "$2")
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $1 exited with status $3 without reporting a failure"
	fi
	pass=$((pass + p)) skip=$((skip + s)) fail=$((fail + f))
	[ "$f" -gt 0 ] && failed_names="$failed_names $1"
}

run_one() { # $1 = name, rest = command
	name=$1
	shift
	echo "# --- $name ($lane)"
	"$@" >"$log" 2>&1
	rc=$?
	sed 's/^/  /' "$log" | grep -v '^  $'
	count "$name" "$log" "$rc"
}

if [ "$mode" != root ]; then
	for t in "$build"/tests/test_*; do
		[ -x "$t" ] || continue
		run_one "unit/$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
	done
fi
if [ "$mode" != unit ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "# integration tests need root: skipped"
		skip=$((skip + 1))
	else
		for t in "$here"/integration/[0-9]*.sh; do
			[ -f "$t" ] || continue
			run_one "integration/$(basename "$t" .sh)" env JOBRUN="$build/jobrun" \
				PROBE="$build/probe" JOBRUN_LANE="$lane" bash "$t"
		done
	fi
fi
[ -n "$failed_names" ] && echo "# failed:$failed_names"
echo "$lane: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
