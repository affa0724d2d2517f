#!/bin/bash
# 90-jobs: a job as users hand it over: a tarball with a job config. Round trip (unpack, limits
# from job.conf, outputs back), the merge within the profile's maxima (file:line in messages),
# ${VAR} never filled from jobrun's environment, hostile outputs, refused archives, stdin.
. "$(dirname "$0")/lib.sh"

# mkjob NAME: a staging dir $T/NAME/src holding the probe; tar it up with mktar
mkjob() {
	J=$T/$1
	rm -rf "$J"
	mkdir -p "$J/src"
	cp "$PROBE" "$J/src/probe"
	chmod 0755 "$J/src/probe"
}
mktar() { # [tar options]: $J/job.tar.gz from $J/src
	tar -C "$J/src" -czf "$J/job.tar.gz" "$@" .
}

# ---------------------------------------------------------------- round trip
mkjob rt
mkdir -p "$J/src/data"
echo "hello tarball" >"$J/src/data/in.txt"
cat >"$J/src/job.conf" <<'CONF'
# the round trip
shell = "tr a-z A-Z < data/in.txt > out.txt && mkdir -p res && ./probe ids > res/ids.txt"
outputs = {"out.txt", "res/ids.txt"}
limits {
  memory = 96M
  wall_time = 20s
  pids = 40
}
CONF
mktar
jr --output-dir "$J/out" "$J/job.tar.gz"
verdict_is OK 0 "a tarball with a job config runs: OK"
is "$(cat "$J/out/out.txt" 2>/dev/null)" "HELLO TARBALL" "its output comes back with what the job wrote"
like "$(cat "$J/out/res/ids.txt" 2>/dev/null)" "uid=$UID_BASE|uid=16" "a nested output comes back too"
is "$(res '[.limits.memory_bytes, .limits.wall_seconds, .limits.pids, .memory.limit_bytes, .pids.limit] | @json')" \
	'[100663296,20,40,100663296,40]' "job.conf's limits apply (memory 96M, wall 20s, pids 40), in the cgroup too"
is "$(res '.archive.entries >= 4 and .archive.bytes > 0')" true "the result reports what was unpacked ($(jq -c .archive "$RES"))"
is "$(res '.outputs | map(.name + ":" + (.error // "ok")) | join(",")')" "out.txt:ok,res/ids.txt:ok" \
	"the result lists each output and no error"
is "$(res .output_dir)" "$J/out" "and where they went"
is "$(stat -c %a "$J/out/out.txt")" 644 "outputs are written 0644"

# the same archive on stdin, and a command after -- that replaces the config's
rm -rf "$J/out"
LAST_JOB="jobrun run - -- /job/probe exit 7 < job.tar.gz"
timeout 20 "$JOBRUN" run --uid-range "$UID_BASE:$UID_COUNT" --result "$RES" --output-dir "$J/out" \
	- -- /job/probe exit 7 <"$J/job.tar.gz" >"$JOUT" 2>"$JERR"
RC=$?
verdict_is RE 1 "the archive on stdin (-), with a command after -- that replaces job.conf's: RE"
is "$(res .exit_code)" 7 "the command given on the command line ran (exit 7)"
is "$(res .limits.memory_bytes)" 100663296 "job.conf's limits still apply"

# --job-conf wins over the archive's job.conf
cat >"$T/other.conf" <<'CONF'
command = {"./probe", "exit", "5"}
CONF
jr --job-conf "$T/other.conf" --output-dir "$J/out2" "$J/job.tar.gz"
verdict_is RE 1 "--job-conf FILE wins over the archive's job.conf"
is "$(res .exit_code)" 5 "its command ran"
is "$(res .limits.memory_bytes)" 268435456 "and its (absent) limits: the profile's default memory"

# a job config without a tarball: the job runs in a fresh workspace
printf 'shell = "echo conf-only; pwd"\nlimits { memory = 80M }\n' >"$T/only.conf"
jr --job-conf "$T/only.conf"
verdict_is OK 0 "--job-conf FILE without a tarball runs its command"
is "$(cat "$OUT")" "$(printf 'conf-only\n/job')" "in /job"
is "$(res '[.limits.memory_bytes, .archive] | @json')" '[83886080,null]' \
	"its limits apply, and the result has no archive"

# ---------------------------------------------------------------- merge within maxima
mkjob max
printf 'shell = "true"\nlimits {\n  cpus = 1\n  memory = 4G\n}\n' >"$J/src/job.conf"
mktar
jr "$J/job.tar.gz"
verdict_is RJ 1 "job.conf asking memory = 4G, above the grader maximum 2G: RJ"
is "$(res .message)" "job.conf:4: memory = 4G is above the grader profile's maximum 2G" \
	"the message names the file, the line, the key, the value and the maximum"

mkjob unit
printf 'shell = "true"\nlimits { wall_time = 010 }\n' >"$J/src/job.conf"
mktar
jr "$J/job.tar.gz"
verdict_is OK 0 "wall_time = 010 is accepted"
is "$(res .limits.wall_seconds)" 10 "and read as ten seconds, not eight (libconfuse's base 0)"

mkjob bad
printf 'shell = "true"\nlimits {\n  memroy = 1G\n}\n' >"$J/src/job.conf"
mktar
jr "$J/job.tar.gz"
verdict_is RJ 1 "an unknown key in job.conf: RJ"
like "$(res .message)" "job.conf:3: .*memroy" "the message names the line and the key"

jr --memory 3G -- true
is "$RC" 2 "--memory 3G on the command line, above the grader maximum: usage error (exit 2)"
like "$(cat "$JERR")" "command line: memory = 3G is above the grader profile's maximum 2G" \
	"the message says so"

# ---------------------------------------------------------------- ${VAR} and the environment
mkjob env
printf 'shell = "echo home=${HOME} secret=${JOBRUN_TEST_SECRET}"\n' >"$J/src/job.conf"
mktar
LAST_JOB="JOBRUN_TEST_SECRET=s3cr3t jobrun run job.tar.gz"
JOBRUN_TEST_SECRET=s3cr3t HOME=/root/marker timeout 20 "$JOBRUN" run \
	--uid-range "$UID_BASE:$UID_COUNT" --result "$RES" --stdout "$OUT" "$J/job.tar.gz" \
	>"$JOUT" 2>"$JERR"
RC=$?
verdict_is OK 0 "a job config naming \${HOME} and \${JOBRUN_TEST_SECRET} runs"
is "$(cat "$OUT")" "home=/job secret=" \
	"jobrun's environment never fills them: the job's shell sees its own HOME and no secret"

# ---------------------------------------------------------------- hostile outputs
mkjob hostile
cat >"$J/src/job.conf" <<'CONF'
shell = "ln -s /etc/shadow link.txt; mkfifo fifo.txt; head -c 100000 /dev/zero > big.txt; mkdir d; ln -s /etc d2"
outputs = {"link.txt", "fifo.txt", "big.txt", "d2/passwd", "missing.txt"}
limits { output = 1K }
CONF
mktar
jr --output-dir "$J/out" "$J/job.tar.gz"
verdict_is OK 0 "a job leaving a symlink to /etc/shadow, a FIFO and a huge file as outputs: OK, promptly"
cmp_ok "$MS" -lt $((10000 * SLOW)) "jobrun did not block on the FIFO ($MS ms)"
check "the symlink was not followed: no link.txt copied" test ! -e "$J/out/link.txt"
like "$(res '.outputs[] | select(.name == "link.txt") | .error')" "symlink" "its error says why"
like "$(res '.outputs[] | select(.name == "fifo.txt") | .error')" "not a regular file" "the FIFO is refused"
is "$(stat -c %s "$J/out/big.txt" 2>/dev/null)" 1024 "the huge output is capped at the job's output limit (1K)"
is "$(res '.outputs[] | select(.name == "big.txt") | .truncated')" true "and marked truncated"
check "a path through a symlinked directory is not followed" test ! -e "$J/out/d2/passwd"
like "$(res '.outputs[] | select(.name == "missing.txt") | .error')" "No such file" "a missing output is reported"

# ---------------------------------------------------------------- refused archives
mkjob evil
echo x >"$J/src/x"
mkdir -p "$T/outside"
tar -C "$J/src" -czf "$J/job.tar.gz" -P --transform 's,^\./x$,../../outside/escaped,' ./x ./probe
jr -- true
jr "$J/job.tar.gz" -- /job/probe exit 0
verdict_is RJ 1 "an archive with a '..' entry is refused: RJ"
like "$(res .message)" "archive refused: entry '.*outside/escaped'" "the message names the entry"
check "nothing was written outside the workspace" test ! -e "$T/outside/escaped"

mkjob nocmd
echo hi >"$J/src/readme"
mktar
jr "$J/job.tar.gz"
verdict_is RJ 1 "a tarball without a job config and no command: RJ"
like "$(res .message)" "command" "the message says a command is missing"

# stdin named by the job config: a file inside /job, opened without following links
mkjob stdin
echo "line from stdin" >"$J/src/input.txt"
printf 'shell = "cat"\nstdin = "input.txt"\n' >"$J/src/job.conf"
mktar
jr "$J/job.tar.gz"
verdict_is OK 0 "stdin = \"input.txt\" in job.conf"
is "$(cat "$OUT")" "line from stdin" "the job reads that file on stdin"

MiB=1048576
# ---------------------------------------------------------------- unpacking is not the job's
# The job's CPU budget is its command's: an archive that takes CPU to unpack (bzip2, 200 MiB
# of files: more than the whole budget) does not use it up.
mkjob cpu
head -c $((200 * MiB)) /dev/zero >"$J/src/zeros"
# (the budget scales with SLOW: the VM lane runs the command itself ~2x slower, unpacking ~5x)
printf 'shell = "./probe burn 0.2"\nlimits {\n  cpu_time = %dms\n}\n' $((500 * SLOW)) >"$J/src/job.conf"
tar -C "$J/src" -cf - . | bzip2 -1 >"$J/job.tar.bz2"
rm -f "$J/src/zeros"
jr --disk 1G --memory 1G "$J/job.tar.bz2"
verdict_is OK 0 "a tarball whose unpacking takes more CPU than cpu_time, command burning 0.2 s: OK"
is "$(res '.cpu.seconds >= 0.15 and .cpu.seconds < .archive.unpack_cpu_seconds')" true \
	"cpu.seconds is the command's ($(res .cpu.seconds) s), not unpacking's"
is "$(res '.archive.unpack_cpu_seconds > 0.3 and .archive.unpack_wall_seconds > 0')" true \
	"unpacking is reported apart ($(jq -c .archive "$RES" 2>&1))"

# SIGTERM while unpacking: stop at once, start nothing, report. The archive comes on stdin
# from a writer that waits first: unpacking is surely under way when the signal comes.
mkjob sigterm
mktar
rm -f "$RES"
{ sleep $((10 * SLOW)); cat "$J/job.tar.gz"; } |
	timeout -k 5 $((60 * SLOW)) "$JOBRUN" run --uid-range "$UID_BASE:$UID_COUNT" \
		--result "$RES" --stdout "$OUT" --stderr "$ERR" - -- /job/probe exit 0 \
		>"$JOUT" 2>"$JERR" &
bg=$!
sleep $((SLOW > 1 ? 3 : 1))
pat="^$JOBRUN run --uid-range $UID_BASE:$UID_COUNT --result $RES"
pkill -TERM -f "$pat" 2>/dev/null
t0=$(date +%s%N)
wait_for $((10 * SLOW)) eval '! pgrep -f "$pat" >/dev/null'
MS=$((($(date +%s%N) - t0) / 1000000)) # (bash's wait would wait for the writer too)
wait "$bg"
RC=$?
verdict_is XX 2 "SIGTERM during unpacking: XX, jobrun exits 2"
like "$(res .message)" "interrupted by TERM" "the message says it was interrupted"
cmp_ok "$MS" -lt $((3000 * SLOW)) "it stopped at once ($MS ms after the signal, the archive's writer still waiting)"
is "$(res .exit_code)" null "the command never started"

# A FIFO or a directory given as the archive: RJ at once, never blocked on
mkfifo "$T/fifo.tar"
jr "$T/fifo.tar"
verdict_is RJ 1 "a FIFO as the archive: RJ"
cmp_ok "$MS" -lt $((5000 * SLOW)) "at once ($MS ms)"
mkdir -p "$T/dir.tar"
jr "$T/dir.tar"
verdict_is RJ 1 "a directory as the archive: RJ"
like "$(res .message)" "archive .*dir.tar.* not a regular file" "the message says why"

# An output lost on a full host disk: jobrun failed to deliver the job's work: XX, never OK
mkjob fulldisk
printf 'shell = "head -c 1048576 /dev/zero > big.out"\noutputs = {"big.out"}\n' >"$J/src/job.conf"
mktar
mkdir -p "$T/full"
if mount -t tmpfs -o size=64k,mode=0755 tmpfs "$T/full"; then
	CLEANUPS+=("umount -l '$T/full'")
	jr --output-dir "$T/full/out" "$J/job.tar.gz"
	verdict_is XX 2 "an output that does not fit the host's disk: XX, jobrun exits 2"
	like "$(res .message)" "outputs: .*No space left" "the message says the output could not be written"
	like "$(res '.outputs[0].error')" "No space left" "the output's own error says it too"
	umount "$T/full"
else
	skip "an output that does not fit the host's disk: XX" "cannot mount a small tmpfs"
	skip "the message says so" "cannot mount a small tmpfs"
	skip "the output's own error says it too" "cannot mount a small tmpfs"
fi

# The job config's own errors say so, with the file and the line
printf 'shell = "true"\nlimits {\n memory =\n}\n' >"$T/bad.conf"
jr --job-conf "$T/bad.conf"
verdict_is RJ 1 "--job-conf with a syntax error: RJ"
like "$(res .message)" "^--job-conf $T/bad.conf:4: " "the message names --job-conf, the file and the line"
mkjob badconf
cp "$T/bad.conf" "$J/src/job.conf"
mktar
jr "$J/job.tar.gz"
like "$(res .message)" "^job config refused: job.conf:4: " "a tarball's job.conf: 'job config refused', not 'archive refused'"

# An output directory jobrun made is removed again when nothing came into it: the state
# directory does not grow by an empty directory a job
mkjob nooutputs
printf 'shell = "true"\noutputs = {"never-made.txt"}\n' >"$J/src/job.conf"
mktar
jr --output-dir "$T/made-for-nothing" "$J/job.tar.gz"
verdict_is OK 0 "a job whose listed output never comes: OK"
check "the output directory jobrun made for it is gone again" test ! -e "$T/made-for-nothing"
is "$(res .output_dir) $(res '.outputs[0].error != null')" "null true" \
	"the result says so: output_dir null, the output's error set"
mkdir -p "$T/there-before"
jr --output-dir "$T/there-before" "$J/job.tar.gz"
check "a directory that was there before is left as it was" test -d "$T/there-before"

final_checks
done_testing
