#!/bin/bash
# 50-errors: bad commands, bad options, bad files, set-up failures, jobrun interrupted. Each must
# end quickly with a clear verdict or message and leave nothing behind.
. "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------- the command
jr -- no-such-command-xyz
verdict_is RJ 1 "a missing command: verdict RJ, jobrun exits 1"
like "$(res .message)" "no-such-command-xyz.*No such file" "RJ: the message names the command and the error"
cmp_ok "$MS" -lt $((3000 * SLOW)) "RJ: quickly ($MS ms)"

jr -- /etc/passwd
verdict_is RJ 1 "a command that is not executable: RJ"
like "$(res .message)" "/etc/passwd.*Permission denied" "RJ: the message says why"

jr -- /usr
verdict_is RJ 1 "a directory as the command: RJ"

# ---------------------------------------------------------------- usage errors (exit 2, no job)
usage_error() { # DESCRIPTION PATTERN ARGS...: jobrun run ARGS must exit 2 naming PATTERN
	local desc=$1 pat=$2
	shift 2
	jr "$@"
	if [ "$RC" -eq 2 ] && grep -Eq -- "$pat" "$JERR" && [ ! -e "$RES" ] && [ ! -e "$OUT" ]; then
		ok "$desc"
	else
		not_ok "$desc" "want exit 2, a message matching /$pat/, no result and no job" \
			"got exit $RC; result file: $([ -e "$RES" ] && echo present || echo absent)"
	fi
}
usage_error "an unknown option: exit 2, named" "unknown option.*'--bogus'" --bogus -- true
usage_error "an option without its value: exit 2, named" "missing value: '--wall-time'" --wall-time
usage_error "--output-limit 5Q: exit 2, named" "--output-limit: '5Q'" --output-limit 5Q -- true
usage_error "--wall-time abc: exit 2, named" "--wall-time: 'abc'" --wall-time abc -- true
usage_error "--wall-time 0: exit 2" "--wall-time: '0'" --wall-time 0 -- true
usage_error "--disk 1K (too small): exit 2, named" "--disk: '1K'" --disk 1K -- true
usage_error "--stack 1K (too small): exit 2, named" "--stack: '1K'" --stack 1K -- true
usage_error "--file-size x: exit 2, named" "--file-size: 'x'" --file-size x -- true
usage_error "--open-files 3: exit 2, named" "--open-files: '3'" --open-files 3 -- true
usage_error "--uid-range 0:5: exit 2, named" "--uid-range: '0:5'" --uid-range 0:5 -- true
usage_error "--uid-range 4294967000:1000: exit 2" "--uid-range" --uid-range 4294967000:1000 -- true
usage_error "--hostname 'a b': exit 2, named" "--hostname: 'a b'" --hostname 'a b' -- true
usage_error "--env 1X=y: exit 2, named" "--env: '1X=y'" --env 1X=y -- true
usage_error "--ro-bind relative/path: exit 2, named" "--ro-bind: 'relative/path'" --ro-bind relative/path -- true
usage_error "--ro-bind /nonexistent/path: exit 2, named, with the error" \
	"--ro-bind: '/nonexistent/path': No such file" --ro-bind /nonexistent/path -- true
usage_error "--runtime-dir relative: exit 2, named" "--runtime-dir: 'rel'" --runtime-dir rel -- true
usage_error "no command: exit 2" "no command given"

"$JOBRUN" run --help >"$JOUT" 2>"$JERR"
is "$? $(grep -c -- '--wall-time' "$JOUT")" "0 1" "run --help: exit 0, the options on stdout"
"$JOBRUN" >"$JOUT" 2>"$JERR"
is "$?" 2 "jobrun without a command: exit 2"
"$JOBRUN" frobnicate >"$JOUT" 2>"$JERR"
is "$? $(grep -c "unknown command 'frobnicate'" "$JERR")" "2 1" "an unknown subcommand: exit 2, named"

# ---------------------------------------------------------------- the caller's files (RJ)
jr --stdin /nonexistent/input -- /bin/true
verdict_is RJ 1 "--stdin /nonexistent: verdict RJ, jobrun exits 1"
like "$(res .message)" "/nonexistent/input.*No such file" "RJ: the message names the file and the error"
cmp_ok "$MS" -lt $((3000 * SLOW)) "RJ: quickly ($MS ms)"
jr --dir /nonexistent -- /bin/true
verdict_is RJ 1 "--dir /nonexistent: RJ (a caller's path is resolved when the job starts)"
like "$(res .message)" "^--dir '/nonexistent'.*No such file" "RJ: the message names --dir, the path and the error"
jr --stdin /usr -- /bin/true
verdict_is RJ 1 "--stdin a directory: RJ"
jr --stdout /nonexistent/dir/out -- /bin/true
verdict_is RJ 1 "--stdout in a missing directory: RJ"
like "$(res .message)" "/nonexistent/dir/out" "RJ: the message names the output file"
touch "$T/plain-file"
jr --dir "$T/plain-file" -- /bin/true
verdict_is RJ 1 "--dir naming a file: RJ"
like "$(res .message)" "plain-file' is a regular file, not a directory" "RJ: the message says it is not a directory"

fresh
rm -f "$JOUT" "$JERR"
timeout "$JR_TIMEOUT" "$JOBRUN" run --uid-range "$UID_BASE:$UID_COUNT" --dir "$W" \
	--result "$T/no/such/dir/result.json" -- /job/probe exit 0 >"$JOUT" 2>"$JERR" </dev/null
RC=$?
is "$RC" 2 "a result file that cannot be written: exit 2"
like "$(cat "$JERR")" "no/such/dir/result.json" "the message names the result file"

# The result is written through a FIFO or a symlink, not renamed over it.
mkfifo "$T/result.fifo"
(cat "$T/result.fifo" >"$T/from-fifo" &)
jr --result "$T/result.fifo" -- /bin/true
is "$(jq -r .verdict "$T/from-fifo" 2>&1) $(stat -c %F "$T/result.fifo")" "OK fifo" \
	"--result FIFO: the result goes through it, the FIFO stays"
ln -s "$T/result.real" "$T/result.link"
jr --result "$T/result.link" -- /bin/true
is "$(jq -r .verdict "$T/result.real" 2>&1) $(stat -c %F "$T/result.link")" "OK symbolic link" \
	"--result SYMLINK: the result goes to its target, the link stays"

# ---------------------------------------------------------------- set-up failures (XX)
touch "$T/rt-file"
jr --runtime-dir "$T/rt-file" -- /bin/true
is "$RC $(res .verdict)" "2 <no result>" "a runtime dir that is a file: refused before any job, jobrun exits 2"
like "$(cat "$JERR")" "--runtime-dir '$T/rt-file': Not a directory" "the message names the option, the path and the error"
cmp_ok "$MS" -lt $((3000 * SLOW)) "refused quickly ($MS ms)"
mkdir -p "$T/rt-open" && chmod 0777 "$T/rt-open"
jr --runtime-dir "$T/rt-open" -- /bin/true
is "$RC $(res .verdict)" "2 <no result>" "a runtime dir others can write (a job could plant mount points there): refused, exit 2"
like "$(cat "$JERR")" "--runtime-dir '$T/rt-open' is not root's or others can write it" "the message says why"

mkdir -p "$T/rt-bad"
touch "$T/rt-bad/root"
jr --runtime-dir "$T/rt-bad" --uid-range "$PRIV_BASE:$PRIV_COUNT" -- /bin/true
verdict_is XX 2 "a sandbox step failing in the clone child: XX"
like "$(res .message)" "^sandbox set-up failed: mount tmpfs at $T/rt-bad/root .*: Not a directory$" \
	"XX: the message names the failed step and the errno"
cmp_ok "$MS" -lt $((3000 * SLOW)) "XX: quickly ($MS ms)"
no_leftovers "XX: nothing is left"

# Every uid of the range in use: XX at once; the lease is free again when the job ends.
ONE=$UID_END
fresh
for _ in $(seq 50); do
	"$JOBRUN" run --uid-range "$ONE:1" --dir "$W" --result "$T/one.json" --stdout /dev/null \
		-- /job/probe sleep "$SLOW" </dev/null &
	A=$!
	for _ in $(seq $((100 * SLOW))); do
		[ -n "$(uid_procs "$ONE" "$((ONE + 2))")" ] && break
		kill -0 "$A" 2>/dev/null || break # it could not lease the uid: another job has it
		sleep 0.01
	done
	[ -n "$(uid_procs "$ONE" "$((ONE + 2))")" ] && break
	wait "$A"
	sleep 0.1
done
jr --uid-range "$ONE:1" -- /bin/true
verdict_is XX 2 "with the only uid of the range in use, a second job: XX"
like "$(res .message)" "in use" "XX: the message says the uids are in use"
wait "$A"
is "$(jq -r .verdict "$T/one.json")" OK "(the first job ended OK)"
jr_lease --uid-range "$ONE:1" -- /bin/true
verdict_is OK 0 "once it ended, its uid is free again"

# Two runtime dirs lease the same slot numbers (here 0), and job cgroups are named by slot
# (jobrun/job-<slot>): a jobrun with another runtime dir must not take over, or kill, the cgroup
# of a running job.
mkdir -p "$T/rt-x" "$T/rt-y"
fresh
started=""
for _ in $(seq 20); do
	"$JOBRUN" run --runtime-dir "$T/rt-x" --uid-range "$((ONE + 2)):1" --dir "$W" \
		--result "$T/x.json" --stdout /dev/null -- /job/probe sleep "$((SLOW + 1))" </dev/null &
	A=$!
	for _ in $(seq $((100 * SLOW))); do
		[ -n "$(uid_procs "$((ONE + 2))" "$((ONE + 3))")" ] && started=1 && break
		kill -0 "$A" 2>/dev/null || break
		sleep 0.01
	done
	[ -n "$started" ] && break
	wait "$A"
	sleep 0.2
done
jr --runtime-dir "$T/rt-y" --uid-range "$((ONE + 4)):1" -- /bin/true
wait "$A"
if [ -n "$started" ]; then
	is "$(jq -r '[.verdict, .message] | @json' "$T/x.json")" '["OK",""]' \
		"a job runs to its end while a jobrun with another runtime dir starts a job in its slot"
	if [ "$(res .verdict)" = XX ]; then
		like "$(res .message)" "job-0 holds a running job" "that second job: XX, naming the busy cgroup"
	else
		is "$(res .verdict)" OK "that second job: OK (no cgroup of that name here)"
	fi
else
	skip "a job runs to its end while another runtime dir starts a job in its slot" "slot 0 busy"
	skip "that second job: XX, naming the busy cgroup" "slot 0 busy"
fi

# ---------------------------------------------------------------- jobrun interrupted
start_bg_job() { # RESULT: a job with daemons and a long sleep, in the background; sets BG
	fresh
	rm -f "$1"
	"$JOBRUN" run --uid-range "$UID_BASE:$UID_COUNT" --dir "$W" --result "$1" --stdout /dev/null \
		-- /bin/sh -c '/job/probe orphans 3; exec /job/probe sleep 100' </dev/null 2>"$JERR" &
	BG=$!
	for _ in $(seq $((200 * SLOW))); do
		[ "$(uid_procs "$UID_BASE" "$((UID_BASE + UID_COUNT))" | wc -l)" -ge 4 ] && break
		sleep 0.01
	done
}

start_bg_job "$T/term.json"
t0=$(date +%s%N)
kill -TERM "$BG"
wait "$BG"
RC=$?
MS=$((($(date +%s%N) - t0) / 1000000))
is "$RC" 2 "jobrun interrupted by SIGTERM exits 2"
is "$(jq -r '[.verdict, .message] | @json' "$T/term.json" 2>&1)" '["XX","jobrun was interrupted by TERM"]' \
	"its result: XX, interrupted by TERM"
cmp_ok "$MS" -lt $((2000 * SLOW)) "it returns at once ($MS ms)"
no_leftovers "SIGTERM to jobrun: the job and its daemons are gone"

start_bg_job "$T/kill.json"
slot=$(($(awk '/^Uid:/ { print $2 }' "/proc/$(uid_procs "$UID_BASE" "$((UID_BASE + UID_COUNT))" | head -1)/status") - UID_BASE))
kill -KILL "$BG"
wait "$BG" 2>/dev/null
# the orphaned PID 1 is a zombie until the host's init reaps it (this machine's takes ~2 s)
for _ in $(seq $((500 * SLOW))); do
	[ -z "$(uid_procs "$UID_BASE" "$UID_END")" ] && break
	sleep 0.01
done
no_leftovers "SIGKILL to jobrun: the job and its daemons die with it (parent-death signal)"
# A killed jobrun cannot remove the job's cgroups: the next job of that slot does. Do it now,
# holding the slot's lease as jobrun would: rmdir succeeds only on an empty cgroup.
left=""
cg=job-$((UID_BASE + slot)) # named after the job's uid
for d in $(find /sys/fs/cgroup -mindepth 2 -maxdepth 8 -type d -path "*/jobrun/$cg" 2>/dev/null); do
	# only below this shell's own cgroups, where the jobrun it started made them
	grep -qx "$$" "${d%/jobrun/$cg}/cgroup.procs" 2>/dev/null && left="$left $d"
done
if [ -z "$left" ]; then
	skip "the killed job's cgroups are empty" "no job cgroup (no cgroup support?)"
elif flock -n "/run/jobrun/uids/$slot" rmdir $left; then
	ok "the killed job's cgroups are empty (removed)"
else
	not_ok "the killed job's cgroups are empty" "$left" \
		"$(for d in $left; do echo "$d: $(tr '\n' ' ' <"$d/cgroup.procs")"; done)"
fi

# ---------------------------------------------------------------- what a runtime dir keeps
RT=$T/rt-clean
PRIV=(--runtime-dir "$RT" --uid-range "$PRIV_BASE:$PRIV_COUNT")
fresh
jr "${PRIV[@]}" --dir "$W" -- /job/probe orphans 2
jr "${PRIV[@]}" --wall-time 200ms -- sleep 10
jr "${PRIV[@]}" -- no-such-command-xyz
jr "${PRIV[@]}" --stdin /nonexistent -- /bin/true
is "$(cd "$RT" && find . -mindepth 1 ! -path './uids/*' | sort | tr '\n' ' ')" "./root ./scratch ./uids " \
	"after OK, TO and RJ jobs the runtime dir holds only root/, scratch/ and uids/"
is "$(find "$RT/uids" -mindepth 1 ! -type f | head -3)" "" "uids/ holds only lock files"
is "$(grep -F " $RT" /proc/self/mountinfo)" "" "nothing is mounted in it on the host"

final_checks
done_testing
