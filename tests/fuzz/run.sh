#!/bin/sh
# Run each fuzz target briefly (CI) and print one TAP line each: tests/fuzz/run.sh DIR SECONDS
set -u
dir=$1
secs=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
n=0 fail=0
for t in "$dir"/fuzz_*; do
	[ -x "$t" ] || continue
	n=$((n + 1))
	name=$(basename "$t")
	corpus=$(mktemp -d /tmp/jobrun-fuzz.XXXXXX)
	extra=""
	[ "$name" = fuzz_jobconf ] && extra="-dict=$here/jobconf.dict"
	if "$t" -max_total_time="$secs" -max_len=4096 -print_final_stats=0 -artifact_prefix="$corpus/" $extra \
		"$corpus" >"$corpus.log" 2>&1; then
		echo "ok $n - $name ran ${secs}s without a crash"
	else
		echo "not ok $n - $name found a crash:"
		grep -E "ERROR|SUMMARY|Test unit written" "$corpus.log" | sed 's/^/#   /' | head -5
		fail=$((fail + 1))
	fi
	rm -rf "$corpus" "$corpus.log"
done
echo "1..$n"
[ "$fail" -eq 0 ]
