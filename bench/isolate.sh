#!/bin/sh
# bench/isolate.sh - the isolate front (`jobrun isolate`, docs/isolate.md) against ioi/isolate
# 1.10.1 itself: the `--init`, `--run -- /bin/true`, `--cleanup` cycle a grader pays per box.
#
#   sh bench/isolate.sh [BUILD_DIR]    (POSIX sh, as root; `make bench` runs it after serve.sh)
#
# isolate is built from source at bench time (it is not packaged in Debian 12), from
# $ISOLATE_SRC or else bench/isolate-src/ (gitignored: never commit it), e.g.
#     git clone -b v1.10.1 https://github.com/ioi/isolate bench/isolate-src
# copied to the output directory and built there with `make isolate CONFIG=<private file>`
# (needs libcap-dev). Its config is private: box_root in the output directory, cg_root
# /sys/fs/cgroup (isolate 1.10 drives the v1 memory, cpuacct and cpuset hierarchies mounted
# there) with a cg_parent of this run's own that the script makes and removes, uids 1700000000+.
# When isolate cannot be built or run, a `bench: SKIP isolate: <why>` line says so and jobrun is
# still timed.
#
# Each cycle is a small /bin/sh script (one per row) run by `hyperfine -N`: the script's shell
# and its three fork+execs are the same for every row, and measured alone as the floor row.
# ROUNDS interleaved hyperfine calls, the row order reversed every other round; median, mean, σ
# over the pooled per-run times; ratio = jobrun's median over isolate --cg's (goal <= 0.6).
#
# Knobs (environment): RUNS (300 per row), ROUNDS (3), WARMUP (10 per round), OUT,
# ISOLATE_SRC, JR_BOX (jobrun's box id, 99990), ISO_BOX (isolate's, 0). Raw output in
# bench/out/isolate-<date>/ (gitignored): hyperfine.log, latency-*.json, latency.tsv, table.md,
# meta.txt, isolate-build.log.
set -eu
export LC_ALL=C

BUILD=${1:-build}
RUNS=${RUNS:-300}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-10}
JR_BOX=${JR_BOX:-99990}
ISO_BOX=${ISO_BOX:-0}
HERE=$(cd "$(dirname "$0")" && pwd)
ISOLATE_SRC=${ISOLATE_SRC:-$HERE/isolate-src}
OUT=${OUT:-$HERE/out/isolate-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

command -v hyperfine >/dev/null 2>&1 || die "hyperfine is not installed (apt-get install hyperfine)"
command -v jq >/dev/null 2>&1 || die "jq is not installed (apt-get install jq)"
[ "$(id -u)" = 0 ] || die "must run as root (jobrun isolate and isolate need it)"
JOBRUN=$BUILD/jobrun
[ -d "$BUILD" ] && JOBRUN=$(cd "$BUILD" && pwd)/jobrun
[ -x "$JOBRUN" ] || die "$JOBRUN is not built (make BUILD=$BUILD)"

ISO=""                                  # the built isolate, once it works
ISO_DIR=$OUT/isolate                    # its config, box root and build
CGP=jobrun-bench-isolate-$$             # its cg_parent in each v1 hierarchy it uses
CGS="memory cpuacct cpuset"

cleanup() {
    "$JOBRUN" isolate -b "$JR_BOX" --cleanup >/dev/null 2>&1 || :
    if [ -n "$ISO" ]; then
        "$ISO" --cg -b "$ISO_BOX" --cleanup >/dev/null 2>&1 || :
        "$ISO" -b "$ISO_BOX" --cleanup >/dev/null 2>&1 || :
    fi
    for c in $CGS; do
        d=/sys/fs/cgroup/$c/$CGP
        [ -d "$d" ] || continue
        for b in "$d"/box-*; do [ -d "$b" ] && rmdir "$b" 2>/dev/null; done
        rmdir "$d" 2>/dev/null || say "bench: could not remove $d (remove it by hand)"
    done
    rm -rf "$ISO_DIR/boxes" "$ISO_DIR/build"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# --- the cycles -----------------------------------------------------------------------------
# ROWS: name|script; each script exits non-zero if a step fails (hyperfine then stops).
ROWS=$OUT/rows.txt
: >"$ROWS"
row() { # NAME FILE BODY
    printf '#!/bin/sh\nset -e\n%s\n' "$3" >"$2"
    printf '%s|%s\n' "$1" "$2" >>"$ROWS"
}
skip() { say "bench: SKIP $1: $2"; printf '%s (%s)\n' "$1" "$2" >>"$OUT/skipped.txt"; }

FLOOR="the floor: sh running /bin/true 3 times"
JRNAME="jobrun isolate --cg: --init, --run -- /bin/true, --cleanup"
row "$FLOOR" "$OUT/cycle-floor.sh" "/bin/true >/dev/null
/bin/true 2>/dev/null
/bin/true"
row "$JRNAME" "$OUT/cycle-jobrun.sh" "$JOBRUN isolate --cg -b $JR_BOX --init >/dev/null
$JOBRUN isolate --cg -b $JR_BOX --run -- /bin/true 2>/dev/null
$JOBRUN isolate --cg -b $JR_BOX --cleanup"
"$JOBRUN" isolate -b "$JR_BOX" --cleanup >/dev/null 2>&1 || :
sh "$OUT/cycle-jobrun.sh" >/dev/null 2>"$OUT/probe.err" ||
    die "jobrun's cycle fails: $(tail -n1 "$OUT/probe.err")"

# --- isolate: build, configure, check -------------------------------------------------------
isolate_setup() {
    if [ ! -f "$ISOLATE_SRC/isolate.c" ] || [ ! -f "$ISOLATE_SRC/Makefile" ]; then
        why="no isolate source in \$ISOLATE_SRC or $HERE/isolate-src (git clone -b v1.10.1 https://github.com/ioi/isolate bench/isolate-src)"
        return 1
    fi
    ISO_VER=$(sed -n 's/^VERSION=//p' "$ISOLATE_SRC/Makefile")
    [ "$ISO_VER" = 1.10.1 ] || say "bench: isolate source is version '$ISO_VER', not 1.10.1"
    [ -f /usr/include/sys/capability.h ] || { why="libcap-dev is not installed"; return 1; }
    for c in $CGS; do
        [ -d "/sys/fs/cgroup/$c" ] || {
            why="no cgroup v1 $c hierarchy at /sys/fs/cgroup/$c (isolate 1.10 needs v1)"
            return 1
        }
    done
    mkdir -p "$ISO_DIR/build" "$ISO_DIR/boxes"
    chmod 0755 "$ISO_DIR" "$ISO_DIR/boxes"
    (cd "$ISOLATE_SRC" && tar -c --exclude=.git .) | tar -x -C "$ISO_DIR/build"
    cat >"$ISO_DIR/isolate.cf" <<EOF
box_root = $ISO_DIR/boxes
cg_root = /sys/fs/cgroup
cg_parent = $CGP
first_uid = 1700000000
first_gid = 1700000000
num_boxes = 10
EOF
    make -C "$ISO_DIR/build" isolate CONFIG="$ISO_DIR/isolate.cf" >"$OUT/isolate-build.log" 2>&1 || {
        why="make isolate failed: $(tail -n1 "$OUT/isolate-build.log")"
        return 1
    }
    for c in $CGS; do
        mkdir "/sys/fs/cgroup/$c/$CGP" || { why="cannot create /sys/fs/cgroup/$c/$CGP"; return 1; }
    done
    if ! { cat /sys/fs/cgroup/cpuset/cpuset.cpus >"/sys/fs/cgroup/cpuset/$CGP/cpuset.cpus" &&
        cat /sys/fs/cgroup/cpuset/cpuset.mems >"/sys/fs/cgroup/cpuset/$CGP/cpuset.mems"; }; then
        why="cannot set cpuset.cpus/mems of /sys/fs/cgroup/cpuset/$CGP"
        return 1
    fi
    ISO=$ISO_DIR/build/isolate
    "$ISO" --cg -b "$ISO_BOX" --cleanup >/dev/null 2>&1 || :
    for cg in "--cg " ""; do
        # shellcheck disable=SC2086
        { "$ISO" $cg-b "$ISO_BOX" --init >/dev/null &&
            "$ISO" $cg-b "$ISO_BOX" --run -- /bin/true 2>/dev/null &&
            "$ISO" $cg-b "$ISO_BOX" --cleanup; } >/dev/null 2>"$OUT/probe.err" || {
            why="isolate ${cg}cycle fails: $(tail -n1 "$OUT/probe.err")"
            return 1
        }
    done
}
why=""
ISO_VER=""
if isolate_setup; then
    INAME="isolate $ISO_VER --cg: --init, --run -- /bin/true, --cleanup"
    row "$INAME" "$OUT/cycle-isolate-cg.sh" "$ISO --cg -b $ISO_BOX --init >/dev/null
$ISO --cg -b $ISO_BOX --run -- /bin/true 2>/dev/null
$ISO --cg -b $ISO_BOX --cleanup"
    row "isolate $ISO_VER without --cg (no cgroup, no accounting)" "$OUT/cycle-isolate.sh" \
        "$ISO -b $ISO_BOX --init >/dev/null
$ISO -b $ISO_BOX --run -- /bin/true 2>/dev/null
$ISO -b $ISO_BOX --cleanup"
else
    INAME=""
    skip isolate "$why"
fi

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "jobrun: $JOBRUN ($(git -C "$HERE/.." describe --always --dirty 2>/dev/null || echo '?'))"
    [ -z "$INAME" ] || echo "isolate: $("$ISO" --version 2>&1 | head -n1) from $ISOLATE_SRC"
    echo "kernel: $(uname -r), $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "hyperfine: $(hyperfine --version)"
    echo "RUNS=$RUNS ROUNDS=$ROUNDS WARMUP=$WARMUP"
} >"$OUT/meta.txt"

# --- timing ---------------------------------------------------------------------------------
PER=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
say "bench: isolate cycle, $ROUNDS rounds of $PER runs per row (hyperfine -N; log in $OUT/hyperfine.log)"
: >"$OUT/hyperfine.log"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    set --
    if [ $((r % 2)) = 1 ]; then order="cat"; else order="tac"; fi
    while IFS='|' read -r name file; do set -- "$@" -n "$name" "/bin/sh $file"; done <<EOT
$($order "$ROWS")
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
        .t[($n * 0.1 | floor)] * 1000, .t[($n * 0.9 | floor)] * 1000,
        $mean * 1000,
        (if $n > 1 then ((.t | map((. - $mean) * (. - $mean)) | add) / ($n - 1) | sqrt) * 1000
         else 0 end),
        $n ] | @tsv' "$OUT"/latency-*.json >"$OUT/latency.tsv"

med() { awk -F'\t' -v n="$1" '$1 == n { print $2 }' "$OUT/latency.tsv"; }
FLOOR_MS=$(med "$FLOOR")
JR_MS=$(med "$JRNAME")
ISO_MS=""
[ -z "$INAME" ] || ISO_MS=$(med "$INAME")
{
    echo "| row | median ms | p10 ms | p90 ms | mean ms | σ ms | runs | / isolate --cg | net of the floor, / isolate --cg's |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    while IFS='|' read -r name file; do
        awk -F'\t' -v n="$name" -v i="$ISO_MS" -v f="$FLOOR_MS" '$1 == n {
            r = (i == "") ? "" : sprintf("%.2f", $2 / i)
            q = (i == "" || n ~ /^the floor/) ? "" : sprintf("%.2f", ($2 - f) / (i - f))
            printf "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %d | %s | %s |\n",
                n, $2, $3, $4, $5, $6, $7, r, q }' "$OUT/latency.tsv"
    done <"$ROWS"
} >"$OUT/table.md"
cat "$OUT/meta.txt" "$OUT/table.md"
if [ -n "$ISO_MS" ]; then
    awk -v j="$JR_MS" -v i="$ISO_MS" -v f="$FLOOR_MS" 'BEGIN {
        printf "goal: jobrun isolate cycle <= 0.6x isolate --cg cycle: %.2f / %.2f ms = %.2fx (net of the floor %.2fx): %s\n",
            j, i, j / i, (j - f) / (i - f), (j / i <= 0.6) ? "met" : "NOT met" }'
else
    printf "goal: jobrun isolate cycle <= 0.6x isolate's: not measured (isolate skipped; jobrun %.2f ms)\n" "$JR_MS"
fi
