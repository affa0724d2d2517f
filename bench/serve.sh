#!/bin/sh
# bench/serve.sh - `jobrun serve` side by side with bwrap and `jobrun run`, on trivial jobs.
#
#   sh bench/serve.sh [BUILD_DIR]      (POSIX sh; `make bench` runs it after bench/run.sh)
#
# Three measurements, each against the goals of the supervisor:
# 1. Throughput of /bin/true, 2 at a time, REPS interleaved repetitions of JOBS jobs per row
#    (the row order reversed every other repetition), median jobs/s: jobrun serve --slots 2 fed
#    by `jobrun submit --wait` clients through xargs -P2, and by one connection with 2 (and 4)
#    submits in flight (bench/servelat.c, to see what the client process costs); bwrap with
#    run.sh's command and with `--die-with-parent --ro-bind / /`; `jobrun run` through xargs -P2.
#    isolate's init+run+cleanup is a reference figure (not buildable here), as in run.sh.
#    Also the supervisor's own CPU and its reaped children's per job (/proc/PID/stat).
# 2. Latency from a submit to the job's command starting, after 1 s idle: a client on one open
#    connection reads CLOCK_REALTIME right before the sendmsg of a submit of
#    `/bin/date +%s.%N`, whose output is the job's own clock reading at start. The same for
#    `jobrun run -- /bin/date +%s.%N` spawned fresh, and for /bin/date alone (what its own
#    exec and loader cost, subtracted in the "net" column). LAT_SAMPLES samples of each, in
#    LAT_ROUNDS rounds with the order rotated, LAT_GAP_MS of idle before every sample.
# 3. The supervisor's memory with QUEUED jobs queued: a fresh serve --slots 1 runs one
#    `sleep 60`, QUEUED `jobrun submit` (no --wait) of /bin/true queue behind it; VmRSS,
#    VmHWM and RssAnon of its PID. Then every job is cancelled and serve stopped (SIGTERM).
#
# Each serve runs with a private jobrun.conf (state_dir in a temporary directory), a private
# socket, and is stopped by its PID (an EXIT/INT/TERM trap too; the temporary directory goes).
# Raw output goes to bench/out/serve-<date>/ (gitignored). Needs root; a C compiler for
# bench/servelat.c (without one the latency and one-connection rows are skipped); bwrap is
# optional. See bench/README.md ("jobrun serve").
#
# Knobs (environment): JOBS (400), REPS (3), LAT_SAMPLES (30), LAT_ROUNDS (3), LAT_GAP_MS
# (1000), QUEUED (1000), OUT (output dir), CC (cc).
set -eu
export LC_ALL=C

BUILD=${1:-build}
JOBS=${JOBS:-400}
REPS=${REPS:-3}
LAT_SAMPLES=${LAT_SAMPLES:-30}
LAT_ROUNDS=${LAT_ROUNDS:-3}
LAT_GAP_MS=${LAT_GAP_MS:-1000}
QUEUED=${QUEUED:-1000}
CC=${CC:-cc}

# Reference figures measured earlier on these machines (../shared/notes/anchors.md), for the
# peers that cannot be installed here: isolate 1.10 init+run+cleanup (cgroup v1), jobs/s 2 at a
# time, and bwrap --unshare-all 2 at a time in the same session (for the like-for-like scaling).
ISOLATE_P2_LO=186
ISOLATE_P2_HI=221
BWRAP_REF_P2=274
# The goals (the serve issue).
GOAL_VS_BWRAP=2
GOAL_VS_ISOLATE=3
GOAL_LAT_MS=3
GOAL_RSS_KIB=10240

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/out/serve-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (jobrun serve and the namespace peers need it)"
JOBRUN=$BUILD/jobrun
[ -d "$BUILD" ] && JOBRUN=$(cd "$BUILD" && pwd)/jobrun
[ -x "$JOBRUN" ] || die "$JOBRUN not built (make BUILD=$BUILD)"

# ---- the supervisors: started here, stopped by PID -----------------------------------------
TMPD=$(mktemp -d /tmp/jobrun-serve-bench.XXXXXX)
SERVE_PID=""
stop_serve() { # stop the serve of SERVE_PID: SIGTERM, up to 10 s, then SIGKILL; sets SERVE_RC
    SERVE_RC=""
    [ -n "$SERVE_PID" ] || return 0
    if kill -0 "$SERVE_PID" 2>/dev/null; then
        kill -TERM "$SERVE_PID" 2>/dev/null || true
        i=0
        while kill -0 "$SERVE_PID" 2>/dev/null && [ $i -lt 100 ]; do
            # a zombie (exited, not yet reaped) counts as gone
            [ "$(awk '{ print $3 }' "/proc/$SERVE_PID/stat" 2>/dev/null)" = Z ] && break
            sleep 0.1; i=$((i + 1))
        done
        if [ $i -ge 100 ]; then
            say "bench: serve $SERVE_PID did not stop within 10 s of SIGTERM: SIGKILL"
            kill -KILL "$SERVE_PID" 2>/dev/null || true
        fi
    fi
    SERVE_RC=0
    wait "$SERVE_PID" 2>/dev/null || SERVE_RC=$?
    SERVE_PID=""
}
# shellcheck disable=SC2317 # (called from the traps)
cleanup() {
    stop_serve
    rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# start_serve NAME SLOTS: a serve of its own (conf, state directory, socket); sets SERVE_PID
# and SOCK, logs to $OUT/serve-NAME.log.
start_serve() {
    d=$TMPD/$1
    mkdir -m 0700 "$d"
    {
        echo "# bench/serve.sh: a private supervisor"
        echo "state_dir = \"$d/state\""
        echo "serve {"
        echo "    grace = \"2s\""
        [ "$QUEUED" -le 1000 ] || echo "    queue_max = \"$QUEUED\""
        echo "}"
    } >"$d/jobrun.conf"
    chmod 0644 "$d/jobrun.conf"
    SOCK=$d/sock
    "$JOBRUN" serve --config "$d/jobrun.conf" --socket "$SOCK" --slots "$2" \
        2>>"$OUT/serve-$1.log" &
    SERVE_PID=$!
    i=0
    until [ -S "$SOCK" ] && "$JOBRUN" status --socket "$SOCK" >/dev/null 2>&1; do
        kill -0 "$SERVE_PID" 2>/dev/null || die "jobrun serve did not start: $(tail -n 3 "$OUT/serve-$1.log")"
        [ $i -lt 100 ] || die "jobrun serve: no socket after 10 s ($OUT/serve-$1.log)"
        sleep 0.1; i=$((i + 1))
    done
}

# status field of a serve: VmRSS, VmHWM, RssAnon (kB)
mem() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# utime+stime and cutime+cstime of a process, in clock ticks
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13, $14 + $15 }'; }
TICK=$(getconf CLK_TCK)

now_ns() { date +%s%N; }
med() { sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "n/a"; exit }
    if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
p90() { sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "n/a"; exit }
    i = int(NR * 0.9 + 0.999); if (i < 1) i = 1; printf "%.2f", v[i] }'; }

# ---- the helper client ---------------------------------------------------------------------
SL=""
if ! command -v "$CC" >/dev/null 2>&1; then
    say "bench: SKIP bench/servelat.c: no C compiler ($CC): no latency, no one-connection rows"
elif "$CC" -O2 -o "$OUT/servelat" "$HERE/servelat.c" 2>"$OUT/servelat-cc.err"; then
    SL=$OUT/servelat
else
    say "bench: SKIP bench/servelat.c did not build: $(head -c 200 "$OUT/servelat-cc.err")"
fi

# ---- the rows of the throughput table: name|kind|command --------------------------------------
# kind: xargs (command run once per job by xargs -n1 -P2, the job number appended, which
# /bin/true ignores) or tputN (servelat, one connection, N in flight). Commands are split on
# blanks: no argument may contain a blank or a quote. @SOCK@ is the serve socket.
ROWS=$OUT/rows.txt
: >"$ROWS"
row() { printf '%s|%s|%s\n' "$1" "$2" "$3" >>"$ROWS"; }
skip() { say "bench: SKIP $1: $2"; printf '%s (%s)\n' "$1" "$2" >>"$OUT/skipped.txt"; }
works() { "$@" >/dev/null 2>"$OUT/probe.err"; }

NAME_SUBMIT="jobrun serve, jobrun submit --wait (xargs -P2)"
NAME_CONN2="jobrun serve, one connection, 2 in flight"
NAME_CONN4="jobrun serve, one connection, 4 in flight"
NAME_BWRAP="bwrap --unshare-all (run.sh's command)"
NAME_BWRAP_ROOT="bwrap --unshare-all --die-with-parent --ro-bind / /"
NAME_RUN="jobrun run"
row "$NAME_SUBMIT" xargs "$JOBRUN submit --wait --socket @SOCK@ -- /bin/true"
if [ -n "$SL" ]; then
    row "$NAME_CONN2" tput2 ""
    row "$NAME_CONN4" tput4 ""
fi
if command -v bwrap >/dev/null 2>&1; then
    # as bench/run.sh: the host's merged-/usr layout mirrored, /proc, /dev, /tmp
    B="bwrap --unshare-all --ro-bind /usr /usr"
    for d in bin lib lib32 lib64 libx32 sbin; do
        if [ -L "/$d" ]; then B="$B --symlink $(readlink "/$d") /$d"
        elif [ -d "/$d" ]; then B="$B --ro-bind /$d /$d"; fi
    done
    B="$B --proc /proc --dev /dev --tmpfs /tmp /bin/true"
    # shellcheck disable=SC2086
    if works $B; then row "$NAME_BWRAP" xargs "$B"
    else skip "bwrap" "$(head -c 200 "$OUT/probe.err")"; fi
    BR="bwrap --unshare-all --die-with-parent --ro-bind / / /bin/true"
    # shellcheck disable=SC2086
    if works $BR; then row "$NAME_BWRAP_ROOT" xargs "$BR"
    else skip "bwrap --ro-bind / /" "$(head -c 200 "$OUT/probe.err")"; fi
else
    skip "bwrap" "not installed (apt-get install bubblewrap)"
fi
# shellcheck disable=SC2086
if works $JOBRUN run -- /bin/true; then row "$NAME_RUN" xargs "$JOBRUN run -- /bin/true"
else skip "jobrun run" "$(head -c 200 "$OUT/probe.err")"; fi

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -srm), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
    command -v bwrap >/dev/null 2>&1 && echo "bwrap: $(bwrap --version)"
    echo "jobrun: $JOBRUN ($(git -C "$HERE/.." describe --always --dirty 2>/dev/null || echo '?');" \
        "built $(date -u -r "$JOBRUN" +%Y-%m-%dT%H:%M:%SZ), sha256 $(sha256sum "$JOBRUN" | cut -c1-12))"
    echo "cgroup mounts: $(awk '$3 == "cgroup" || $3 == "cgroup2" { printf "%s(%s) ", $2, $4 }' /proc/mounts)"
    echo "state_dir: $(df -PT "$TMPD" | awk 'NR == 2 { print $2 " on " $7 }')"
    echo "jobs=$JOBS reps=$REPS lat_samples=$LAT_SAMPLES lat_rounds=$LAT_ROUNDS lat_gap_ms=$LAT_GAP_MS queued=$QUEUED"
} >"$OUT/meta.txt"

# ---- 1. throughput -------------------------------------------------------------------------
start_serve tput 2
TPUT_PID=$SERVE_PID
TSOCK=$SOCK
say "bench: throughput, $JOBS jobs x $REPS per row, 2 at a time (serve pid $TPUT_PID, --slots 2)"
FAILED=0
: >"$OUT/throughput.txt"
r=1
while [ "$r" -le "$REPS" ]; do
    if [ $((r % 2)) = 1 ]; then order="cat"; else order="tac"; fi
    # shellcheck disable=SC2094
    while IFS='|' read -r name kind cmd; do
        cmd=$(printf '%s' "$cmd" | sed "s|@SOCK@|$TSOCK|g")
        c0=$(cpu_ticks "$TPUT_PID")
        m0=$(cpu_ticks $$)
        t0=$(now_ns)
        ok=1
        case $kind in
        xargs)
            # shellcheck disable=SC2086
            seq "$JOBS" | xargs -n1 -P2 $cmd >"$OUT/tp.out" 2>>"$OUT/throughput.err" || ok=0 ;;
        tput*)
            "$SL" tput "$TSOCK" "$JOBS" "${kind#tput}" >"$OUT/tp.out" 2>>"$OUT/throughput.err" || ok=0 ;;
        esac
        t1=$(now_ns)
        m1=$(cpu_ticks $$)
        c1=$(cpu_ticks "$TPUT_PID")
        # name|rep|jobs/s|CPU ms per job of this shell's children (the tool and its jobs, or
        # serve's clients)|of serve (its loop and thread pool)|of serve's reaped children (the
        # jobs: jobrun's clone child, jobrun-init, the command); the last two for serve rows only
        case $name in
        "jobrun serve"*) sv="$c0|$c1" ;;
        *) sv="|" ;;
        esac
        if [ $ok = 1 ]; then
            rm -f "$OUT/tp.out"
            jobs_s=$(awk -v n="$JOBS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / ((b - a) / 1e9) }')
        else
            FAILED=1
            jobs_s=failed
            kept=$OUT/throughput-failed-$r-$(printf '%s' "$name" | tr -c 'A-Za-z0-9+\n' _).out
            mv "$OUT/tp.out" "$kept"
            say "bench: FAILED $name (rep $r): $(tail -n1 "$OUT/throughput.err")"
        fi
        printf '%s|%s|%s|%s|%s|%s\n' "$name" "$r" "$jobs_s" "$m0" "$m1" "$sv" | awk -F'|' \
            -v n="$JOBS" -v hz="$TICK" '{
            split($4, m0, " "); split($5, m1, " ")
            printf "%s|%s|%s|%.2f|", $1, $2, $3, (m1[2] - m0[2]) * 1000 / hz / n
            if ($6 == "") { print "|"; next }
            split($6, c0, " "); split($7, c1, " ")
            printf "%.2f|%.2f\n", (c1[1] - c0[1]) * 1000 / hz / n, (c1[2] - c0[2]) * 1000 / hz / n }' \
            >>"$OUT/throughput.txt"
    done <<EOT
$($order "$ROWS")
EOT
    r=$((r + 1))
done
TPUT_RSS=$(mem "$TPUT_PID" VmRSS)
TPUT_HWM=$(mem "$TPUT_PID" VmHWM)
TPUT_DONE=$("$JOBRUN" status --json --socket "$TSOCK" 2>/dev/null | awk -F'[:,]' '/"submitted"/ { gsub(/ /, "", $2); print $2 }')

# ---- 2. latency, submit to command start, after LAT_GAP_MS idle ------------------------------
LAT_OK=""
if [ -n "$SL" ]; then
    PER=$(( (LAT_SAMPLES + LAT_ROUNDS - 1) / LAT_ROUNDS ))
    say "bench: latency to the command's start, $LAT_ROUNDS rounds of $PER samples each after $LAT_GAP_MS ms idle (~$(( 3 * PER * LAT_ROUNDS * (LAT_GAP_MS + 20) / 1000 )) s)"
    : >"$OUT/lat-serve.txt"; : >"$OUT/lat-run.txt"; : >"$OUT/lat-date.txt"
    LAT_OK=1
    r=1
    while [ "$r" -le "$LAT_ROUNDS" ]; do
        case $((r % 3)) in
        1) order="serve run date" ;;
        2) order="run date serve" ;;
        0) order="date serve run" ;;
        esac
        for k in $order; do
            case $k in
            serve) "$SL" lat-serve "$TSOCK" "$PER" "$LAT_GAP_MS" >>"$OUT/lat-serve.txt" ;;
            run) "$SL" lat-spawn "$PER" "$LAT_GAP_MS" "$JOBRUN" run --result /dev/null -- \
                    /bin/date +%s.%N >>"$OUT/lat-run.txt" ;;
            date) "$SL" lat-spawn "$PER" "$LAT_GAP_MS" /bin/date +%s.%N >>"$OUT/lat-date.txt" ;;
            esac 2>>"$OUT/latency.err" || { LAT_OK=""; say "bench: FAILED latency ($k): $(tail -n1 "$OUT/latency.err")"; }
        done
        r=$((r + 1))
    done
    [ -n "$LAT_OK" ] || FAILED=1
fi
stop_serve
TPUT_RC=$SERVE_RC

# ---- 3. memory with QUEUED jobs queued ------------------------------------------------------
say "bench: memory of a fresh serve --slots 1 with one running sleep 60 and $QUEUED jobs queued"
start_serve rss 1
RSS_PID=$SERVE_PID
RSOCK=$SOCK
RSS_IDLE=$(mem "$RSS_PID" VmRSS)
LONG=$("$JOBRUN" submit --socket "$RSOCK" --wall-time 2m -- /bin/sleep 60) || die "cannot submit sleep 60"
i=0
until "$JOBRUN" status --json --socket "$RSOCK" "$LONG" 2>/dev/null | grep -q '"state": *"running"'; do
    [ $i -lt 100 ] || die "the sleep 60 job did not start"
    sleep 0.1; i=$((i + 1))
done
t0=$(now_ns)
seq "$QUEUED" | xargs -n1 -P2 "$JOBRUN" submit --socket "$RSOCK" -- /bin/true \
    >"$OUT/queued-ids.txt" 2>>"$OUT/queued.err" || { FAILED=1; say "bench: FAILED some submits: $(tail -n1 "$OUT/queued.err")"; }
t1=$(now_ns)
SUBMIT_RATE=$(awk -v n="$QUEUED" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }')
"$JOBRUN" status --json --socket "$RSOCK" >"$OUT/rss-status.json"
NQUEUED=$(awk -F'[:,]' '/"queued"/ { gsub(/ /, "", $2); print $2 }' "$OUT/rss-status.json")
RSS_Q=$(mem "$RSS_PID" VmRSS)
HWM_Q=$(mem "$RSS_PID" VmHWM)
ANON_Q=$(mem "$RSS_PID" RssAnon)
grep -E '^(VmRSS|VmHWM|RssAnon|RssFile|Threads)' "/proc/$RSS_PID/status" >"$OUT/rss-status.txt"
# cancel everything, queued jobs first (one connection when servelat is there), then stop
t0=$(now_ns)
if [ -n "$SL" ]; then
    { sed 's/.*/{"v":1,"op":"cancel","id":"&"}/' "$OUT/queued-ids.txt"
      echo "{\"v\":1,\"op\":\"cancel\",\"id\":\"$LONG\"}"; } | "$SL" lines "$RSOCK" >"$OUT/cancel.out"
else
    { cat "$OUT/queued-ids.txt"; echo "$LONG"; } | xargs -n1 -P2 "$JOBRUN" cancel --socket "$RSOCK" >"$OUT/cancel.out"
fi
NCANCEL=$(grep -c '"state"' "$OUT/cancel.out" || true)
i=0
until "$JOBRUN" status --json --socket "$RSOCK" >"$OUT/rss-status-after.json" 2>/dev/null &&
      grep -q '"queued": *0' "$OUT/rss-status-after.json" && grep -q '"busy": *0' "$OUT/rss-status-after.json"; do
    [ $i -lt 300 ] || { FAILED=1; say "bench: jobs still queued or running 30 s after the cancels"; break; }
    sleep 0.1; i=$((i + 1))
done
t1=$(now_ns)
CANCEL_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
RSS_AFTER=$(mem "$RSS_PID" VmRSS)
t0=$(now_ns)
stop_serve
t1=$(now_ns)
RSS_RC=$SERVE_RC
STOP_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
[ "$RSS_RC" = 0 ] || say "bench: the memory serve exited with status $RSS_RC (log: $OUT/serve-rss.log)"
[ "$TPUT_RC" = 0 ] || say "bench: the throughput serve exited with status $TPUT_RC (log: $OUT/serve-tput.log)"

# ---- the tables ----------------------------------------------------------------------------
col() { # the values of field $2 of row $1 over its repetitions that did not fail
    awk -F'|' -v n="$1" -v f="$2" '$1 == n && $3 != "failed" { print $f }' "$OUT/throughput.txt"
}
jps() { col "$1" 3 | med | awk '{ if ($1 == "n/a") print "failed"; else printf "%.0f", $1 }'; }
rep_ratio() { # median over the repetitions of row $1's jobs/s over row $2's in the same one
    awk -F'|' -v a="$1" -v b="$2" '$3 != "failed" && $1 == a { x[$2] = $3 }
        $3 != "failed" && $1 == b { y[$2] = $3 }
        END { for (r in x) if (r in y) print x[r] / y[r] }' "$OUT/throughput.txt" | med
}
cpu_all() { # median CPU ms per job, every process counted (clients + serve + its jobs)
    awk -F'|' -v n="$1" '$1 == n && $3 != "failed" { print $4 + $5 + $6 }' "$OUT/throughput.txt" | med
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN { if (r == "n/a") print "n/a"; else print (r + 0 >= g + 0) ? "met" : "NOT met" }'; }

S_SUB=$(jps "$NAME_SUBMIT"); S_C2=$(jps "$NAME_CONN2"); S_C4=$(jps "$NAME_CONN4")
BW=$(jps "$NAME_BWRAP"); BWR=$(jps "$NAME_BWRAP_ROOT"); RUN=$(jps "$NAME_RUN")

{
    sed 's/^/<!-- /; s/$/ -->/' "$OUT/meta.txt"
    echo
    echo "Throughput, /bin/true, 2 at a time ($JOBS jobs x $REPS interleaved repetitions, median):"
    echo
    echo "| row | jobs/s | / bwrap's | / bwrap's, per repetition | CPU ms/job, all processes | of which serve's own | of which serve's jobs |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    while IFS='|' read -r name kind cmd; do
        v=$(jps "$name")
        case $name in
        "jobrun serve"*) cs="$(col "$name" 5 | med) | $(col "$name" 6 | med)" ;;
        *) cs=" | " ;;
        esac
        printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$v" "$(ratio "$v" "$BW")" \
            "$(rep_ratio "$name" "$NAME_BWRAP")" "$(cpu_all "$name")" "$cs"
    done <"$ROWS"
    printf '| isolate 1.10 init+run+cleanup, cgroup v1 (*reference, not measured in this run*) | %s-%s | | | | | |\n' \
        "$ISOLATE_P2_LO" "$ISOLATE_P2_HI"
    echo
    echo "isolate is not packaged in Debian 12 and cannot be downloaded here: its row is a figure"
    echo "measured earlier on these machines (../shared/notes/anchors.md), not in this run."
    echo "\"/ bwrap's\": of the medians; \"per repetition\": the median of each repetition's ratio (the"
    echo "machine's speed moves between repetitions). CPU ms/job: user+system time of every process of"
    echo "the row from /proc/PID/stat (this script's children: xargs, the tool and its jobs, or serve's"
    echo "clients; for serve rows also the supervisor, loop and thread pool, and its reaped children,"
    echo "the jobs), per job; kernel threads' deferred work (network namespace teardown, the ext4"
    echo "journal) is in none of them."
    if [ -s "$OUT/skipped.txt" ]; then
        echo
        sed 's/^/Skipped: /' "$OUT/skipped.txt"
    fi
    echo
    echo "Goals (throughput; the ratio to bwrap is to run.sh's command, in brackets to --ro-bind / /"
    echo "and to jobrun run):"
    for pair in "$NAME_SUBMIT|$S_SUB" "$NAME_CONN2|$S_C2" "$NAME_CONN4|$S_C4"; do
        n=${pair%%|*}; v=${pair#*|}
        if [ -z "$v" ] || [ "$v" = failed ]; then continue; fi
        x=$(ratio "$v" "$BW")
        echo "- $n: ${GOAL_VS_BWRAP}x bwrap's: $v / $BW = ${x}x (per repetition $(rep_ratio "$n" "$NAME_BWRAP")x): $(verdict "$x" "$GOAL_VS_BWRAP") ($(ratio "$v" "$BWR")x bwrap --ro-bind / /, $(ratio "$v" "$RUN")x jobrun run)"
        awk -v v="$v" -v lo="$ISOLATE_P2_LO" -v hi="$ISOLATE_P2_HI" -v g="$GOAL_VS_ISOLATE" \
            -v b="$BW" -v br="$BWRAP_REF_P2" 'BEGIN {
            printf "  %dx isolate'"'"'s init+run+cleanup (reference %d-%d jobs/s): %.2f-%.2fx: %s", g, lo, hi,
                v / hi, v / lo, (v >= g * hi) ? "met" : (v >= g * lo) ? "met against the low end only" : "NOT met"
            if (b + 0 > 0) { s = b / br
                printf " (like for like, isolate scaled by bwrap today/then = %d/%d: %.0f-%.0f jobs/s, %.2f-%.2fx: %s)",
                    b, br, lo * s, hi * s, v / (hi * s), v / (lo * s), (v >= g * hi * s) ? "met" : "NOT met" }
            printf "\n" }'
    done
    echo
    if [ -n "$LAT_OK" ] || [ -s "$OUT/lat-serve.txt" ]; then
        n=$(wc -l <"$OUT/lat-serve.txt")
        SM=$(awk '{ print $1 }' "$OUT/lat-serve.txt" | med); SP=$(awk '{ print $1 }' "$OUT/lat-serve.txt" | p90)
        SPRE=$(awk '$2 >= 0 { print $2 }' "$OUT/lat-serve.txt" | med)
        SPOST=$(awk '$2 >= 0 { print $1 - $2 }' "$OUT/lat-serve.txt" | med)
        RM=$(med <"$OUT/lat-run.txt"); RP=$(p90 <"$OUT/lat-run.txt")
        DM=$(med <"$OUT/lat-date.txt"); DP=$(p90 <"$OUT/lat-date.txt")
        echo "Latency to the command's start after $LAT_GAP_MS ms idle ($n samples each, $LAT_ROUNDS rounds, order rotated):"
        echo
        echo "| from ... to /bin/date's clock reading | median ms | p90 ms | median minus /bin/date's own start, ms |"
        echo "|---|---:|---:|---:|"
        printf '| jobrun serve: the submit'"'"'s sendmsg (one open connection) | %s | %s | %s |\n' "$SM" "$SP" \
            "$(awk -v a="$SM" -v b="$DM" 'BEGIN { printf "%.2f", a - b }')"
        printf '| ... of which sendmsg to jobrun'"'"'s clone (result start_time) | %s | | |\n' "$SPRE"
        printf '| ... of which clone to the clock reading (per-sample difference) | %s | | |\n' "$SPOST"
        printf '| jobrun run -- /bin/date spawned fresh: posix_spawn | %s | %s | %s |\n' "$RM" "$RP" \
            "$(awk -v a="$RM" -v b="$DM" 'BEGIN { printf "%.2f", a - b }')"
        printf '| /bin/date alone: posix_spawn (its own exec and loader) | %s | %s | |\n' "$DM" "$DP"
        echo
        awk -v m="$SM" -v d="$DM" -v g="$GOAL_LAT_MS" 'BEGIN {
            printf "Goal (latency): median <= %d ms: %.2f ms: %s (%.2fx the goal); net of /bin/date'"'"'s own start %.2f ms: %s\n",
                g, m, (m <= g) ? "met" : "NOT met", m / g, m - d, (m - d <= g) ? "met" : "NOT met" }'
    else
        echo "Latency: not measured (no bench/servelat: see above)."
    fi
    echo
    echo "Memory of a fresh serve --slots 1 (one sleep 60 running, $QUEUED submits without --wait):"
    echo
    echo "| | VmRSS KiB | VmHWM KiB | RssAnon KiB |"
    echo "|---|---:|---:|---:|"
    echo "| idle, just started | $RSS_IDLE | | |"
    echo "| $NQUEUED jobs queued | $RSS_Q | $HWM_Q | $ANON_Q |"
    echo "| after cancelling all ($NCANCEL cancels acknowledged, the jobs kept as finished) | $RSS_AFTER | | |"
    echo
    awk -v r="$RSS_Q" -v h="$HWM_Q" -v i="$RSS_IDLE" -v n="$NQUEUED" -v g="$GOAL_RSS_KIB" 'BEGIN {
        printf "Goal (memory): VmRSS <= %.0f MiB with %d queued: %.2f MiB (VmHWM %.2f MiB), %.2fx the goal: %s; %.2f KiB per queued job\n",
            g / 1024, n, r / 1024, h / 1024, r / g, (r <= g && h <= g) ? "met" : "NOT met", (n > 0) ? (r - i) / n : 0 }'
    echo "Submitting the $QUEUED (jobrun submit, xargs -P2, each acknowledged once its request is on disk): $SUBMIT_RATE submits/s;"
    echo "cancelling all and seeing the queue empty: $CANCEL_S s; SIGTERM to exit: $STOP_S s (exit status $RSS_RC)."
    echo
    echo "The throughput serve after its $TPUT_DONE jobs (keep_results 1000 finished jobs in memory):"
    echo "VmRSS $TPUT_RSS KiB, VmHWM $TPUT_HWM KiB; exit status after SIGTERM $TPUT_RC."
} >"$OUT/table.md"

cat "$OUT/table.md"
say "bench: raw results in $OUT"
if [ "$FAILED" = 1 ]; then
    say "bench: some measurements failed (medians are over the others): see $OUT/*.err"
    exit 1
fi
exit 0
