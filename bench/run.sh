#!/bin/sh
# bench/run.sh - jobrun side by side with its peers, on /bin/true.
#
#   sh bench/run.sh [BUILD_DIR]        (POSIX sh; `make bench` runs `sh bench/run.sh build`)
#
# Latency: hyperfine -N (no shell), warmup, RUNS runs per tool split over ROUNDS interleaved
# rounds; median, mean and σ over the pooled per-run times of its JSON exports.
# Throughput: JOBS jobs through `xargs -P1` and `xargs -P2`, wall-clocked, REPS times, median
# jobs/s. A peer that is not installed is skipped with a line saying so; isolate and nsjail (not
# in Debian) are shown as reference rows from earlier measurements, marked as such.
# Attach wait: jobrun (cgroup v1 here) IDLE_RUNS times with a 100 ms sleep before each run
# against back to back (in ROUNDS alternating rounds), with bwrap (no cgroup) as the control;
# then the v1 cgroup.procs write alone (bench/attach.c) after gaps of 100, 20, 5 and 0 ms, in a
# pids cgroup the script makes and removes.
# Raw output goes to bench/out/<date>/ (gitignored). Needs root (jobrun, unshare, the namespaces
# and the cgroup need it), hyperfine and jq; bwrap and a C compiler are optional. See
# bench/README.md.
#
# Knobs (environment): RUNS (300), ROUNDS (3), WARMUP (20 per round), JOBS (400), REPS (3),
# IDLE_RUNS (30), OUT (output dir), CC (cc).
set -eu
export LC_ALL=C

BUILD=${1:-build}
RUNS=${RUNS:-300}
WARMUP=${WARMUP:-20}
JOBS=${JOBS:-400}
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-3}
IDLE_RUNS=${IDLE_RUNS:-30}
CC=${CC:-cc}
LIMNAME="jobrun run with memory+cpu+pids limits"

# Figures measured earlier on these machines (../shared/notes/anchors.md) for the peers that
# cannot be installed here: name|median ms|jobs/s 1 at a time|jobs/s 2 at a time.
REFS="isolate 1.10 init+run+cleanup, cgroup v1|8.9-9.4|106-127|186-221
isolate 1.10 --run, cgroup v1 (box already made)|4.18|230|324
nsjail, cgroup v1 memory+pids+cpu|7.49|132|221"
ISOLATE_CYCLE_MS=8.9   # the low end of isolate's init+run+cleanup
BWRAP_REF_MS=5.45      # bwrap --unshare-all in the same earlier measurements

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/out/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

# The attach measurement makes one pids cgroup of its own; it goes away however the script ends.
CG=""
cleanup() {
    if [ -n "$CG" ] && [ -d "$CG" ]; then
        i=0
        while ! rmdir "$CG" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        [ -d "$CG" ] && say "bench: could not remove $CG (remove it by hand)"
    fi
    CG=""
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

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

B=""
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
    else skip "bwrap" "$(head -c 200 "$OUT/probe.err")"; B=""; fi
else
    skip "bwrap" "not installed (apt-get install bubblewrap)"
fi

# Both jobrun rows put the job in a fresh cgroup (accounting only, or with limits too).
JL=""
if [ -x "$JOBRUN" ]; then
    J="$JOBRUN run -- /bin/true"
    # shellcheck disable=SC2086
    if works $J; then add "jobrun run" "$J"
    else skip "jobrun" "$(head -c 200 "$OUT/probe.err")"; J=""; fi
    JL="$JOBRUN run --memory 256M --pids 64 --cpus 1 -- /bin/true"
    # shellcheck disable=SC2086
    if works $JL; then add "$LIMNAME" "$JL"
    else skip "jobrun with limits" "$(head -c 200 "$OUT/probe.err")"; JL=""; fi
else
    skip "jobrun" "$BUILD/jobrun not built (make BUILD=$BUILD)"
fi

for t in isolate nsjail; do
    if command -v "$t" >/dev/null 2>&1; then
        say "bench: NOTE $t is installed, but this script does not run it; reference figures below"
    fi
done
say "bench: isolate and nsjail are not packaged in Debian 12 and cannot be downloaded here:" \
    "the table shows figures measured earlier on these machines, marked" \
    "\"reference, not measured in this run\""

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -srm), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "hyperfine: $(hyperfine --version)"
    command -v bwrap >/dev/null 2>&1 && echo "bwrap: $(bwrap --version)"
    echo "jobrun: $JOBRUN ($(git -C "$HERE/.." describe --always --dirty 2>/dev/null || echo '?'))"
    echo "cgroup mounts: $(awk '$3 == "cgroup" || $3 == "cgroup2" { printf "%s(%s) ", $2, $4 }' /proc/mounts)"
    echo "runs=$RUNS rounds=$ROUNDS warmup=$WARMUP jobs=$JOBS reps=$REPS idle_runs=$IDLE_RUNS"
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
# number is passed as an extra argument, which /bin/true ignores: no shell per job. What the jobs
# print (jobrun's result JSON) goes to a file that is kept only when a repetition fails, and the
# results that are not OK are quoted.
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
            if seq "$JOBS" | xargs -n1 -P"$p" $cmd >"$OUT/tp.out" 2>>"$OUT/throughput.err"; then
                t1=$(now_ns)
                rm -f "$OUT/tp.out"
                printf '%s|%s|%s\n' "$name" "$p" "$(awk -v n="$JOBS" -v a="$t0" -v b="$t1" \
                    'BEGIN { printf "%.1f", n / ((b - a) / 1e9) }')" >>"$OUT/throughput.txt"
            else
                FAILED=1
                kept=$OUT/throughput-failed-$((r + 1))-P$p-$(printf '%s' "$name" | tr -c 'A-Za-z0-9+\n' _).out
                mv "$OUT/tp.out" "$kept"
                say "bench: FAILED $name under xargs -P$p (rep $((r + 1))): $(tail -n1 "$OUT/throughput.err")"
                awk '/"verdict"/ && !/"OK"/ { v = $0; getline; print "bench:   " v " " $0 }' "$kept" \
                    | sed 's/  */ /g' | head -n 5 >&2
                say "bench:   the jobs' output: $kept"
                printf '%s|%s|failed\n' "$name" "$p" >>"$OUT/throughput.txt"
            fi
        done
    done <"$TOOLS"
    r=$((r + 1))
done

# --- attach wait ----------------------------------------------------------------------------
# A v1 cgroup.procs write (jobrun's child makes one per hierarchy) takes the cgroup
# threadgroup rwsem for writing; when no migration happened for about a grace period, that waits
# for an RCU grace period. hyperfine's --prepare runs `sleep 0.1` before each timed run to make
# the gap; bwrap, which uses no cgroup, is the control for what an idle gap costs anyway (caches,
# an idle vCPU waking up).
med() { sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "n/a"; exit }
    if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
p90() { sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "n/a"; exit }
    i = int(NR * 0.9 + 0.999); if (i < 1) i = 1; printf "%.2f", v[i] }'; }
# median ms over the pooled runs of hyperfine JSON exports
jmed() { jq -r '.results[0].times[] * 1000' "$@" | med; }

# ROUNDS rounds per tool, each a back-to-back and an idle-gap hyperfine call of IDLE_RUNS/ROUNDS
# runs, their order swapped every other round, so that the two sides see the same machine.
IDLE=$OUT/idle.txt
: >"$IDLE"
PERI=$(( (IDLE_RUNS + ROUNDS - 1) / ROUNDS ))
say "bench: attach wait, $ROUNDS rounds of $PERI runs per tool, back to back and after 100 ms idle"
idle_one() { # FILE NAME CMD [hyperfine options]
    f=$1 nm=$2 c=$3; shift 3
    hyperfine -N --style basic --runs "$PERI" --export-json "$f" "$@" -n "$nm" "$c" \
        >>"$OUT/hyperfine.log" 2>&1 || die "hyperfine failed: see $OUT/hyperfine.log"
}
n=0
for pair in "$LIMNAME|$JL" "jobrun run (accounting cgroup only)|${J:-}" \
    "bwrap --unshare-all (no cgroup: control)|$B"; do
    name=${pair%%|*}; cmd=${pair#*|}
    [ -n "$cmd" ] || continue
    n=$((n + 1))
    r=1
    while [ "$r" -le "$ROUNDS" ]; do
        for side in b2b gap; do
            [ $((r % 2)) = 1 ] || side=$([ "$side" = b2b ] && echo gap || echo b2b)
            if [ "$side" = b2b ]; then
                idle_one "$OUT/idle-$n-b2b-$r.json" "$name" "$cmd" --warmup 5
            else
                idle_one "$OUT/idle-$n-gap-$r.json" "$name" "$cmd" --warmup 1 --prepare "sleep 0.1"
            fi
        done
        r=$((r + 1))
    done
    printf '%s|%s|%s\n' "$name" "$(jmed "$OUT"/idle-$n-b2b-*.json)" "$(jmed "$OUT"/idle-$n-gap-*.json)" \
        >>"$IDLE"
done

# The write alone, in a pids cgroup made for it under this shell's own pids cgroup.
ATTACH=$OUT/attach.txt
: >"$ATTACH"
ATTACH_SKIP=""
PIDS_MNT=$(awk '$3 == "cgroup" && ("," $4 ",") ~ /,pids,/ { print $2; exit }' /proc/mounts)
PIDS_OWN=$(sed -n 's/^[0-9]*:pids:\(.*\)$/\1/p' /proc/self/cgroup)
if [ -z "$PIDS_MNT" ] || [ -z "$PIDS_OWN" ]; then
    ATTACH_SKIP="no cgroup v1 pids hierarchy here"
elif ! command -v "$CC" >/dev/null 2>&1; then
    ATTACH_SKIP="no C compiler ($CC) to build bench/attach.c"
elif ! "$CC" -O2 -o "$OUT/attach" "$HERE/attach.c" 2>"$OUT/attach-cc.err"; then
    ATTACH_SKIP="bench/attach.c did not build: $(head -c 200 "$OUT/attach-cc.err")"
else
    HOME_CG=${PIDS_MNT}${PIDS_OWN%/}
    CG=$HOME_CG/jobrun-bench-$$
    if ! mkdir "$CG" 2>"$OUT/attach.err"; then
        CG=""
        ATTACH_SKIP="cannot create a pids cgroup: $(head -c 200 "$OUT/attach.err")"
    else
        say "bench: attach write alone, $IDLE_RUNS writes after each gap, in $CG"
        for gap in 100 20 5 0; do
            if "$OUT/attach" "$CG" "$HOME_CG" "$gap" "$IDLE_RUNS" >"$OUT/attach-$gap.txt" \
                2>>"$OUT/attach.err"; then
                printf '%s|%s|%s|%s\n' "$gap" \
                    "$(awk '{ print $1 / 1000 }' "$OUT/attach-$gap.txt" | med)" \
                    "$(awk '{ print $1 / 1000 }' "$OUT/attach-$gap.txt" | p90)" \
                    "$(awk '{ print $2 / 1000 }' "$OUT/attach-$gap.txt" | med)" >>"$ATTACH"
            else
                ATTACH_SKIP="attach failed: $(tail -n1 "$OUT/attach.err")"
                break
            fi
        done
        cleanup
    fi
fi
[ -z "$ATTACH_SKIP" ] || say "bench: SKIP attach write alone: $ATTACH_SKIP"

# --- tables ---------------------------------------------------------------------------------
# median of a tool's jobs/s over its REPS at parallelism P
jps() {
    awk -F'|' -v n="$1" -v p="$2" '$1 == n && $2 == p { print $3 }' "$OUT/throughput.txt" \
        | grep -v failed | sort -n | awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "failed"; exit }
            if (NR % 2) printf "%.0f", v[(NR + 1) / 2]
            else printf "%.0f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
TAB=$(printf '\t')
lat() { awk -F"$TAB" -v n="$1" '$1 == n { print $2 }' "$OUT/latency.tsv"; }
JMED=$(lat "jobrun run")
LMED=$(lat "$LIMNAME")
BMED=$(lat "bwrap --unshare-all")

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
    printf '%s\n' "$REFS" | while IFS='|' read -r name ms j1 j2; do
        printf '| %s (*reference, not measured in this run*) | %s | | | %s | %s |\n' \
            "$name" "$ms" "$j1" "$j2"
    done
    echo
    echo "isolate and nsjail are not packaged in Debian 12 and cannot be downloaded here; their rows"
    echo "are figures measured earlier on these machines (../shared/notes/anchors.md), not in this run."
    if [ -s "$OUT/skipped.txt" ]; then
        echo
        sed 's/^/Skipped: /' "$OUT/skipped.txt"
    fi
    echo
    echo "Targets (back-to-back latency medians):"
    if [ -n "$LMED" ] && [ -n "$BMED" ]; then
        awk -v l="$LMED" -v b="$BMED" 'BEGIN {
            printf "- jobrun with limits at or below bwrap'"'"'s median: %.2f ms vs %.2f ms (%+.2f ms): %s\n",
                l, b, l - b, (l <= b) ? "met" : "NOT met" }'
    else
        echo "- jobrun with limits at or below bwrap's median: n/a (one of them did not run)"
    fi
    if [ -n "$LMED" ]; then
        awk -v l="$LMED" -v c="$ISOLATE_CYCLE_MS" 'BEGIN {
            printf "- at most 0.6x isolate'"'"'s init+run+cleanup (reference): 0.6 x %.1f = %.2f ms; jobrun with limits %.2f ms: %s\n",
                c, 0.6 * c, l, (l <= 0.6 * c) ? "met" : "NOT met" }'
        if [ -n "$BMED" ]; then
            # The reference figures come from slower conditions (bwrap was 5.45 ms then):
            # rescale isolate's cycle by today's bwrap over that bwrap for a like-for-like check.
            awk -v l="$LMED" -v c="$ISOLATE_CYCLE_MS" -v b="$BMED" -v br="$BWRAP_REF_MS" 'BEGIN {
                s = b / br
                printf "  (like for like, isolate'"'"'s %.1f ms scaled by bwrap today/then = %.2f/%.2f: %.2f ms, 0.6x = %.2f ms: %s)\n",
                    c, b, br, c * s, 0.6 * c * s, (l <= 0.6 * c * s) ? "met" : "NOT met" }'
        fi
    fi
    echo
    echo "Attach wait after an idle gap ($((PERI * ROUNDS)) runs each side in $ROUNDS alternating rounds;"
    echo "\"idle\" = hyperfine --prepare 'sleep 0.1' before each run):"
    echo
    echo "| job | back to back, median ms | after 100 ms idle, median ms | difference ms |"
    echo "|---|---:|---:|---:|"
    while IFS='|' read -r name b2b gap; do
        printf '| %s | %s | %s | %s |\n' "$name" "$b2b" "$gap" \
            "$(awk -v a="$gap" -v b="$b2b" 'BEGIN { printf "%+.2f", a - b }')"
    done <"$IDLE"
    awk -F'|' '{ d[NR] = $3 - $2; n[NR] = $1 } END {
        if (NR >= 2 && n[1] ~ /limits/ && n[NR] ~ /control/)
            printf "\nAttach wait, jobrun with limits'"'"' difference minus the control'"'"'s: %.2f ms\n",
                d[1] - d[NR] }' "$IDLE"
    echo
    if [ -s "$ATTACH" ]; then
        echo "The v1 cgroup.procs write alone (bench/attach.c: a process moves itself into a pids cgroup"
        echo "and straight back; $IDLE_RUNS writes per gap):"
        echo
        echo "| gap before the write | write in, median ms | write in, p90 ms | write back right after, median ms |"
        echo "|---:|---:|---:|---:|"
        while IFS='|' read -r gap m p b; do
            printf '| %s ms | %s | %s | %s |\n' "$gap" "$m" "$p" "$b"
        done <"$ATTACH"
    else
        echo "The cgroup.procs write alone: not measured ($ATTACH_SKIP)."
    fi
} >"$OUT/table.md"

cat "$OUT/table.md"
say "bench: raw results in $OUT"
if [ "$FAILED" = 1 ]; then
    say "bench: some throughput runs failed (medians are over the others): see $OUT/throughput.err"
    exit 1
fi
exit 0
