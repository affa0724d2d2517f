#!/bin/sh
# bench/run.sh - jobrun side by side with its peers, on /bin/true.
#
#   sh bench/run.sh [BUILD_DIR]        (POSIX sh; `make bench` runs `sh bench/run.sh build`)
#
# Latency: hyperfine -N (no shell), warmup, RUNS runs per tool split over ROUNDS interleaved
# rounds; median, mean and σ over the pooled per-run times of its JSON exports.
# Throughput: JOBS jobs through `xargs -P1` and `xargs -P2`, wall-clocked, REPS times, median
# jobs/s. A peer that is not installed is skipped with a line saying so. Raw output goes to
# bench/out/<date>/ (gitignored). Needs root (jobrun, unshare and the namespaces need it),
# hyperfine and jq; bwrap is optional. See bench/README.md.
#
# Knobs (environment): RUNS (300), ROUNDS (3), WARMUP (20 per round), JOBS (400), REPS (3),
# OUT (output dir).
set -eu
export LC_ALL=C

BUILD=${1:-build}
RUNS=${RUNS:-300}
WARMUP=${WARMUP:-20}
JOBS=${JOBS:-400}
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-3}

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/out/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

command -v hyperfine >/dev/null 2>&1 || die "hyperfine is not installed (apt-get install hyperfine)"
command -v jq >/dev/null 2>&1 || die "jq is not installed (apt-get install jq)"
[ "$(id -u)" = 0 ] || die "must run as root (jobrun and the namespace peers need it)"

JOBRUN=$BUILD/jobrun
[ -d "$BUILD" ] && JOBRUN=$(cd "$BUILD" && pwd)/jobrun

# The tools: name|command. Commands are split on blanks (hyperfine -N and xargs alike), so no
# argument may contain a blank or a quote.
TOOLS=$OUT/tools.txt
: >"$TOOLS"
add() { printf '%s|%s\n' "$1" "$2" >>"$TOOLS"; }
skip() { say "bench: SKIP $1: $2"; printf '%s (%s)\n' "$1" "$2" >>"$OUT/skipped.txt"; }

# Run a command once and make sure it works before timing it.
works() { "$@" >/dev/null 2>"$OUT/probe.err"; }

add "fork+exec /bin/true" "/bin/true"

if command -v unshare >/dev/null 2>&1; then
    U="unshare --pid --fork --net --uts --ipc --mount --cgroup /bin/true"
    # shellcheck disable=SC2086
    if works $U; then add "unshare (same namespaces, host root)" "$U"
    else skip "unshare" "$(head -c 200 "$OUT/probe.err")"; fi
else
    skip "unshare" "not installed (util-linux)"
fi

if command -v bwrap >/dev/null 2>&1; then
    # Mirror the host's merged-/usr layout: each top-level /bin, /lib* or /sbin symlink becomes
    # the same symlink inside, and a real directory is bound read-only.
    B="bwrap --unshare-all --ro-bind /usr /usr"
    for d in bin lib lib32 lib64 libx32 sbin; do
        if [ -L "/$d" ]; then B="$B --symlink $(readlink "/$d") /$d"
        elif [ -d "/$d" ]; then B="$B --ro-bind /$d /$d"; fi
    done
    B="$B --proc /proc --dev /dev --tmpfs /tmp /bin/true"
    # shellcheck disable=SC2086
    if works $B; then add "bwrap --unshare-all" "$B"
    else skip "bwrap" "$(head -c 200 "$OUT/probe.err")"; fi
else
    skip "bwrap" "not installed (apt-get install bubblewrap)"
fi

if [ -x "$JOBRUN" ]; then
    J="$JOBRUN run -- /bin/true"
    # shellcheck disable=SC2086
    if works $J; then add "jobrun run" "$J"
    else skip "jobrun" "$(head -c 200 "$OUT/probe.err")"; fi
else
    skip "jobrun" "$BUILD/jobrun not built (make BUILD=$BUILD)"
fi

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -srm), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "hyperfine: $(hyperfine --version)"
    command -v bwrap >/dev/null 2>&1 && echo "bwrap: $(bwrap --version)"
    echo "jobrun: $JOBRUN ($(git -C "$HERE/.." describe --always --dirty 2>/dev/null || echo '?'))"
    echo "runs=$RUNS rounds=$ROUNDS warmup=$WARMUP jobs=$JOBS reps=$REPS"
} >"$OUT/meta.txt"

# --- latency --------------------------------------------------------------------------------
# ROUNDS hyperfine calls of RUNS/ROUNDS runs each, the tool order reversed every other round,
# so that a slow spell of the (shared) machine does not land on one tool only. Statistics are
# taken over the pooled per-run times.
PER=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
say "bench: latency, $ROUNDS rounds of $PER runs per tool (hyperfine -N; log in $OUT/hyperfine.log)"
: >"$OUT/hyperfine.log"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    set --
    if [ $((r % 2)) = 1 ]; then order="cat"; else order="tac"; fi
    # shellcheck disable=SC2094
    while IFS='|' read -r name cmd; do set -- "$@" -n "$name" "$cmd"; done <<EOT
$($order "$TOOLS")
EOT
    hyperfine -N --style basic --warmup "$WARMUP" --runs "$PER" \
        --export-json "$OUT/latency-$r.json" "$@" >>"$OUT/hyperfine.log" 2>&1 \
        || die "hyperfine failed: see $OUT/hyperfine.log"
    r=$((r + 1))
done
jq -rs '[.[].results[]] | group_by(.command)[]
    | { name: .[0].command, t: ([.[].times[]] | sort) } | (.t | length) as $n
    | (.t | add / $n) as $mean
    | [ .name,
        (if $n % 2 == 1 then .t[($n - 1) / 2] else (.t[$n / 2 - 1] + .t[$n / 2]) / 2 end) * 1000,
        $mean * 1000,
        (if $n > 1 then ((.t | map((. - $mean) * (. - $mean)) | add) / ($n - 1) | sqrt) * 1000
         else 0 end),
        $n ] | @tsv' "$OUT"/latency-*.json >"$OUT/latency.tsv"

# --- throughput -----------------------------------------------------------------------------
# JOBS jobs fed to xargs with P of them at a time, each tool in turn, REPS times over. The job
# number is passed as an extra argument, which /bin/true ignores: no shell per job.
say "bench: throughput, $JOBS jobs x $REPS per tool, 1 then 2 at a time (xargs -P)"
now_ns() { date +%s%N; }
FAILED=0
: >"$OUT/throughput.txt"
r=0
while [ "$r" -lt "$REPS" ]; do
    while IFS='|' read -r name cmd; do
        for p in 1 2; do
            t0=$(now_ns)
            # shellcheck disable=SC2086
            if seq "$JOBS" | xargs -n1 -P"$p" $cmd >/dev/null 2>>"$OUT/throughput.err"; then
                t1=$(now_ns)
                printf '%s|%s|%s\n' "$name" "$p" "$(awk -v n="$JOBS" -v a="$t0" -v b="$t1" \
                    'BEGIN { printf "%.1f", n / ((b - a) / 1e9) }')" >>"$OUT/throughput.txt"
            else
                FAILED=1
                say "bench: FAILED $name under xargs -P$p (rep $((r + 1))): $(tail -n1 "$OUT/throughput.err")"
                printf '%s|%s|failed\n' "$name" "$p" >>"$OUT/throughput.txt"
            fi
        done
    done <"$TOOLS"
    r=$((r + 1))
done

# --- table ----------------------------------------------------------------------------------
# median of a tool's jobs/s over its REPS at parallelism P
jps() {
    awk -F'|' -v n="$1" -v p="$2" '$1 == n && $2 == p { print $3 }' "$OUT/throughput.txt" \
        | grep -v failed | sort -n | awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "failed"; exit }
            if (NR % 2) printf "%.0f", v[(NR + 1) / 2]
            else printf "%.0f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
TAB=$(printf '\t')
JMED=$(awk -F"$TAB" '$1 == "jobrun run" { print $2 }' "$OUT/latency.tsv")

{
    sed 's/^/<!-- /; s/$/ -->/' "$OUT/meta.txt"
    echo
    echo "| tool | median ms | mean ms (σ) | median / jobrun's | jobs/s, 1 at a time | jobs/s, 2 at a time |"
    echo "|---|---:|---:|---:|---:|---:|"
    while IFS='|' read -r name cmd; do
        line=$(awk -F"$TAB" -v n="$name" '$1 == n' "$OUT/latency.tsv")
        [ -n "$line" ] || continue
        IFS=$TAB read -r _ med mean sd _ <<EOT
$line
EOT
        ratio=$(awk -v a="$med" -v b="${JMED:-}" 'BEGIN {
            if (b == "") print "n/a"; else printf "%.2f", a / b }')
        printf '| %s | %.2f | %.2f (%.2f) | %s | %s | %s |\n' "$name" "$med" "$mean" "$sd" \
            "$ratio" "$(jps "$name" 1)" "$(jps "$name" 2)"
    done <"$TOOLS"
    if [ -s "$OUT/skipped.txt" ]; then
        echo
        sed 's/^/Skipped: /' "$OUT/skipped.txt"
    fi
} >"$OUT/table.md"

cat "$OUT/table.md"
say "bench: raw results in $OUT"
if [ "$FAILED" = 1 ]; then
    say "bench: some throughput runs failed (medians are over the others): see $OUT/throughput.err"
    exit 1
fi
exit 0
