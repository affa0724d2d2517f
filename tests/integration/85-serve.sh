#!/bin/bash
# 85-serve: `jobrun serve`, the resident supervisor, and its clients (jobrun submit, status,
# list, wait, cancel, drain, metrics), through the real socket: the operations; 500 mixed jobs
# from 8 clients at once with every verdict right and nothing left behind; kill -9 and restart;
# SIGTERM's grace and SIGHUP's reload; who may do what; bad requests over a raw socket
# (tests/helpers/serveclient.c); the descriptors a client passes.
#
# Each section starts its own supervisor on this file's own socket, configuration, state
# directory, runtime directory and uid range (other jobrun serve processes may run on the host:
# they are never touched), and stops it by its pid.
. "$(dirname "$0")/lib.sh"

SC=$(dirname "$JOBRUN")/serveclient # beside jobrun: the helpers are found there
if [ ! -x "$SC" ]; then
	echo "Bail out! $SC is not built (make all)"
	exit 1
fi

CONF=$T/jobrun.conf
SOCK=$T/serve.sock
STATE=$T/state
JOBS=$STATE/serve # the supervisor's state directory
watch_results "$JOBS" # its results (ID.json) are validated at the end (lib.sh)
RT=$T/rt
mkdir -p "$RT" "$STATE"
chmod 0700 "$RT"
export JOBRUN_SOCKET=$SOCK
# the jobs' uids (and jobrun-init's): the file's private range, in its own runtime dir
JLO=$PRIV_BASE
JHI=$PRIV_END
# clients that are not root: UA (nobody) and UB may submit grader jobs; UC is no client; UD
# may, through its supplementary group GD only (no user or group of the host has these ids)
UA=65534
UB=$((4000000 + ($$ % 100000) * 4))
UC=$((UB + 1))
UD=$((UB + 2))
GD=$((UB + 3))
SERVE_PID=
SERVE_PIDS=
SERVE_LOG=
SERVE_N=0
CT=$((60 * SLOW)) # a bound on one client call

# ---- helpers ----

# write_conf [GRADER_WALL_MAX [SERVE_LINES]]: this file's jobrun.conf (root's, 0644), replaced
# atomically (a reload must never read half of it).
write_conf() {
	local wmax=${1:-5m} extra=${2:-}
	cat >"$CONF.new" <<EOF
runtime_dir = "$RT"
state_dir = "$STATE"
uid_base = "$PRIV_BASE"
uid_count = "$PRIV_COUNT"
profile grader {
	maxima {
		wall_time = "$wmax"
	}
}
serve {
	grace = "3s"
	client graders {
		users = {"$UA", "$UB"}
		groups = {"$GD"}
		profiles = {"grader"}
	}
	$extra
}
EOF
	chmod 0644 "$CONF.new"
	mv -f "$CONF.new" "$CONF"
}

hello_ok() { "$SC" "$SOCK" send '{"v":1,"op":"hello"}' recv 2>/dev/null | grep -q '"ok":true'; }

# start_serve [serve options...]: a supervisor in the background, up when it answers hello.
# It runs below a subshell that waits for it and keeps its exit status (serve-N.rc), so that
# a supervisor killed on purpose is not reported by this shell ("Killed").
start_serve() {
	SERVE_N=$((SERVE_N + 1))
	SERVE_LOG=$T/serve-$SERVE_N.log
	(
		"$JOBRUN" serve --config "$CONF" --socket "$SOCK" "$@" >"$SERVE_LOG" 2>&1 </dev/null &
		echo $! >"$T/serve-$SERVE_N.pid"
		wait $!
		echo $? >"$T/serve-$SERVE_N.rc"
	) 2>/dev/null &
	SERVE_WRAP=$!
	wait_for 5 test -s "$T/serve-$SERVE_N.pid"
	SERVE_PID=$(cat "$T/serve-$SERVE_N.pid")
	SERVE_PIDS="$SERVE_PIDS $SERVE_PID"
	if ! wait_for $((10 * SLOW)) hello_ok; then
		echo "Bail out! jobrun serve $* did not come up: $(head -c 1000 "$SERVE_LOG")"
		exit 1
	fi
}

gone() { # PID: exited (a zombie counts: kill -0 still succeeds on one)
	! kill -0 "$1" 2>/dev/null || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}
serve_gone() { gone "$SERVE_PID"; }
# serve_reap: after it exited, its exit status in SERVE_RC
serve_reap() {
	wait "$SERVE_WRAP" 2>/dev/null
	SERVE_RC=$(cat "$T/serve-$SERVE_N.rc" 2>/dev/null || echo "<none>")
}

# stop_serve [SIGNAL [SECONDS]]: signal it, wait for it (SIGKILL after SECONDS); SERVE_RC, SERVE_MS
stop_serve() {
	local sig=${1:-TERM} secs=${2:-$((20 * SLOW))} t0
	t0=$(date +%s%N)
	kill -"$sig" "$SERVE_PID" 2>/dev/null
	[ -n "${STOP_HOOK:-}" ] && eval "$STOP_HOOK"
	wait_for "$secs" serve_gone || kill -KILL "$SERVE_PID" 2>/dev/null
	serve_reap
	SERVE_MS=$((($(date +%s%N) - t0) / 1000000))
}

serve_fds() { ls "/proc/$SERVE_PID/fd" 2>/dev/null | wc -l; }
fds_are() { [ "$(serve_fds)" -eq "$1" ]; }

# The supervisor's descriptors with no job and no client: after one job (what the first job
# opens for good, the cgroup hierarchies, is not a leak) and once nothing is connected.
measure_idle() {
	jc submit --wait -- true >/dev/null 2>&1
	sleep 0.3
	IDLE=$(serve_fds)
}

# fds_back DESCRIPTION: the supervisor's descriptor count returns to IDLE (one test).
fds_back() {
	if wait_for $((10 * SLOW)) fds_are "$IDLE"; then
		ok "$1 ($IDLE)"
	else
		not_ok "$1" "idle: $IDLE, now: $(serve_fds)" "$(ls -l "/proc/$SERVE_PID/fd" | tail -n +2 | awk '{ print $NF }' | sort | uniq -c | sort -rn | head -8)"
	fi
}

jc() { timeout -k 2 "$CT" "$JOBRUN" "$@"; }           # a client as root
as_uid() { # UID COMMAND...: a client as another user
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --clear-groups timeout -k 2 "$CT" "$@"
}

job_state() { jc status --json "$1" 2>/dev/null | jq -r .job.state 2>/dev/null; }
state_is() { [ "$(job_state "$1")" = "$2" ]; }
wait_state() { wait_for $((10 * SLOW)) state_is "$1" "$2"; }

# The file's job cgroups in every hierarchy (named job-<uid>, uid in this file's range).
job_cgroups() {
	find /sys/fs/cgroup -mindepth 2 -maxdepth 14 -type d -name 'job-*' 2>/dev/null |
		awk -v lo="$JLO" -v hi="$JHI" '{ n = $0; sub(/.*\/job-/, "", n)
			if (n ~ /^[0-9]+$/ && n + 0 >= lo && n + 0 < hi) print }'
}
job_mounts() { grep -F " $T/" /proc/self/mountinfo | awk '{ print $5 }'; }
job_procs() { uid_procs "$JLO" "$JHI"; }
nothing_now() { [ -z "$(job_procs)$(job_cgroups)$(job_mounts)" ]; }

# nothing_left WHAT: no process of the jobs' uid range, no job cgroup of it, no mount below T
# (workspaces in the runtime dir): three tests. What is found is reported, then removed, so
# that the next section starts clean.
nothing_left() {
	local p c m
	wait_for $((10 * SLOW)) nothing_now
	p=$(job_procs | tr '\n' ' ')
	c=$(job_cgroups)
	m=$(job_mounts)
	is "$p" "" "$1: no process is left in the jobs' uid range"
	[ -n "$p" ] && kill_uids "$JLO" "$JHI"
	is "$c" "" "$1: no job cgroup is left in any hierarchy"
	[ -n "$c" ] && sleep 0.5 && printf '%s\n' "$c" | sort -r | xargs -r rmdir 2>/dev/null
	is "$m" "" "$1: no workspace or other mount is left in the runtime dir"
	[ -n "$m" ] && printf '%s\n' "$m" | sort -r | xargs -r -n1 umount -l 2>/dev/null
	return 0
}

# A killed supervisor leaves no process in the uid range: the jobs die with it.
serve_cleanup() {
	local p
	for p in $SERVE_PIDS; do
		kill -KILL "$p" 2>/dev/null
	done
	kill_uids "$JLO" "$JHI"
	sleep 0.3
	job_cgroups | sort -r | xargs -r rmdir 2>/dev/null
	rm -f "$SOCK"
}
CLEANUPS+=(serve_cleanup)

res_of() { jq -r "$2" "$1" 2>/dev/null || echo "<no result>"; } # FILE FILTER

# ---------------------------------------------------------------- 1. the operations
write_conf
start_serve --slots 1
measure_idle

out=$("$SC" "$SOCK" send '{"v":1,"op":"hello"}' recv)
is "$(jq -r '[.ok, .server, .protocol, .uid, .v] | @tsv' <<<"$out" 2>&1)" "$(printf 'true\tjobrun serve\t1\t0\t1')" \
	"hello over the raw socket: ok, the server, protocol 1, the peer's uid"

jc submit --wait -- sh -c 'echo to-out; echo to-err >&2' >"$T/r1.json" 2>"$T/r1.err"
rc=$?
is "$rc $(res_of "$T/r1.json" .verdict)" "0 OK" "submit --wait: verdict OK, exit status 0"
is "$(grep -c -x -e to-out -e to-err "$T/r1.err")" 2 \
	"submit --wait: the job's stdout and stderr are the client's (its stderr, like jobrun run)"
is "$(res_of "$T/r1.json" '[.submitter.uid, .profile, (.id | length > 0)] | @tsv')" "$(printf '0\tgrader\ttrue')" \
	"the result names the submitter (uid 0), the profile and the id"
jc submit --wait -- sh -c 'exit 3' >"$T/r2.json" 2>/dev/null
rc=$?
is "$rc $(res_of "$T/r2.json" '"\(.verdict) \(.exit_code)"')" "1 RE 3" "submit --wait of exit 3: verdict RE, exit_code 3, exit status 1"
rm -f "$T/r3.json"
jc submit --wait --result "$T/r3.json" -- sh -c 'kill -SEGV $$' >/dev/null 2>&1
rc=$?
is "$rc $(res_of "$T/r3.json" '"\(.verdict) \(.signal)"')" "1 SG 11" "submit --wait --result FILE: SG in the file, exit status 1"

id=$(jc submit -- sh -c 'sleep 0.3; echo later' 2>"$T/sub.err")
like "$id" '^[0-9a-f]{12}$' "submit without --wait prints the job's id"
jc wait "$id" >"$T/w.json" 2>/dev/null
rc=$?
is "$rc $(res_of "$T/w.json" '"\(.verdict) \(.id)"')" "0 OK $id" "wait ID: the result of that job, exit status 0"
is "$(cat "$JOBS/$id.stdout" 2>&1)" later "without --wait, the job's stdout is kept in the state directory (<id>.stdout)"
is "$(stat -c %a "$JOBS")" 700 "the state directory is the supervisor's alone (0700)"
jc wait "$id" >/dev/null 2>&1
is "$?" 0 "wait ID again after the end: the same result"
out=$(jc wait nosuchjob85 2>&1)
is "$? $out" "2 jobrun: wait: no job nosuchjob85" "wait of an unknown id: exit 2, 'no job'"

CID=jr85-own-$$
is "$(jc submit --id "$CID" -- true 2>&1)" "$CID" "submit --id ID: the job gets that id"
out=$(jc submit --id "$CID" -- true 2>&1)
rc=$?
like "$rc $out" "^2 .*id $CID is taken" "the same id again: refused, exit 2"
jc wait "$CID" >/dev/null 2>&1

# a --wait client that goes away: its job runs on, and its result is kept
WID=jr85-gone-$$
timeout 1 "$JOBRUN" submit --wait --id "$WID" -- sh -c 'sleep 2; exit 4' >/dev/null 2>&1
jc wait "$WID" >"$T/w.json" 2>/dev/null
is "$? $(res_of "$T/w.json" '"\(.verdict) \(.exit_code)"')" "1 RE 4" \
	"a --wait client killed while its job runs: the job runs to its end, wait ID gives its result"

# queue, list, status, cancel (1 slot)
A=$(jc submit -- sleep 60)
wait_state "$A" running
B=$(jc submit -- true)
is "$(job_state "$B")" queued "with the only slot busy, the next job is queued"
jc list --json >"$T/list.json"
is "$(jq -r '.jobs[] | "\(.id)=\(.state)"' "$T/list.json" | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "$A=running" "$B=queued" | sort | tr '\n' ' ')" "list --json: one running, one queued"
is "$(jq -r --arg b "$B" '.jobs[] | select(.id == $b) | .position' "$T/list.json")" 1 "list --json: the queued job's position (1)"
jc list >"$T/list.txt"
if grep -Eq "^$A +running" "$T/list.txt" && grep -Eq "^$B +queued" "$T/list.txt"; then
	ok "list (text): a line for each, with its state"
else
	not_ok "list (text): a line for each, with its state" "$(cat "$T/list.txt")"
fi
jc status --json >"$T/status.json"
is "$(jq -r '"\(.slots) \(.busy) \(.queued)"' "$T/status.json")" "1 1 1" "status --json: slots 1, busy 1, queued 1"
jc cancel "$B" >"$T/cancel.json" 2>&1
is "$?" 0 "cancel of the queued job: exit 0"
jc wait "$B" >"$T/w.json" 2>/dev/null
is "$? $(res_of "$T/w.json" '"\(.verdict) \(.message)"')" "2 XX cancelled by uid 0" \
	"the cancelled queued job: verdict XX, the message names the cancelling uid, exit status 2"
t0=$(date +%s%N)
jc cancel "$A" >/dev/null 2>&1
jc wait "$A" >"$T/w.json" 2>/dev/null
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
is "$rc $(res_of "$T/w.json" '"\(.verdict) \(.message)"')" "2 XX cancelled by uid 0" \
	"the cancelled running job: verdict XX, the message names the cancelling uid"
cmp_ok "$ms" -lt $((5000 * SLOW)) "the running job ended at once when cancelled ($ms ms of its 60 s)"
jc list --json >"$T/list.json"
is "$(jq '.jobs | length' "$T/list.json")" 0 "list: nothing queued or running any more"
jc list --all --json >"$T/list.json"
is "$(jq -r --arg a "$A" --arg b "$B" '[.jobs[] | select(.id == $a or .id == $b) | "\(.state) \(.verdict)"] | join(",")' "$T/list.json")" \
	"done XX,done XX" "list --all: both, done, with verdict XX"
out=$(jc cancel "$A" 2>&1)
is "$?" 0 "cancel of a finished job: no error"

# priorities: higher first, whatever the order of submission
C=$(jc submit -- sleep 60)
wait_state "$C" running
L=$(jc submit --priority -5 -- true)
H=$(jc submit --priority 5 -- true)
M=$(jc submit -- true)
jc list --json >"$T/list.json"
is "$(jq -r --arg h "$H" --arg m "$M" --arg l "$L" '[$h, $m, $l] as $o | [$o[] as $i | .jobs[] | select(.id == $i) | .position] | map(tostring) | join(" ")' "$T/list.json")" \
	"1 2 3" "the queue is ordered by priority: 5 (submitted second), 0 (third), -5 (first)"
jc cancel "$C" >/dev/null 2>&1
for j in "$L" "$H" "$M"; do
	jc wait "$j" >"$T/p-$j.json" 2>/dev/null
done
order=$(for j in "$L" "$H" "$M"; do echo "$(jq -r .start_time "$T/p-$j.json") $j"; done | sort | awk '{ print $2 }' | tr '\n' ' ')
is "$order" "$H $M $L " "with one slot, the priority 5 job submitted after the priority -5 one starts first, then 0, then -5"

jc status --json >"$T/status.json"
# accepted: the warm-up, r1 r2 r3 id CID WID A B C L H M (the refused one: the taken id)
is "$(jq -c '[.submitted, .refused, .verdicts.OK, .verdicts.RE, .verdicts.SG, .verdicts.XX, .busy, .queued]' "$T/status.json")" \
	"[13,1,7,2,1,3,0,0]" "status --json: submitted 13, refused 1, verdicts OK 7 RE 2 SG 1 XX 3, nothing busy or queued"
jc metrics >"$T/metrics.txt"
if grep -qx 'jobrun_jobs_total{verdict="XX"} 3' "$T/metrics.txt" && grep -qx 'jobrun_slots 1' "$T/metrics.txt" &&
	grep -qx 'jobrun_submitted_total 13' "$T/metrics.txt"; then
	ok "metrics: the same counts in the Prometheus text format"
else
	not_ok "metrics: the same counts in the Prometheus text format" "$(grep -v '^#' "$T/metrics.txt" | head -20)"
fi
fds_back "after these jobs and clients, the supervisor's descriptors are back to idle"
nothing_left "the operations"

# drain: no new jobs; --exit: the supervisor stops when idle
out=$(jc drain 2>&1)
is "$?" 0 "drain: exit 0"
out=$(jc submit --wait -- true 2>&1)
like "$? $out" "^2 .*draining: it takes no new jobs" "while draining, a submit is refused (exit 2, 'draining')"
jc drain --exit >/dev/null 2>&1
wait_for $((10 * SLOW)) serve_gone
serve_reap
is "$SERVE_RC $([ -e "$SOCK" ] && echo socket-left || echo no-socket)" "0 no-socket" \
	"drain --exit with nothing running: the supervisor exits 0 and removes its socket"

# ---------------------------------------------------------------- 2. many jobs, many clients
N=${SERVE_JOBS:-500}
[ "$SLOW" -gt 1 ] && N=${SERVE_JOBS:-100}
NCLIENT=8
start_serve --slots 4
measure_idle
printf 'line1\nline2\n' >"$T/in.txt"
chmod 0644 "$T/in.txt"
D=$T/many
mkdir -p "$D"

# kind_of I: the job I of the mix, as KIND, WANT (verdict, or "refused": no result, exit 2),
# WANT_RC and ARGS.
kind_of() {
	case $(($1 % 20)) in
	0 | 15) KIND=ok WANT=OK WANT_RC=0 ARGS=(-- true) ;;
	1 | 17) KIND=ok-output WANT=OK WANT_RC=0 ARGS=(-- sh -c 'echo hello; echo world >&2') ;;
	2 | 14) KIND=re WANT=RE WANT_RC=1 ARGS=(-- sh -c 'exit 3') ;;
	3 | 16) KIND=sg WANT=SG WANT_RC=1 ARGS=(-- sh -c 'kill -SEGV $$') ;;
	4) KIND=ok-pipe WANT=OK WANT_RC=0 ARGS=(-- sh -c 'head -c 100000 /dev/zero | wc -c') ;;
	5) KIND=to-wall WANT=TO WANT_RC=1 ARGS=(--wall-time 1s -- sleep 10) ;;
	6) KIND=to-cpu WANT=TO WANT_RC=1 ARGS=(--cpu-time 1s -- sh -c 'while :; do :; done') ;;
	7) KIND=ml WANT=ML WANT_RC=1 ARGS=(--memory 32M -- sh -c 'head -c 200M /dev/zero | tail') ;;
	8 | 18) KIND=ol WANT=OL WANT_RC=1 ARGS=(--output-limit 64K -- head -c 1M /dev/zero) ;;
	9 | 19) KIND=rj WANT=RJ WANT_RC=1 ARGS=(-- no-such-command-85) ;;
	10) KIND=refused WANT=refused WANT_RC=2 ARGS=(--memory 64G -- true) ;;
	# (the bomb's own shell forks once, before the bomb exists, then only runs builtins: a fork
	# refused to it would be fatal, and so a verdict RE of the shell's making)
	11) KIND=forkbomb WANT=OK WANT_RC=0 ARGS=(--pids 16 -- sh -c "f() { f | f & }; (f) & i=0; while [ \$i -lt $((200000 / (SLOW * SLOW))) ]; do i=\$((i + 1)); done; exit 0") ;;
	12) KIND=daemon WANT=OK WANT_RC=0 ARGS=(-- sh -c '( setsid sh -c "sleep 1000" & ); exit 0') ;;
	13) KIND=stdin WANT=OK WANT_RC=0 ARGS=(--stdin "$T/in.txt" -- sh -c 'read l; [ "$l" = line1 ]') ;;
	esac
}

many_client() { # C: jobs C, C+NCLIENT, ... in turn, each with submit --wait
	local i
	for ((i = $1; i < N; i += NCLIENT)); do
		kind_of "$i"
		timeout -k 2 $((120 * SLOW)) "$JOBRUN" submit --wait "${ARGS[@]}" >"$D/$i.json" 2>"$D/$i.err" </dev/null
		echo "$i $?" >>"$D/rc.$1"
	done
}

t0=$(date +%s%N)
pids=""
for ((c = 0; c < NCLIENT; c++)); do
	many_client "$c" &
	pids="$pids $!"
done
# while they run: the supervisor answers at once, and its queue and slots are consistent
sleep 2
t1=$(date +%s%N)
jc status --json >"$T/status.json"
ms=$((($(date +%s%N) - t1) / 1000000))
cmp_ok "$ms" -lt $((2000 * SLOW)) "under load, status answers quickly ($ms ms)"
is "$(jq -r '.busy <= .slots and .slots == 4' "$T/status.json")" true "under load, at most 4 jobs run at once (busy $(jq .busy "$T/status.json"))"
for p in $pids; do
	wait "$p"
done
secs=$((($(date +%s%N) - t0) / 1000000))
echo "# $N jobs from $NCLIENT concurrent clients in $((secs / 1000)).$(printf '%03d' $((secs % 1000))) s ($((N * 1000 / (secs > 0 ? secs : 1))) jobs/s)"

# every job: the right verdict, exit status and details
cat "$D"/rc.* | sort -n >"$D/rcs"
is "$(wc -l <"$D/rcs")" "$N" "every one of the $N submissions returned"
declare -A total good
bad=()
while read -r i rc; do
	kind_of "$i"
	total[$KIND]=$((${total[$KIND]:-0} + 1))
	f=$D/$i.json
	if [ "$WANT" = refused ]; then
		if [ "$rc" -eq 2 ] && [ ! -s "$f" ] && grep -q "is above the grader profile's maximum" "$D/$i.err"; then
			good[$KIND]=$((${good[$KIND]:-0} + 1))
		else
			bad+=("job $i ($KIND): exit $rc, stdout $(head -c 200 "$f"), stderr $(head -c 200 "$D/$i.err")")
		fi
		continue
	fi
	case $KIND in
	re) extra='.exit_code == 3' ;;
	sg) extra='.signal == 11' ;;
	to-wall) extra='.limit == "wall"' ;;
	to-cpu) extra='.limit == "cpu"' ;;
	ml) extra='.limit == "memory"' ;;
	ol) extra='.limit == "output" and .stdout.truncated == true' ;;
	rj) extra='(.message | test("no-such-command-85"))' ;;
	forkbomb) extra='.pids.peak <= 16 and .pids.forks_refused > 0' ;;
	*) extra='.exit_code == 0' ;;
	esac
	got=$(jq -r "[.verdict, ($extra), .submitter.uid] | @tsv" "$f" 2>/dev/null)
	if [ "$rc" -eq "$WANT_RC" ] && [ "$got" = "$(printf '%s\ttrue\t0' "$WANT")" ]; then
		good[$KIND]=$((${good[$KIND]:-0} + 1))
	else
		bad+=("job $i ($KIND): exit $rc, want $WANT_RC; got [verdict, $extra, uid] = $got; $(jq -c '{message, exit_code, signal, limit, pids}' "$f" 2>&1 | head -c 300)")
	fi
done <"$D/rcs"
for k in ok ok-output ok-pipe re sg to-wall to-cpu ml ol rj refused forkbomb daemon stdin; do
	case $k in
	ok | ok-output | ok-pipe | daemon | stdin | forkbomb) w=OK ;;
	re) w=RE ;; sg) w=SG ;; to-wall | to-cpu) w=TO ;; ml) w=ML ;; ol) w=OL ;; rj) w=RJ ;;
	refused) w="refused at submit, exit 2" ;;
	esac
	if [ "${good[$k]:-0}" -eq "${total[$k]:-0}" ] && [ "${total[$k]:-0}" -gt 0 ]; then
		ok "$k: all ${total[$k]} jobs $w with the right exit status and details"
	else
		not_ok "$k: all ${total[$k]:-0} jobs $w with the right exit status and details" \
			"only ${good[$k]:-0} of ${total[$k]:-0}" "$(printf '%s\n' "${bad[@]}" | grep -F "($k)" | head -5)"
	fi
done
is "$(cat "$D"/*.json 2>/dev/null | jq -r .id 2>/dev/null | sort -u | wc -l)" \
	"$(find "$D" -name '*.json' -size +0 | wc -l)" "every result has its own id"
jc status --json >"$T/status.json"
# the supervisor's counters against the results it gave (and the warm-up job of measure_idle)
want=$( (echo OK; cat "$D"/*.json 2>/dev/null | jq -r .verdict) | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')
is "$(jq -r '.verdicts | to_entries | map(select(.value > 0)) | map("\(.key)=\(.value)") | .[]' "$T/status.json" | sort | tr '\n' ' ')" \
	"$want" "status --json: the verdict counters match the results given ($want)"
is "$(jq -r '"\(.refused) \(.busy) \(.queued)"' "$T/status.json")" "$((N / 20 + (N % 20 > 10 ? 1 : 0))) 0 0" \
	"status --json: the refused submissions counted, nothing busy or queued"
is "$(cd "$JOBS" && ls -A | grep -Ev '^[A-Za-z0-9][A-Za-z0-9._-]*\.(json|stdout|stderr)$' | head -5)" "" \
	"after $N jobs, the state directory holds results only: no .req, .started or temporary file is left"
nothing_left "after $N jobs"
fds_back "after $N jobs from $NCLIENT clients, the supervisor's descriptors are back to idle"
stop_serve TERM
is "$SERVE_RC" 0 "SIGTERM when idle: exit 0"
cmp_ok "$SERVE_MS" -lt $((2000 * SLOW)) "SIGTERM when idle: it exits at once ($SERVE_MS ms)"

# ---------------------------------------------------------------- 3. kill -9 and restart
start_serve --slots 2
R1=$(jc submit -- sleep 60)
R2=$(jc submit -- sleep 60)
wait_state "$R1" running
wait_state "$R2" running
Q1=$(jc submit -- sh -c 'echo q1-ran')
Q2=$(jc submit -- sh -c 'echo q2-ran')
Q3=$(jc submit -- sh -c 'echo q3-ran')
QD=$(jc submit --stdin "$T/in.txt" -- cat) # came with a descriptor: cannot run after a restart
wait_for $((5 * SLOW)) test -e "$JOBS/$R1.started" -a -e "$JOBS/$R2.started"
wait_for $((5 * SLOW)) eval '[ "$(job_procs | wc -l)" -ge 4 ]'
jc status --json >"$T/status.json"
is "$(jq -r '"\(.busy) \(.queued)"' "$T/status.json")" "2 4" "before the kill: 2 running, 4 queued"
is "$(cd "$JOBS" && ls "$R1.req" "$R2.req" "$Q1.req" "$Q2.req" "$Q3.req" "$QD.req" "$R1.started" "$R2.started" 2>&1 | wc -l)" 8 \
	"each job's request is on disk (<id>.req), and <id>.started for the two running"
stop_serve KILL
wait_for $((10 * SLOW)) eval '[ -z "$(job_procs)" ]'
is "$(job_procs | tr '\n' ' ')" "" "kill -9 of the supervisor: its running jobs die with it"
start_serve --slots 2
for j in "$R1" "$R2" "$Q1" "$Q2" "$Q3" "$QD"; do
	jc wait "$j" >"$T/k-$j.json" 2>/dev/null
	echo $? >"$T/k-$j.rc"
done
for j in "$R1" "$R2"; do
	is "$(cat "$T/k-$j.rc") $(res_of "$T/k-$j.json" .verdict)" "2 XX" "after the restart, the job that ran ($j): verdict XX, wait exits 2"
	like "$(res_of "$T/k-$j.json" .message)" "^jobrun serve restarted while the job ran" "... its message says the supervisor restarted while it ran"
	is "$(res_of "$T/k-$j.json" '"\(.id) \(.submitter.uid)"')" "$j 0" "... its result carries its id and its submitter"
done
for j in "$Q1" "$Q2" "$Q3"; do
	is "$(cat "$T/k-$j.rc") $(res_of "$T/k-$j.json" .verdict)" "0 OK" "after the restart, the queued job $j ran: OK"
done
is "$(cat "$JOBS/$Q1.stdout" "$JOBS/$Q2.stdout" "$JOBS/$Q3.stdout" 2>&1 | tr '\n' ' ')" "q1-ran q2-ran q3-ran " \
	"... each ran once, its output in the state directory"
is "$(cat "$T/k-$QD.rc") $(res_of "$T/k-$QD.json" .verdict)" "2 XX" "the queued job that came with a descriptor: XX (its file is gone)"
like "$(res_of "$T/k-$QD.json" .message)" "restarted.*descriptors" "... and its message says why"
n=0
for j in "$R1" "$R2" "$Q1" "$Q2" "$Q3" "$QD"; do
	n=$((n + $(cat "$T"/serve-*.log | grep -c "job=$j finished verdict")))
done
is "$n" 6 "every job got exactly one result (one 'finished' line each over both supervisors)"
is "$(jc list --all --json | jq -r '.jobs[].id' | sort | uniq -d)" "" "list --all names each job once"
is "$(cd "$JOBS" && ls ./*.req ./*.started 2>/dev/null)" "" "no .req or .started file is left in the state directory"
jc status --json >"$T/status.json" 2>&1
is "$(jq -r '"\(.verdicts.XX) \(.verdicts.OK)"' "$T/status.json")" "3 3" \
	"status after the restart: verdicts XX 3, OK 3"
nothing_left "kill -9 with jobs running, then a restart"
stop_serve TERM

# a tarball job running when the supervisor is killed: its workspace mount goes too
TJ=$T/tarjob
mkdir -p "$TJ/src"
printf 'shell = "sh ./run.sh"\noutputs = {"answer.txt"}\n' >"$TJ/src/job.conf"
printf 'cat data.txt\necho 42 > answer.txt\n' >"$TJ/src/run.sh"
echo data-line >"$TJ/src/data.txt"
tar -C "$TJ/src" -czf "$TJ/job.tar.gz" .
chmod -R a+rX "$TJ"
start_serve --slots 1
TK=$(jc submit "$TJ/job.tar.gz" -- sleep 60)
wait_state "$TK" running
wait_for $((5 * SLOW)) eval '[ -n "$(job_procs)" ]'
is "$(job_mounts | grep -c "^$RT/")" 1 "a running tarball job has its workspace mounted in the runtime dir"
stop_serve KILL
start_serve --slots 1
jc wait "$TK" >"$T/tk.json" 2>/dev/null
is "$? $(res_of "$T/tk.json" .verdict)" "2 XX" "after kill -9 and a restart, the tarball job that ran: XX"
like "$(res_of "$T/tk.json" .message)" "^jobrun serve restarted" "... its message says the supervisor restarted"
jc submit --wait -- true >/dev/null 2>&1
nothing_left "kill -9 with a tarball job running, then a restart"
stop_serve TERM

# ---------------------------------------------------------------- 4. SIGTERM's grace, SIGHUP
start_serve --slots 2
GA=jr85-ga-$$ GB=jr85-gb-$$ GC=jr85-gc-$$ GD_=jr85-gd-$$ GE=jr85-ge-$$
# GA ends only once SIGTERM was sent (a line on its stdin, a pipe written when the test's go
# file appears): within the grace, however slow the machine, and never before the queued jobs
# are in the queue
(for _ in $(seq $((1200 * SLOW))); do [ -e "$T/ga.go" ] && break; sleep 0.05; done; echo go) |
	jc submit --wait --id "$GA" --stdin /dev/stdin -- sh -c 'read x; exit 3' \
	>"$T/ga.json" 2>"$T/ga.err" &
PA=$!
jc submit --wait --id "$GB" -- sleep 60 >"$T/gb.json" 2>"$T/gb.err" &
PB=$!
wait_state "$GA" running
wait_state "$GB" running
jc submit --wait --id "$GC" -- sh -c 'echo gc-ran' >"$T/gc.json" 2>"$T/gc.err" &
PC=$!
jc submit --wait --id "$GD_" --stdin "$T/in.txt" -- cat >"$T/gd.json" 2>"$T/gd.err" &
PD=$!
# a queued job of a user allowed through a supplementary group only
setpriv --reuid="$UD" --regid="$UD" --groups="$GD" timeout -k 2 "$CT" "$JOBRUN" submit --id "$GE" -- sh -c 'echo ge-ran' >/dev/null 2>"$T/ge.err"
is "$?" 0 "(a user allowed through a supplementary group submits a job)"
wait_state "$GC" queued
wait_state "$GD_" queued
wait_state "$GE" queued
STOP_HOOK='sleep 1; touch "$T/ga.go"' stop_serve TERM
wait "$PA"
RA=$?
wait "$PB"
RB=$?
wait "$PC"
RC_=$?
wait "$PD"
RD=$?
is "$SERVE_RC" 0 "SIGTERM with jobs running: the supervisor exits 0"
cmp_ok "$SERVE_MS" -ge 2900 "it gave the running jobs the grace (3 s) before it stopped them ($SERVE_MS ms)"
cmp_ok "$SERVE_MS" -lt $((8000 * SLOW)) "... and no more ($SERVE_MS ms)"
is "$([ -e "$SOCK" ] && echo socket-left || echo no-socket)" no-socket "it removed its socket"
is "$RA $(res_of "$T/ga.json" '"\(.verdict) \(.exit_code)"')" "1 RE 3" "the job that ended within the grace: its real verdict (RE, exit 3)"
is "$RB $(res_of "$T/gb.json" .verdict)" "2 XX" "the job that did not: XX"
like "$(res_of "$T/gb.json" .message)" "grace" "... its message names the grace period"
like "$RC_ $(cat "$T/gc.err")" "^2 .*stays queued and runs when jobrun serve starts again" \
	"a queued job without descriptors: its --wait client is told it stays queued (exit 2)"
is "$RD $(res_of "$T/gd.json" '"\(.verdict) \(.message)"')" "2 XX jobrun serve stopped before the job started" \
	"a queued job with a descriptor: XX, stopped before it started"
grep -q "TERM: no new jobs" "$SERVE_LOG"
is "$?" 0 "the log says why it stops"
nothing_left "SIGTERM"

# the queued job runs at the next start; and SIGHUP reloads jobrun.conf
write_conf 1m
start_serve --slots 2
jc wait "$GC" >"$T/gc.json" 2>/dev/null
is "$? $(res_of "$T/gc.json" .verdict) $(cat "$JOBS/$GC.stdout" 2>&1)" "0 OK gc-ran" \
	"the job left queued by SIGTERM ran when the supervisor started again"
jc wait "$GE" >"$T/ge.json" 2>/dev/null
got="$? $(res_of "$T/ge.json" '"\(.verdict) \(.submitter.uid)"') $(cat "$JOBS/$GE.stdout" 2>&1)"
if [ "$got" = "0 OK $UD ge-ran" ]; then
	ok "... and so did the one of the user allowed through a supplementary group"
else
	not_ok "... and so did the one of the user allowed through a supplementary group" \
		"got:  '$got'" "want: '0 OK $UD ge-ran'" "its message: $(res_of "$T/ge.json" .message)"
fi
out=$(jc submit --wait --wall-time 2m -- true 2>&1)
like "$? $out" "^2 .*wall_time = 2m is above the grader profile's maximum 1m" \
	"a limit above the profile's maximum (1m) is refused at submit: exit 2, no result"
write_conf 10m
kill -HUP "$SERVE_PID"
wait_for $((5 * SLOW)) grep -q "SIGHUP: .* reloaded" "$SERVE_LOG"
jc submit --wait --wall-time 2m -- true >"$T/h.json" 2>/dev/null
is "$? $(res_of "$T/h.json" '"\(.verdict) \(.limits.wall_seconds == 120)"')" "0 OK true" \
	"after SIGHUP with the maximum raised to 10m, --wall-time 2m is admitted"
printf 'this is { not jobrun.conf\n' >"$CONF.new"
chmod 0644 "$CONF.new"
mv -f "$CONF.new" "$CONF"
kill -HUP "$SERVE_PID"
wait_for $((5 * SLOW)) grep -q "not reloaded, the old one stays" "$SERVE_LOG"
is "$?" 0 "SIGHUP with a broken jobrun.conf: the log says it was not reloaded and the old one stays"
jc submit --wait --wall-time 2m -- true >"$T/h.json" 2>/dev/null
is "$? $(res_of "$T/h.json" .verdict)" "0 OK" "... and the old configuration still applies (--wall-time 2m admitted)"
out=$(jc submit --wait --wall-time 20m -- true 2>&1)
like "$? $out" "^2 .*maximum 10m" "... with its maximum (10m) intact"
write_conf 1m
chmod 0666 "$CONF"
kill -HUP "$SERVE_PID"
wait_for $((5 * SLOW)) eval '[ "$(grep -c "not reloaded" "$SERVE_LOG")" -ge 2 ]'
jc submit --wait --wall-time 2m -- true >"$T/h.json" 2>/dev/null
is "$? $(res_of "$T/h.json" .verdict)" "0 OK" "SIGHUP with a jobrun.conf others may write: not reloaded (10m still applies)"
chmod 0644 "$CONF"
# serve { queue_max } reloaded too: with both slots busy, 2 may wait and the third is refused
write_conf 5m 'queue_max = "2"'
kill -HUP "$SERVE_PID"
wait_for $((5 * SLOW)) eval '[ "$(grep -c "reloaded: it applies" "$SERVE_LOG")" -ge 2 ]'
hello_ok
is "$?" 0 "the supervisor still answers after the reloads"
Q=""
for _ in 1 2 3 4; do
	Q="$Q $(jc submit -- sleep 60 2>/dev/null)"
done
out=$(jc submit -- true 2>&1)
like "$? $out" "^2 .*queue full: 2 jobs waiting" "after SIGHUP with queue_max 2: 2 running and 2 queued, the next submit is refused ('queue full')"
for j in $Q; do
	jc cancel "$j" >/dev/null 2>&1
done
jc submit --wait -- true >/dev/null 2>&1
is "$?" 0 "once they are cancelled, a submit is taken again"
stop_serve TERM
is "$SERVE_RC" 0 "(stopped: exit 0)"

# ---------------------------------------------------------------- 5. who may do what
# serve { client NAME { } ... }: one section per kind of client, each with its own profiles
sed 's/^serve {$/serve {\n\tclient others { users = {"12345"} profiles = {"hpc"} }/' "$CONF" >"$T/two-clients.conf"
chmod 0644 "$T/two-clients.conf"
out=$(timeout -k 2 "$CT" "$JOBRUN" run --config "$T/two-clients.conf" --uid-range "$PRIV_BASE:$PRIV_COUNT" \
	--runtime-dir "$RT" --result /dev/null -- true 2>&1)
is "$? $out" "0 " "a jobrun.conf with two client sections (graders, others) is accepted"
write_conf 5m 'keep_results = "2"'
start_serve --slots 2
printf 'secret\n' >"$T/root-only.txt"
chmod 0600 "$T/root-only.txt"
mkdir -p "$T/adir"
chmod 0755 "$T/adir"

out=$(as_uid "$UC" "$JOBRUN" submit --wait -- true 2>&1)
like "$? $out" "^2 jobrun: submit: uid $UC may not use jobrun serve \(jobrun.conf: serve \{ client" \
	"a uid no client section names: submit refused with a clear message, exit 2"
out=$(as_uid "$UC" "$JOBRUN" status 2>&1)
like "$? $out" "^2 .*uid $UC may not use jobrun serve" "... and so is status"
out=$(as_uid "$UC" "$SC" "$SOCK" send '{"v":1,"op":"hello"}' eof 2>&1 | tr '\n' ' ')
like "$out" "may not use jobrun serve.* EOF $" "... and the raw connection gets the error, then is closed"

as_uid "$UA" "$JOBRUN" submit --wait -- sh -c 'exit 0' >"$T/ua.json" 2>/dev/null
is "$? $(res_of "$T/ua.json" '"\(.verdict) \(.submitter.uid) \(.submitter.gid) \(.profile)"')" "0 OK $UA $UA grader" \
	"a client section's user: submit works; the result names the real submitter (uid $UA) and the profile"
mkdir -p "$T/ua-dir"
chmod 0777 "$T/ua-dir"
as_uid "$UA" "$JOBRUN" submit --wait --stdout "$T/ua-dir/out" -- sh -c 'echo ua-line' >/dev/null 2>&1
is "$? $(cat "$T/ua-dir/out" 2>&1) $(stat -c %u "$T/ua-dir/out" 2>&1)" "0 ua-line $UA" \
	"a user's --stdout: a file the client made with its own rights, the job's output in it"
out=$(as_uid "$UA" "$JOBRUN" submit --wait --profile hpc -- true 2>&1)
like "$? $out" "^2 .*uid $UA may not submit jobs of the profile hpc" "... --profile hpc, not in its profiles: refused, exit 2"
jc submit --wait --profile hpc -- true >"$T/root-hpc.json" 2>/dev/null
is "$? $(res_of "$T/root-hpc.json" .profile)" "0 hpc" "root may use any profile (hpc)"
out=$(as_uid "$UA" "$JOBRUN" submit --wait --dir "$T/adir" -- true 2>&1)
like "$? $out" "^2 .*only root's clients may bind a directory" "a user's --dir: refused, exit 2"
out=$(as_uid "$UA" "$JOBRUN" submit --wait --ro-bind /usr/share -- true 2>&1)
like "$? $out" "^2 .*ro-bind: only root's clients may give it" "a user's --ro-bind: refused, exit 2"
out=$(as_uid "$UA" "$JOBRUN" submit --wait --cgroup-parent /x -- true 2>&1)
like "$? $out" "^2 .*cgroup-parent: only root's clients may give it" "a user's --cgroup-parent: refused, exit 2"
out=$(as_uid "$UA" "$JOBRUN" submit --wait --stdin "$T/root-only.txt" -- cat 2>&1)
like "$? $out" "^2 .*root-only.txt: Permission denied" "a user's --stdin is opened with the user's rights (a root-only file: refused)"
out=$(as_uid "$UA" "$JOBRUN" drain 2>&1)
like "$? $out" "^2 .*only root may drain" "a user may not drain"

XB=jr85-xb-$$
as_uid "$UB" "$JOBRUN" submit --id "$XB" -- sleep 2 >/dev/null 2>&1
wait_state "$XB" running
out=$(as_uid "$UA" "$JOBRUN" wait "$XB" 2>&1)
is "$? $out" "2 jobrun: wait: no job $XB" "another user's running job: wait says 'no job'"
out=$(as_uid "$UA" "$JOBRUN" status "$XB" 2>&1)
is "$? $out" "2 jobrun: status: no job $XB" "... status says 'no job'"
out=$(as_uid "$UA" "$JOBRUN" cancel "$XB" 2>&1)
is "$? $out" "2 jobrun: cancel: no job $XB" "... cancel says 'no job'"
is "$(as_uid "$UA" "$JOBRUN" list --all --json | jq -r --argjson u "$UA" '[.jobs[] | select(.submitter.uid != $u)] | length')" 0 \
	"a user's list shows none of the other users' jobs"
is "$(jc list --json | jq -r --arg x "$XB" '.jobs[] | select(.id == $x) | .submitter.uid')" "$UB" "root's list shows them all"
as_uid "$UB" "$JOBRUN" wait "$XB" >"$T/xb.json" 2>/dev/null
is "$? $(res_of "$T/xb.json" '"\(.verdict) \(.submitter.uid)"')" "0 OK $UB" "the owner's wait: the job ran to its end untouched (OK), submitter $UB"
for _ in 1 2 3; do jc submit --wait -- true >/dev/null 2>&1; done # keep_results 2: it leaves memory
out=$(as_uid "$UA" "$JOBRUN" wait "$XB" 2>&1)
is "$? $out" "2 jobrun: wait: no job $XB" "another user's result read back from disk: still 'no job'"
as_uid "$UB" "$JOBRUN" wait "$XB" >"$T/xb.json" 2>/dev/null
is "$? $(res_of "$T/xb.json" .verdict)" "0 OK" "... the owner gets it from disk"
jc wait "$XB" >"$T/xb.json" 2>/dev/null
is "$? $(res_of "$T/xb.json" .verdict)" "0 OK" "... and so does root"

Y=$(as_uid "$UB" "$JOBRUN" submit -- sleep 60 2>/dev/null)
wait_state "$Y" running
as_uid "$UB" "$JOBRUN" cancel "$Y" >/dev/null 2>&1
as_uid "$UB" "$JOBRUN" wait "$Y" >"$T/y.json" 2>/dev/null
is "$? $(res_of "$T/y.json" '"\(.verdict) \(.message)"')" "2 XX cancelled by uid $UB" "a user cancels its own job: XX, 'cancelled by uid $UB'"
Z=$(as_uid "$UA" "$JOBRUN" submit -- sleep 60 2>/dev/null)
wait_state "$Z" running
jc cancel "$Z" >/dev/null 2>&1
as_uid "$UA" "$JOBRUN" wait "$Z" >"$T/z.json" 2>/dev/null
is "$? $(res_of "$T/z.json" '"\(.verdict) \(.message) \(.submitter.uid)"')" "2 XX cancelled by uid 0 $UA" \
	"root cancels a user's job: XX, 'cancelled by uid 0', the submitter still the user"
out=$(as_uid "$UA" "$SC" "$SOCK" send '{"v":1,"op":"submit","options":{"dir":"/"},"command":["true"]}' recv 2>&1)
like "$out" '"ok":false.*dir is given as a descriptor' "a raw request naming --dir as a path: refused"
nothing_left "the users' jobs"
stop_serve TERM

# ---------------------------------------------------------------- 6. bad input on the socket
# (keep_results 0: a finished job leaves memory at once, its result is read back from disk)
write_conf 5m 'keep_results = "0"'
start_serve --slots 2
measure_idle
raw() { "$SC" "$SOCK" "$@" 2>"$T/sc.err"; }
err_of() { printf '%s\n' "$1" | sed -n "${2:-1}p" | jq -r 'if .ok == false then .error else "ok: \(.)" end' 2>&1; }

out=$(raw send '{"v":1,' recv send '{"v":1,"op":"hello"}' recv)
like "$(err_of "$out" 1)" '^not JSON' "malformed JSON: an error reply"
like "$(err_of "$out" 2)" '^ok: ' "... and the connection still serves the next request"
like "$(err_of "$(raw send '[1,2]' recv)")" "must be a JSON object" "a JSON array: an error reply"
like "$(err_of "$(raw send '{"v":1,"op":"frobnicate"}' recv)")" "^unknown operation" "an unknown op: an error reply"
like "$(err_of "$(raw send '{"v":2,"op":"hello"}' recv)")" "protocol version 2 is not spoken here" "protocol version 2: an error reply"
like "$(err_of "$(raw send '{"op":"hello"}' recv)")" "protocol version \(1\) is missing" "no version: an error reply"
like "$(err_of "$(raw send '{"v":1,"op":"hello","x":1}' recv)")" "unknown key" "an unknown key: an error reply"
like "$(err_of "$(raw send '{"v":1,"op":"submit","command":["true"],"priority":5000}' recv)")" "priority" "priority 5000: an error reply"
like "$(err_of "$(raw send '{"v":1,"op":"submit","command":[]}' recv)")" "command" "an empty command: an error reply"
like "$(err_of "$(raw send '{"v":1,"op":"submit","options":{"config":"/etc/x"},"command":["true"]}' recv)")" "not an option" \
	"options.config (the supervisor's): an error reply"
like "$(err_of "$(raw send '{"v":1,"op":"wait","id":"../etc"}' recv)")" "^id: " "an id with '/': an error reply"
like "$(err_of "$(raw send '{"v":1,"op":"submit","fds":{"stdin":0},"command":["true"]}' recv)")" "fds.stdin" \
	"fds naming a descriptor that did not come: an error reply"

out=$(raw junk 1200000 eof)
like "$(err_of "$out" 1)" "a request longer than 1048576 bytes" "a line over 1 MiB: an error reply"
is "$(printf '%s\n' "$out" | tail -n 1)" EOF "... then the connection is closed"
raw raw '{"v":1,"op":"sub'
hello_ok
is "$?" 0 "half a request, then the client closes: the supervisor still answers"
fds_back "... and holds no descriptor of it"

out=$(raw sendfds 2 '{"v":1,"op":"status"}' r:/etc/hostname null recv)
like "$(err_of "$out")" "descriptors came with op status" "descriptors with a non-submit op: an error reply"
raw sendfds 2 '{"v":1,"op":"hello"}' r:/etc/hostname null recv pause 3 >"$T/fdop.out" &
FP=$!
wait_for $((5 * SLOW)) grep -q '"ok"' "$T/fdop.out"
if wait_for 2 fds_are $((IDLE + 1)); then
	ok "... the descriptors that came with it are closed at once (only the connection is open: $((IDLE + 1)))"
else
	not_ok "... the descriptors that came with it are closed at once" "idle $IDLE, with the connection open: $(serve_fds)"
fi
wait "$FP"
fds_back "... and after the connection closed, nothing is held"
out=$(raw sendfds 9 '{"v":1,"op":"submit","command":["true"]}' null null null null null null null null null recv)
like "$(err_of "$out")" "more than 8 descriptors" "9 descriptors with one request: an error reply"
out=$(raw sendfds 40 '{"v":1,"op":"submit","command":["true"]}' $(printf 'null %.0s' $(seq 40)) recv)
like "$(err_of "$out")" "more than 8 descriptors" "40 descriptors with one request: an error reply"
out=$(raw sendfds 1 '{"v":1,"op":"submit","fds":{"stdout":0},"command":["true"]}' r:/etc/hostname recv)
like "$(err_of "$out")" "fds.stdout: not open for writing" "a read-only descriptor as stdout: an error reply"
out=$(raw sendfds 1 '{"v":1,"op":"submit","fds":{"archive":0}}' r:/ recv)
like "$(err_of "$out")" "fds.archive: a directory" "a directory as the archive: an error reply"
fds_back "after every refused descriptor, the supervisor holds none of them"

# 1000 idle connections at once
"$SC" "$SOCK" hold 1000 >"$T/hold.out" 2>&1 &
HP=$!
wait_for $((20 * SLOW)) grep -q '^held 1000$' "$T/hold.out"
is "$(head -n 1 "$T/hold.out")" "held 1000" "1000 idle connections are accepted"
wait_for $((5 * SLOW)) eval '[ "$(serve_fds)" -ge $((IDLE + 1000)) ]'
cmp_ok "$(serve_fds)" -ge $((IDLE + 1000)) "... the supervisor holds them all"
t0=$(date +%s%N)
hello_ok
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
is "$rc" 0 "with 1000 idle connections, a new client is answered"
cmp_ok "$ms" -lt $((1000 * SLOW)) "... quickly ($ms ms)"
jc submit --wait -- true >/dev/null 2>&1
is "$?" 0 "... and a job runs"
kill "$HP"
wait "$HP" 2>/dev/null
fds_back "once they closed, the supervisor's descriptors are back to idle"

# a client that submits with --wait, never reads, and floods requests; its job writes 50 MB to
# a pipe of the client's that is never read either
NR=jr85-nr-$$
# (serveclient itself in the background, not the raw function: $! must be the process that
# blocks, or the kill below leaves it behind)
"$SC" "$SOCK" sendfds 1 "{\"v\":1,\"op\":\"submit\",\"id\":\"$NR\",\"wait\":true,\"options\":{\"wall-time\":\"3s\"},\"fds\":{\"stdout\":0},\"command\":[\"head\",\"-c\",\"50M\",\"/dev/zero\"]}" pipe \
	flood 30000 '{"v":1,"op":"metrics"}' block >"$T/nr.out" 2>"$T/sc.err" &
NP=$!
sleep 0.5
t0=$(date +%s%N)
jc submit --wait -- true >"$T/other.json" 2>/dev/null
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
is "$rc $(res_of "$T/other.json" .verdict)" "0 OK" "while a client never reads, another client's job runs"
cmp_ok "$ms" -lt $((3000 * SLOW)) "... promptly ($ms ms)"
wait_for $((30 * SLOW)) grep -q '^flooded' "$T/nr.out"
wait_for $((5 * SLOW)) grep -q "reads none of its replies: dropped" "$SERVE_LOG"
is "$?" 0 "the client that reads none of its replies is dropped (logged)"
jc wait "$NR" >"$T/nr.json" 2>/dev/null
is "$? $(res_of "$T/nr.json" '"\(.verdict) \(.limit)"')" "1 TO wall" "its job, writing to a pipe nobody reads, ends at its wall-time (TO)"
is "$(res_of "$T/nr.json" '.stdout.undelivered_bytes > 0')" true "... the bytes the pipe never took are counted (undelivered_bytes $(res_of "$T/nr.json" .stdout.undelivered_bytes))"
hello_ok
is "$?" 0 "the supervisor still answers"
kill "$NP"
wait "$NP" 2>/dev/null
fds_back "after the flooding client and its job, the supervisor's descriptors are back to idle"

# a submit and its cancel in one write, 300 times, with the slots busy: each job ends before
# its request is on disk, and leaves memory at once (keep_results 0); the reply to the submit
# (sent once the request is on disk) must still name the job
B1=$(jc submit -- sleep 60)
B2=$(jc submit -- sleep 60)
badacks=0
for i in $(seq 300); do
	raw send "{\"v\":1,\"op\":\"submit\",\"id\":\"jr85-u$i\",\"command\":[\"true\"]}" \
		send "{\"v\":1,\"op\":\"cancel\",\"id\":\"jr85-u$i\"}" recv recv >"$T/uc.out"
	if [ "$(jq -r 'select(.ok) | .id' "$T/uc.out" 2>/dev/null | grep -cx "jr85-u$i")" -ne 2 ]; then
		badacks=$((badacks + 1))
		[ "$badacks" -eq 1 ] && firstbad=$(tr '\n' ' ' <"$T/uc.out")
	fi
	serve_gone && break
done
is "$(serve_gone && echo gone || echo alive) $badacks" "alive 0" \
	"300 submits each cancelled at once (keep_results 0): the supervisor survives, and every reply names its job"
[ "$badacks" -gt 0 ] && echo "#   first bad pair of replies: $firstbad"
jc cancel "$B1" >/dev/null 2>&1
jc cancel "$B2" >/dev/null 2>&1
jc wait "$B2" >/dev/null 2>&1
nothing_left "bad input"
stop_serve TERM
is "$SERVE_RC" 0 "SIGTERM after all that: exit 0"
cmp_ok "$SERVE_MS" -lt $((2000 * SLOW)) "... at once ($SERVE_MS ms)"

# ---------------------------------------------------------------- 7. descriptors
start_serve --slots 2
measure_idle
printf 'first\nsecond\n' >"$T/d.in"
rm -f "$T/d.out" "$T/d.err"
jc submit --wait --stdin "$T/d.in" --stdout "$T/d.out" --stderr "$T/d.err" -- sh -c 'cat; echo to-stderr >&2' >"$T/d.json" 2>"$T/d.cerr"
is "$? $(res_of "$T/d.json" .verdict)" "0 OK" "--stdin, --stdout, --stderr files: OK"
is "$(cat "$T/d.out" 2>&1)" "$(cat "$T/d.in")" "... stdin read from the file, stdout in its file"
is "$(cat "$T/d.err" 2>&1)" to-stderr "... stderr in its file"
is "$(cat "$T/d.cerr")" "" "... and nothing on the client's own stderr"
echo piped-line | jc submit --wait --stdin /dev/stdin --stdout "$T/d.out" -- cat >"$T/d.json" 2>/dev/null
is "$? $(cat "$T/d.out" 2>&1)" "0 piped-line" "--stdin /dev/stdin, a pipe: the job reads it"

rm -f "$T/t.out"
jc submit --wait --stdout "$T/t.out" "$TJ/job.tar.gz" >"$T/t.json" 2>/dev/null
is "$? $(res_of "$T/t.json" .verdict) $(cat "$T/t.out" 2>&1)" "0 OK data-line" "a tarball job by path: OK, its command from job.conf, its output"
tid=$(res_of "$T/t.json" .id)
is "$(res_of "$T/t.json" '.outputs[0].name') $(cat "$JOBS/$tid.outputs/answer.txt" 2>&1)" "answer.txt 42" \
	"... its output file copied out, into the supervisor's private state directory"
rm -f "$T/t.out"
jc submit --wait --stdout "$T/t.out" - <"$TJ/job.tar.gz" >"$T/t.json" 2>/dev/null
is "$? $(res_of "$T/t.json" .verdict) $(cat "$T/t.out" 2>&1)" "0 OK data-line" "a tarball job from '-' (stdin, a file): OK"
rm -f "$T/t.out"
cat "$TJ/job.tar.gz" | jc submit --wait --stdout "$T/t.out" - >"$T/t.json" 2>/dev/null
is "$? $(res_of "$T/t.json" .verdict) $(cat "$T/t.out" 2>&1)" "0 OK data-line" "a tarball job from '-' (stdin, a pipe): OK"
jc submit --wait "$TJ/job.tar.gz" -- sh -c 'exit 5' >"$T/t.json" 2>/dev/null
is "$? $(res_of "$T/t.json" '"\(.verdict) \(.exit_code)"')" "1 RE 5" "a tarball job with a command after --: that command runs (RE 5)"
printf 'shell = "echo from-job-conf"\n' >"$T/jc.conf"
jc submit --wait --job-conf "$T/jc.conf" --stdout "$T/t.out" >"$T/t.json" 2>/dev/null
is "$? $(cat "$T/t.out" 2>&1)" "0 from-job-conf" "--job-conf FILE alone: the job config's command runs"
FOO85=from-client timeout -k 2 "$CT" "$JOBRUN" submit --wait --env FOO85 --env BAR85=given --stdout "$T/t.out" -- sh -c 'echo "$FOO85 $BAR85"' >/dev/null 2>&1
is "$? $(cat "$T/t.out" 2>&1)" "0 from-client given" "--env NAME takes the client's value, --env NAME=VALUE the given one"
id=$(jc submit -- sh -c 'echo o-line; echo e-line >&2')
jc wait "$id" >/dev/null 2>&1
is "$(cat "$JOBS/$id.stdout" 2>&1) $(cat "$JOBS/$id.stderr" 2>&1)" "o-line e-line" \
	"without --wait and without --stdout/--stderr: both kept in the state directory"

# stdout to a FIFO whose reader never reads: the job still ends, the supervisor never blocks
mkfifo "$T/never.fifo"
exec 8<>"$T/never.fifo"
rm -f "$T/fifo.json"
jc submit --wait --result "$T/fifo.json" --wall-time 2s --stdout "$T/never.fifo" -- head -c 50M /dev/zero 2>/dev/null &
FJ=$!
sleep 0.5
t0=$(date +%s%N)
jc submit --wait -- true >"$T/other.json" 2>/dev/null
is "$? $(res_of "$T/other.json" .verdict)" "0 OK" "while a job's stdout FIFO is never read, another job runs"
ms=$((($(date +%s%N) - t0) / 1000000))
cmp_ok "$ms" -lt $((3000 * SLOW)) "... promptly ($ms ms)"
wait "$FJ"
is "$? $(res_of "$T/fifo.json" '"\(.verdict) \(.limit)"')" "1 TO wall" "the job writing to the never-read FIFO ends at its wall-time: TO"
is "$(res_of "$T/fifo.json" '.stdout.undelivered_bytes > 0')" true "... what the FIFO never took is counted as undelivered"
exec 8>&-
fds_back "after these descriptors, the supervisor holds none of them"
nothing_left "descriptors"
stop_serve TERM
is "$SERVE_RC" 0 "(stopped: exit 0)"

final_checks
done_testing
