#!/bin/bash
# serve-soak.sh - N short jobs through one `jobrun serve` (default 10,000), 4 clients at a
# time: its open descriptors, the mounts, the job cgroups, the uid leases and its RSS are
# counted after a warm-up and again at the end, and must be the same (RSS within 2 MiB).
# Not part of `make check` (minutes of work): `make soak` runs it. TAP on stdout.
#   sudo bash tests/soak/serve-soak.sh [BUILD_DIR]     N=10000 P=4 (environment)
set -u
BUILD=$(cd "${1:-build}" && pwd)
JOBRUN=$BUILD/jobrun
N=${N:-10000}
P=${P:-4}
T=$(mktemp -d /var/tmp/jobrun-soak.XXXXXX)
chmod 755 "$T"
BASE=$((1800000000 + ($$ % 1000) * 64))
SERVE=
n=0
fail=0
cleanup() {
	[ -n "$SERVE" ] && kill "$SERVE" 2>/dev/null && wait "$SERVE" 2>/dev/null
	umount -R "$T/rt/ws"/* 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; [ -n "${3:-}" ] && echo "#   $3"; fail=$((fail + 1)); fi; }

cat >"$T/jobrun.conf" <<CONF
runtime_dir = "$T/rt"
state_dir = "$T/state"
uid_base = "$BASE"
uid_count = "32"
serve { slots = 2 keep_results = 100 grace = 5s }
CONF
chmod 644 "$T/jobrun.conf"
"$JOBRUN" serve -q --config "$T/jobrun.conf" --socket "$T/s.sock" 2>"$T/serve.log" &
SERVE=$!
for _ in $(seq 50); do [ -S "$T/s.sock" ] && break; sleep 0.1; done
export JOBRUN_SOCKET=$T/s.sock

count() { # fds mounts cgroups leases-held rss_kib
	local fds mounts cgs rss
	fds=$(ls "/proc/$SERVE/fd" | wc -l)
	mounts=$(grep -c " $T/" /proc/self/mounts)
	cgs=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "job-*" 2>/dev/null |
		awk -F'job-' -v b="$BASE" '$NF >= b && $NF < b + 64' | wc -l)
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVE/status")
	echo "$fds $mounts $cgs $rss"
}
batch() { # JOBS
	seq 1 "$1" | xargs -P "$P" -I{} "$JOBRUN" submit --wait -- /bin/true 2>/dev/null |
		grep -c '"verdict": "OK"'
}

warm=$(batch 200)
sleep 1
read -r f0 m0 c0 r0 <<<"$(count)"
echo "# after 200 warm-up jobs: $f0 fds, $m0 mounts, $c0 job cgroups, RSS $r0 KiB"
t0=$(date +%s)
okjobs=$(batch "$N")
t1=$(date +%s)
sleep 2
read -r f1 m1 c1 r1 <<<"$(count)"
echo "# after $N more jobs in $((t1 - t0)) s: $f1 fds, $m1 mounts, $c1 job cgroups, RSS $r1 KiB"
ok $(( warm == 200 && okjobs == N ? 0 : 1 )) "every job OK ($warm + $okjobs of 200 + $N)"
ok $(( f1 == f0 ? 0 : 1 )) "serve's open descriptors: $f0 before, $f1 after"
ok $(( m1 == m0 ? 0 : 1 )) "mounts under the soak's directory: $m0 before, $m1 after"
ok $(( c1 == c0 && c1 == 0 ? 0 : 1 )) "job cgroups of the soak's uid range: $c0 before, $c1 after"
ok $(( r1 - r0 <= 2048 ? 0 : 1 )) "serve's RSS: $r0 KiB before, $r1 KiB after (at most 2 MiB more)"
st=$("$JOBRUN" status --json | jq -r '"\(.submitted) \(.verdicts.OK) \(.verdicts.XX)"')
ok $([ "$st" = "$((N + 200)) $((N + 200)) 0" ]; echo $?) "serve counted $((N + 200)) submitted and OK, no XX ($st)"
kill -TERM "$SERVE"; wait "$SERVE"; rc=$?; SERVE=
ok "$rc" "SIGTERM: serve exits 0 ($rc)"
left=$(find "$T/state/serve" -name '*.req' -o -name '*.started' | wc -l)
ok $(( left == 0 ? 0 : 1 )) "no request left unfinished in the state directory ($left)"
echo "1..$n"
[ "$fail" -eq 0 ]
