#!/bin/sh
# bench/ab.sh - builds of jobrun side by side (before/after a change), with bwrap as the yardstick.
#
#   sh bench/ab.sh [NAME=]DIR...           (each DIR holds jobrun and jobrun-init)
#
# Latency only: hyperfine -N, RUNS runs per row split over ROUNDS interleaved rounds (the row
# order reversed every other round), statistics over the pooled per-run times, as bench/run.sh
# does; plus the CPU time (user+sys of the tool and its children, hyperfine's mean per round,
# averaged), which other load on the machine disturbs less than the wall-clock times. Each build gets two rows: `jobrun run` and `jobrun run` with memory+cpu+pids limits
# (JOBRUN_ARGS overrides the limits row's options); bwrap --unshare-all is added when installed.
# Compare rows within one run only: the host is shared and noisy (bench/README.md).
#
# Knobs (environment): RUNS (200), ROUNDS (4), WARMUP (10 per round), JOBRUN_ARGS
# ("--memory 256M --pids 64 --cpus 1"), PLAIN (1: also the rows without limits), OUT.
set -eu
export LC_ALL=C

RUNS=${RUNS:-200}
ROUNDS=${ROUNDS:-4}
WARMUP=${WARMUP:-10}
JOBRUN_ARGS=${JOBRUN_ARGS:---memory 256M --pids 64 --cpus 1}
PLAIN=${PLAIN:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/out/ab-$(date +%Y%m%d-%H%M%S)}

die() { printf 'ab: %s\n' "$*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: sh bench/ab.sh [NAME=]DIR..."
command -v hyperfine >/dev/null 2>&1 || die "hyperfine is not installed"
command -v jq >/dev/null 2>&1 || die "jq is not installed"
[ "$(id -u)" = 0 ] || die "must run as root"
mkdir -p "$OUT"

TOOLS=$OUT/tools.txt
: >"$TOOLS"
for a in "$@"; do
    case $a in *=*) name=${a%%=*} dir=${a#*=} ;; *) name=$a dir=$a ;; esac
    [ -x "$dir/jobrun" ] || die "$dir/jobrun: not found"
    dir=$(cd "$dir" && pwd)
    # shellcheck disable=SC2086
    "$dir/jobrun" run $JOBRUN_ARGS -- /bin/true >/dev/null || die "$dir/jobrun does not run"
    [ "$PLAIN" = 1 ] && printf '%s|%s\n' "$name: jobrun run" "$dir/jobrun run -- /bin/true" >>"$TOOLS"
    printf '%s|%s\n' "$name: jobrun run, limits" "$dir/jobrun run $JOBRUN_ARGS -- /bin/true" >>"$TOOLS"
done
if command -v bwrap >/dev/null 2>&1; then
    B="bwrap --unshare-all --ro-bind /usr /usr"
    for d in bin lib lib32 lib64 libx32 sbin; do
        if [ -L "/$d" ]; then B="$B --symlink $(readlink "/$d") /$d"
        elif [ -d "/$d" ]; then B="$B --ro-bind /$d /$d"; fi
    done
    B="$B --proc /proc --dev /dev --tmpfs /tmp /bin/true"
    # shellcheck disable=SC2086
    $B 2>/dev/null && printf '%s|%s\n' "bwrap --unshare-all" "$B" >>"$TOOLS"
fi

echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)" >"$OUT/meta.txt"
PER=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
r=1
while [ "$r" -le "$ROUNDS" ]; do
    set --
    if [ $((r % 2)) = 1 ]; then order="cat"; else order="tac"; fi
    while IFS='|' read -r name cmd; do set -- "$@" -n "$name" "$cmd"; done <<EOT
$($order "$TOOLS")
EOT
    hyperfine -N --style basic --warmup "$WARMUP" --runs "$PER" \
        --export-json "$OUT/latency-$r.json" "$@" >>"$OUT/hyperfine.log" 2>&1 \
        || die "hyperfine failed: see $OUT/hyperfine.log"
    r=$((r + 1))
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"

# median, p10, p90, mean over the pooled runs, in the order of TOOLS
jq -rs '[.[].results[]] | group_by(.command)[]
    | { name: .[0].command, t: ([.[].times[]] | sort), u: [.[] | .user + .system] }
    | (.t | length) as $n
    | [ .name,
        (if $n % 2 == 1 then .t[($n - 1) / 2] else (.t[$n / 2 - 1] + .t[$n / 2]) / 2 end) * 1000,
        .t[($n * 0.1 | floor)] * 1000, .t[($n * 0.9 | floor)] * 1000,
        (.t | add / $n) * 1000, $n,
        (.u | add / length) * 1000 ] | @tsv' "$OUT"/latency-*.json >"$OUT/latency.tsv"
{
    sed 's/^/<!-- /; s/$/ -->/' "$OUT/meta.txt"
    echo
    echo "| row | median ms | p10 ms | p90 ms | mean ms | CPU ms (user+sys) | runs |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    while IFS='|' read -r name cmd; do
        awk -F'\t' -v n="$name" '$1 == n {
            printf "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %d |\n", $1, $2, $3, $4, $5, $7, $6 }' \
            "$OUT/latency.tsv"
    done <"$TOOLS"
} >"$OUT/table.md"
cat "$OUT/table.md"
printf 'ab: raw results in %s\n' "$OUT" >&2
