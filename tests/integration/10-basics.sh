#!/bin/bash
# 10-basics: verdicts, exit statuses, the result JSON, and where input and output go.
. "$(dirname "$0")/lib.sh"

# --- a job that succeeds ---
fresh
jr --id basics-ok --dir "$W" -- /job/probe exit 0
verdict_is OK 0 "exit 0: verdict OK, jobrun exits 0"
is "$(res '[.exit_code, .signal, .limit, .message] | @json')" '[0,null,null,""]' \
	"OK: exit_code 0, signal null, limit null, empty message"
is "$(res 'keys_unsorted[:15] | join(",")')" \
	"version,id,verdict,message,exit_code,signal,limit,wall_seconds,start_time,end_time,stdout,stderr,host,limits,isolation" \
	"the result starts with the documented keys, in order"
is "$(res '[.version, .id, .host] | @json')" "[1,\"basics-ok\",\"$(uname -n)\"]" \
	"version 1, the --id given, the host's name"
is "$(res '.isolation | keys_unsorted | join(",")')" \
	"namespaces,uid,gid,hostname,seccomp,no_new_privs,capabilities,network,workdir" \
	"isolation has the documented keys"
is "$(res '.isolation | [.namespaces, .seccomp, .no_new_privs, .capabilities, .network] | @json')" \
	'[["pid","net","uts","ipc","mnt","cgroup"],true,true,false,"loopback"]' \
	"isolation reports the namespaces, seccomp, no_new_privs, no capabilities, loopback"
like "$(res '.start_time + " " + .end_time')" \
	'^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{6}Z 20[0-9-]{8}T[0-9:]{8}\.[0-9]{6}Z$' \
	"start_time and end_time are UTC ISO-8601 with microseconds"
is "$(res '(.end_time >= .start_time) and (.wall_seconds > 0) and (.wall_seconds < 5)')" true \
	"end_time is not before start_time, wall_seconds is positive and small"
is "$(res '.stdout, .stderr | [.bytes, .limit, .truncated] | @json' | tr '\n' ' ')" \
	"[0,67108864,false] [0,67108864,false] " "no output: 0 bytes each, default limit 64M, not truncated"
is "$(res '.limits | [.wall_seconds, .output_bytes, .disk_bytes, .open_files, .stack_bytes, .file_size_bytes, .memory_bytes, .cpu_seconds, .pids, .cpus] | @json')" \
	'[30,67108864,268435456,256,null,null,268435456,10,64,1]' \
	"limits shows the built-in grader profile's defaults (no jobrun.conf here)"
is "$(res .profile)" grader "the job ran under the default profile, grader"

fresh
jr --id x --dir "$W" --wall-time 2.5s --output-limit 512K --disk 1M \
	--open-files 100 --stack 1M --file-size 2M -- /job/probe exit 0
is "$(res '.limits | [.wall_seconds, .output_bytes, .disk_bytes, .open_files, .stack_bytes, .file_size_bytes] | @json')" \
	'[2.5,524288,1048576,100,1048576,2097152]' "limits shows the options given"

jr -- /bin/true
id1=$(res .id)
jr -- /bin/true
id2=$(res .id)
like "$id1" '^[0-9a-f]{12}$' "without --id the id is 12 random hex digits"
isnt "$id1" "$id2" "two jobs get different ids"

# --- verdicts ---
jrw exit 3
verdict_is RE 1 "exit 3: verdict RE, jobrun exits 1"
is "$(res '[.exit_code, .signal, .limit] | @json')" '[3,null,null]' "RE: exit_code 3, no signal, no limit"
like "$(res .message)" 'status 3' "RE: the message gives the status"

jrw segv
verdict_is SG 1 "SIGSEGV: verdict SG, jobrun exits 1"
is "$(res '[.exit_code, .signal] | @json')" '[null,11]' "SG: signal 11, exit_code null"
like "$(res .message)" 'signal 11.*SEGV' "SG: the message names the signal"

jr -- /bin/sh -c 'kill -KILL $$'
verdict_is SG 1 "a job that kills itself with SIGKILL: SG"
is "$(res .signal)" 9 "SG: signal 9"

jr -- /bin/sh -c 'exit 255'
is "$(res '[.verdict, .exit_code] | @json')" '["RE",255]' "exit 255 is RE with exit_code 255"

# --- input and output ---
printf 'line one\nline two\n\0binary\377\n' >"$T/input"
jrwo --stdin "$T/input" -- cat
verdict_is OK 0 "--stdin FILE: the job runs"
check "--stdin FILE: the job reads exactly the file" cmp -s "$T/input" "$OUT"
is "$(res .stdout.bytes)" "$(stat -c %s "$T/input")" "stdout.bytes counts what the job wrote"

jrw cat
is "$(stat -c %s "$OUT")" 0 "without --stdin the job reads an empty stdin (/dev/null)"

jrw flood 1000 2
is "$(stat -c %s "$ERR") $(stat -c %s "$OUT")" "1000 0" "--stderr FILE gets the job's stderr only"
is "$(res '[.stderr.bytes, .stdout.bytes] | @json')" "[1000,0]" "stderr.bytes and stdout.bytes are counted apart"

# No --stdout and no --result: the job's output, then the result, on jobrun's stdout.
fresh
rm -f "$JOUT"
timeout "$JR_TIMEOUT" "$JOBRUN" run --uid-range "$UID_BASE:$UID_COUNT" --dir "$W" -- \
	/job/probe hostname >"$JOUT" 2>"$JERR" </dev/null
RC=$?
is "$(head -1 "$JERR")" "hostname=jobrun" "without --result, the job's stdout goes to jobrun's stderr"
is "$(jq -r .verdict "$JOUT")" OK "and jobrun's stdout holds the result alone"

# The job writes to its workdir; the host sees the file, owned by the job's uid.
jrw write /job/made-by-job "hello from the job"
verdict_is OK 0 "--dir: a job writes into /job"
is "$(cat "$W/made-by-job" 2>&1)" "hello from the job" "--dir: the file is in the host directory"
is "$(stat -c %u:%g "$W/made-by-job" 2>&1)" "$(res '"\(.isolation.uid):\(.isolation.gid)"')" \
	"--dir: the file belongs to the job's uid and gid (as in the result)"
is "$(res .isolation.workdir)" "$W" "--dir: isolation.workdir is the host directory"

# Without --dir, /job is a fresh tmpfs (the probe comes from a read-only bind).
mkdir -p "$T/bin"
cp "$PROBE" "$T/bin/probe"
chmod 0755 "$T/bin" "$T/bin/probe"
jr --ro-bind "$T/bin" -- "$T/bin/probe" writable /job
is "$(pv /job) $(res .isolation.workdir)" "OK tmpfs" "without --dir, /job is writable and reported as tmpfs"
jr --ro-bind "$T/bin" -- "$T/bin/probe" mounts
like "$(grep '^mount=/job ' "$OUT")" '^mount=/job rw,[^ ]* tmpfs ' "without --dir, /job is a tmpfs mount"
jr --ro-bind "$T/bin" -- /bin/sh -c 'ls -A /job; echo x >/job/f && stat -c %u /job/f'
is "$(cat "$OUT")" "$(res .isolation.uid)" "without --dir, /job starts empty and belongs to the job"
jr --ro-bind "$T/bin" -- /bin/sh -c 'ls -A /job'
is "$(cat "$OUT")" "" "the next job's /job is empty again"

final_checks
done_testing
