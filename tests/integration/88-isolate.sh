# 88-isolate.sh - the isolate front (docs/isolate.md): `jobrun isolate` and jobrun started as
# `isolate` take isolate's command line; boxes persist across runs; the meta file, exit statuses
# and messages read as isolate's to CMS (cms/grading/Sandbox.py, IsolateSandbox) and Judge0
# (app/jobs/isolate_job.rb), whose call sequences are driven here as they make them; refused
# options say so; two boxes at once do not see each other; a killed grader's box is cleaned.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ISO_ROOT=/var/lib/jobrun/isolate
# The box root is compiled in (jobrun/isolate.h). In the VM lane / is the host's, shared
# read-only: a tmpfs of this test's own goes over /var/lib/jobrun there, as a writable /var/lib
# of a real host would be.
if [ "${JOBRUN_LANE:-host}" = vm ] && ! { mkdir -p "$ISO_ROOT" && [ -w "$ISO_ROOT" ]; } 2>/dev/null; then
	mount -t tmpfs -o mode=0755,size=64m jobrun-it-varlib /var/lib/jobrun ||
		{ echo "Bail out! cannot mount a tmpfs on the VM's read-only /var/lib/jobrun"; exit 1; }
	CLEANUPS+=("umount /var/lib/jobrun || umount -l /var/lib/jobrun")
fi
# box ids of this test file only (two graders may run tests at once)
B1=$((90000 + $$ % 4000 * 2))
B2=$((B1 + 1))
ISO=$T/isolate
ln -s "$JOBRUN" "$ISO"
for b in "$B1" "$B2"; do
	CLEANUPS+=("\"$JOBRUN\" isolate -b $b --cleanup")
done
M=$T/meta
mv_() { # KEY [FILE]: the meta file's value for KEY, or <absent>
	awk -v k="$1" 'index($0, k ":") == 1 { print substr($0, length(k) + 2); f = 1; exit }
		END { if (!f) print "<absent>" }' "${2:-$M}" 2>/dev/null || echo "<no meta>"
}
# The meta file's keys in order, and its numbers' forms: every key is isolate's and written the
# way isolate writes it (time and time-wall with 3 decimals, the rest whole numbers).
STATS="time time-wall max-rss csw-voluntary csw-forced cg-mem"
meta_is() { # KEYS DESCRIPTION: the keys, in order, of $M; and every value well formed
	local got bad
	got=$(cut -d: -f1 "$M" 2>/dev/null | tr '\n' ' ')
	is "${got% }" "$1" "$2: the meta keys are isolate's ($1)"
	bad=$(awk -F: '
		$1 ~ /^time(-wall)?$/ { if ($2 !~ /^[0-9]+\.[0-9][0-9][0-9]$/) print; next }
		$1 ~ /^(max-rss|csw-voluntary|csw-forced|cg-mem|exitcode|exitsig)$/ {
			if ($2 !~ /^[0-9]+$/) print; next }
		$1 ~ /^(killed|cg-oom-killed)$/ { if ($2 != "1") print; next }
		$1 == "status" { if ($2 !~ /^(RE|SG|TO|XX)$/) print; next }
		$1 == "message" { next }
		{ print }' "$M")
	is "$bad" "" "$2: every meta value has isolate's form"
}
iso() { # ARGS...: the front as `isolate` (the symlink); exit status in $rc, stderr in $T/err
	timeout -k 5 $((60 * SLOW)) "$ISO" "$@" 2>"$T/err"
	rc=$?
}

# ---- --init, persistence, --cleanup --------------------------------------------------------
"$ISO" -b "$B1" --cleanup >/dev/null 2>&1
dir=$(timeout -k 5 30 "$ISO" --box-id="$B1" --init 2>"$T/err"); rc=$?
is "$rc $dir" "0 $ISO_ROOT/$B1" "--init prints the box directory (exit 0)"
BOX=$dir/box
check "the sandbox files live in BOXDIR/box, owned by the box's uid" \
	test "$(stat -c %u "$BOX")" = $((1400000000 + B1))
printf 'int main(){return 0;}\n' >"$BOX/x.c"
printf '5 7\n' >"$BOX/in.txt"
iso -b "$B1" -p -M "$M" -o compile.txt --stderr-to-stdout --run -- /bin/sh -c \
	'cp x.c a.out.src && printf "#!/bin/sh\nread a b; echo \$((a+b))\n" >prog && chmod +x prog && pwd && id -u'
is "$rc $(mv_ exitcode) $(mv_ status)" "0 0 <absent>" "a compile-like run: exit 0, exitcode:0, no status"
is "$(cat "$BOX/compile.txt")" "/box
$((1400000000 + B1))" "the job starts in /box as the box's uid"
iso -b "$B1" -M "$M" -i in.txt -o out.txt --run -- ./prog
is "$rc $(cat "$BOX/out.txt" 2>&1)" "0 12" "a later run reads the files an earlier run made (-i/-o in the box)"
meta_is "$STATS exitcode" "OK"
like "$(cat "$T/err")" '^OK \([0-9]+\.[0-9]{3} sec real, [0-9]+\.[0-9]{3} sec wall\)$' \
	"isolate's status line on stderr"
iso -b "$B1" -s --run -- /bin/true
is "$rc $(cat "$T/err")" "0 " "-s: no status line"

# ---- verdicts: every key CMS and Judge0 read ------------------------------------------------
iso -b "$B1" -M "$M" --run -- /bin/sh -c 'exit 3'
is "$rc $(mv_ exitcode) $(mv_ status) $(mv_ message)" "1 3 RE Exited with error status 3" "RE"
meta_is "$STATS exitcode status message" "RE"
iso -b "$B1" -M "$M" --run -- /bin/sh -c 'kill -SEGV $$'
is "$rc $(mv_ exitsig) $(mv_ status) $(mv_ message)" "1 11 SG Caught fatal signal 11" "SG"
meta_is "$STATS exitsig status message" "SG"
iso -b "$B1" -M "$M" -t 0.3 -w $((5 * SLOW)) --run -- /bin/sh -c 'while :; do :; done'
is "$rc $(mv_ status) $(mv_ killed) $(mv_ message)" "1 TO 1 Time limit exceeded" "TO (CPU)"
meta_is "$STATS killed status message" "TO (CPU)"
check "TO (CPU): time is at least the limit ($(mv_ time) s)" awk -v t="$(mv_ time)" 'BEGIN { exit !(t >= 0.3) }'
iso -b "$B1" -M "$M" -t 5 -w 0.3 --run -- /bin/sleep 5
is "$rc $(mv_ status) $(mv_ message)" "1 TO Time limit exceeded (wall clock)" \
	"TO (wall): the text CMS tells a wall-clock time-out by"
meta_is "$STATS killed status message" "TO (wall)"
check "TO (wall): time-wall is at least the limit, time far below ($(mv_ time-wall), $(mv_ time) s)" \
	awk -v w="$(mv_ time-wall)" -v t="$(mv_ time)" 'BEGIN { exit !(w >= 0.3 && t < 0.2) }'
# (0.5 s of CPU time burnt, whatever the CPU's speed: over -t 0.3, within -t + -x)
iso -b "$B1" -p -M "$M" -o burn.txt -t 0.3 -x 1 -w $((5 * SLOW)) -d "$(dirname "$PROBE")" --run -- \
	"$PROBE" burn 0.5
is "$rc $(mv_ status)" "1 TO" "-x: a run over --time that ends within the extra time is TO"
t=$(mv_ time)
check "... with its real time reported ($t s)" awk -v t="$t" 'BEGIN { exit !(t >= 0.45 && t < 1.3) }'
iso -b "$B1" --cg -M "$M" --cg-mem=32768 -p -d "$(dirname "$PROBE")" --run -- "$PROBE" mem 268435456
is "$rc $(mv_ status) $(mv_ cg-oom-killed) $(mv_ exitsig)" "1 SG 1 9" \
	"ML: SG with cg-oom-killed (CMS's memory-limit test)"
cmp_ok "$(mv_ cg-mem)" -gt 0 "... and cg-mem"
meta_is "$STATS cg-oom-killed exitsig killed status message" "ML"
iso -b "$B1" -M "$M" --run -- /box/no-such-program
is "$rc $(mv_ status)" "2 XX" "execve failure: XX, exit 2"
meta_is "$STATS status message" "execve failure"
is "$(mv_ message)" 'execve("/box/no-such-program"): No such file or directory' \
	"... with the message Judge0 matches (^execve\(.+\): No such file or directory$)"

# ---- what a run leaves for the grader: isolate's rule, only files and directories ---------
# A job plants a symlink where the grader will read its output, a FIFO that would block the
# grader's read, a socket, a symlink 120 directories down (deeper than the walk holds open).
iso -b "$B1" -p -s --run -- /bin/sh -c 'echo keep >/box/keep.txt; mkdir -p /box/sub; echo k >/box/sub/k
	ln -s /etc/passwd /box/answer.txt; mkfifo /box/fifo; ln -s /etc /box/sub/etc
	python3 -c "import socket; socket.socket(socket.AF_UNIX).bind(\"/box/sock\")" 2>/dev/null
	d=/box; i=0; while [ $i -lt 120 ]; do d=$d/d; mkdir $d; i=$((i + 1)); done
	ln -s /etc/shadow $d/deep-link; echo bottom >$d/bottom.txt'
is "$rc" 0 "a run that leaves symlinks, a FIFO, a socket and a deep tree in the box"
is "$(find "$BOX" ! -type f ! -type d | sed "s|^$BOX/||")" "" \
	"... leaves nothing in the box but files and directories (isolate's rule)"
is "$(cat "$BOX/keep.txt" "$BOX/sub/k" 2>&1)" "keep
k" "... and its files are kept"
is "$(find "$BOX" -name bottom.txt -exec cat {} + 2>&1)" "bottom" \
	"... the file 120 levels down too (its deep directories moved up, not lost)"
iso -b "$B1" -p -s --special-files --run -- /bin/sh -c 'ln -s /etc/passwd /box/kept-link; mkfifo /box/kept-fifo'
is "$rc $(find "$BOX" -name 'kept-*' ! -type f | wc -l)" "0 2" "--special-files keeps them, as isolate's does"
rm -f "$BOX/kept-link" "$BOX/kept-fifo"
rm -rf "$BOX"/.jobrun-deep-* "$BOX/d" "$BOX/sub" "$BOX/keep.txt"

# ---- errors and refusals --------------------------------------------------------------------
iso -b "$B2" -M "$M" --run -- /bin/true
is "$rc $(mv_ status)" "2 XX" "--run without --init: exit 2, status XX"
like "$(cat "$T/err")" "Box not found, did you run" "... saying so as isolate does"
iso -b "$B1" -m 65536 --run -- /bin/true
is "$rc" 2 "-m (address space) is refused, not ignored"
like "$(cat "$T/err")" "not supported.*--cg-mem" "... pointing at --cg-mem"
for o in --share-net --inherit-fds --no-cg-timing -D --tty-hack --as-uid=0; do
	iso -b "$B1" $o --run -- /bin/true
	is "$rc" 2 "$o is refused"
done
iso -b "$B1" --cg-mem=1000 --run -- /bin/true
is "$rc" 2 "--cg-mem without --cg is a usage error, as isolate's"
iso -b "$B1" -d /foo:bogus --run -- /bin/true
is "$rc" 2 "an unknown --dir option is a usage error"
for t in nan -1 1e308 inf ''; do
	iso -b "$B1" -t "$t" --run -- /bin/true
	is "$rc $(grep -c 'Invalid time' "$T/err")" "2 1" "-t '$t' is refused as an invalid time"
done
iso -b "$B1" -n 7 -o nofile.txt -s --run -- /bin/sh -c 'ulimit -n'
is "$rc $(cat "$BOX/nofile.txt" 2>&1)" "0 7" "-n (isolate's short --open-files) sets the open-file limit"

# ---- CMS's call sequence (IsolateSandbox) ---------------------------------------------------
# cleanup (idempotent), init, runs with its --dir rules, its home bound rw at /tmp (cwd /tmp,
# stdin/stdout inside), meta outside the box, then chmod 777 -R /tmp inside and cleanup.
OUTER=$T/cms-outer
mkdir -p "$OUTER/home" && chmod 0777 "$OUTER/home"
printf '3\n' >"$OUTER/home/input.txt"
chmod 0777 "$OUTER/home/input.txt"
timeout 30 "$ISO" --box-id="$B2" --cg --cleanup >/dev/null 2>&1
check "CMS: --cleanup of a box that does not exist exits 0" test $? -eq 0
d2=$(timeout 30 "$ISO" --box-id="$B2" --cg --init)
check "CMS: --init" test "$d2" = "$ISO_ROOT/$B2"
cms_opts=(--cg "--box-id=$B2" --chdir=/tmp "--dir=/tmp=$OUTER/home:rw" --dir=/dev/shm:tmp
	--dir=/etc/alternatives --env=HOME=/tmp --fsize=1048576 --stack=65536 --cg-mem=262144
	--processes=1000 --time=2 --wall-time=10 --extra-time=0.5)
iso "${cms_opts[@]}" --stdin=/tmp/input.txt --stdout=/tmp/output.txt --meta="$OUTER/run.meta.0" \
	--run -- /bin/sh -c 'read n; echo $((n * 2)); echo scratch >/dev/shm/x; pwd'
is "$rc $(cat "$OUTER/home/output.txt" 2>&1)" "0 6
/tmp" "CMS: stdin/stdout inside /tmp (its home, bound rw), cwd /tmp, /dev/shm writable"
is "$(mv_ exitcode "$OUTER/run.meta.0") $(mv_ status "$OUTER/run.meta.0")" "0 <absent>" \
	"CMS: meta outside the box"
for k in time time-wall cg-mem; do
	check "CMS reads $k" test "$(mv_ $k "$OUTER/run.meta.0")" != "<absent>"
done
iso "${cms_opts[@]}" --meta="$OUTER/run.meta.1" --run -- /bin/sleep 20
is "$rc $(mv_ status "$OUTER/run.meta.1") $(mv_ message "$OUTER/run.meta.1")" \
	"1 TO Time limit exceeded (wall clock)" "CMS: wall-clock TO (its 'wall' in the message)"
iso --box-id="$B2" --cg "--dir=/tmp=$OUTER/home:rw" --run -- /bin/chmod 777 -R /tmp
check "CMS: --run -- /bin/chmod 777 -R /tmp makes the job's output (its exit status CMS ignores)" \
	test "$(stat -c %a "$OUTER/home/output.txt")" = 777
check "... the box uid's (isolate opens -o as the box uid)" \
	test "$(stat -c %u "$OUTER/home/output.txt")" = $((1400000000 + B2))
timeout 30 "$ISO" --box-id="$B2" --cg --cleanup
check "CMS: --cleanup removes the box" test $? -eq 0 -a ! -e "$ISO_ROOT/$B2"

# ---- Judge0's call sequence (isolate_job.rb) ------------------------------------------------
W=$(timeout 30 "$JOBRUN" isolate --cg -b "$B2" --init)
check "Judge0: workdir from --init" test "$W" = "$ISO_ROOT/$B2"
printf 'echo "int main(){}" > main.c; echo compiled\n' >"$W/box/compile.sh"
printf 'read x; echo "got $x"; echo oops >&2\n' >"$W/box/run.sh"
printf 'hi\n' >"$W/stdin.txt"
j0=(--cg -s -b "$B2" -M "$W/metadata.txt" -t 5 -x 0 -w 10 -k 128000 -p60 --cg-timing
	--cg-mem=256000 -f 4096 -E HOME=/tmp -E PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	-E LANG -E LANGUAGE -E LC_ALL -E JUDGE0_HOMEPAGE -d /etc:noexec)
"$JOBRUN" isolate "${j0[@]}" --stderr-to-stdout -i /dev/null --run -- /bin/bash compile.sh \
	>"$W/compile_output.txt" 2>"$T/err"
is "$? $(cat "$W/compile_output.txt")" "0 compiled" "Judge0: compile (-s, --cg-timing, -d /etc:noexec, -E)"
"$JOBRUN" isolate "${j0[@]}" --run -- /bin/bash run.sh <"$W/stdin.txt" >"$W/stdout.txt" 2>"$W/stderr.txt"
is "$? $(cat "$W/stdout.txt") / $(cat "$W/stderr.txt")" "0 got hi / oops" \
	"Judge0: run with the caller's stdin/stdout/stderr (-s: nothing else on stderr)"
is "$(mv_ exitcode "$W/metadata.txt") $(mv_ status "$W/metadata.txt")" "0 <absent>" "Judge0: metadata"
"$JOBRUN" isolate --cg -s -b "$B2" -M "$W/metadata.txt" -t 0.2 -x 0 -w 5 --cg-timing --run -- \
	/bin/sh -c 'while :; do :; done' >/dev/null 2>&1
is "$? $(mv_ status "$W/metadata.txt")" "1 TO" "Judge0: TO"
"$JOBRUN" isolate --cg -s -b "$B2" -M "$W/metadata.txt" --run -- /bin/sh -c 'kill -FPE $$' >/dev/null 2>&1
is "$(mv_ status "$W/metadata.txt") $(mv_ exitsig "$W/metadata.txt")" "SG 8" "Judge0: SG and exitsig (SIGFPE)"
"$JOBRUN" isolate --cg -s -b "$B2" --cleanup
check "Judge0: --cleanup" test ! -e "$W"

# ---- two graders at once; a killed grader's box --------------------------------------------
d2=$("$ISO" -b "$B2" --init)
echo secret >"$d2/box/secret"
"$ISO" -b "$B2" -p -w $((10 * SLOW)) --run -- /bin/sleep $((3 * SLOW)) >/dev/null 2>&1 &
spid=$!
sleep $((SLOW))
unlike "$(cat "$BOX/../box/"* 2>/dev/null)" secret "box $B1's files are not box $B2's"
out=$("$ISO" -b "$B1" -p -o seen.txt --run -- /bin/sh -c 'ls /box /proc' 2>/dev/null; cat "$BOX/seen.txt")
unlike "$out" 'secret|sleep' "a run in box $B1 sees neither box $B2's files nor its processes"
iso -b "$B2" --run -- /bin/true
is "$rc" 2 "a second command on a busy box is refused (isolate: in use by another process)"
like "$(cat "$T/err")" "currently in use" "... with isolate's message"
wait "$spid"
# a grader killed in the middle of a run: its box is cleaned by --cleanup, or a fresh --init
"$ISO" -b "$B2" -p -w 30 --run -- /bin/sleep 30 >/dev/null 2>&1 &
kpid=$!
sleep $((SLOW))
kill -KILL "$kpid"
wait "$kpid" 2>/dev/null
box2_idle() { # neither the box's uid nor its jobrun-init's (first_uid + num_boxes + N)
	[ -z "$(uid_procs $((1400000000 + B2)) $((1400000001 + B2)))$(uid_procs \
		$((1400100000 + B2)) $((1400100001 + B2)))" ]
}
wait_for $((10 * SLOW)) box2_idle
check "the killed grader's job died with it" box2_idle
d2=$("$ISO" -b "$B2" --init)
check "a fresh --init of the killed grader's box works (and empties it)" \
	test "$d2" = "$ISO_ROOT/$B2" -a ! -e "$d2/box/secret"
"$ISO" -b "$B2" --cleanup
check "--cleanup removes it" test ! -e "$ISO_ROOT/$B2"
# a job's symlink in the box is not followed by --cleanup (one unmount of the box's tmpfs)
"$ISO" -b "$B1" -p --run -- /bin/ln -s /etc "$(printf /box/etc-link)" >/dev/null 2>&1
"$ISO" -b "$B1" --cleanup
check "--cleanup of a box holding a job's symlink to /etc leaves /etc alone" test -f /etc/passwd
check "... and the box is gone" test ! -e "$ISO_ROOT/$B1"
cmp_ok "$(grep -c " $ISO_ROOT/$B1 \| $ISO_ROOT/$B2 " /proc/self/mountinfo)" -eq 0 "no box mount left"

# ---- jobrun.conf's isolate { box_root first_uid num_boxes } ---------------------------------
CONF=$T/iso.conf
CROOT=$T/boxes
C_UID=1400700000
printf 'runtime_dir = "%s"\nisolate {\n box_root = "%s"\n first_uid = %s\n num_boxes = 8\n}\n' \
	"$T/rt" "$CROOT" "$C_UID" >"$CONF"
CLEANUPS+=("\"$JOBRUN\" isolate --config=\"$CONF\" -b 3 --cleanup")
out=$("$JOBRUN" isolate --config="$CONF" --check-config 2>&1)
like "$out" "box_root=$CROOT" "--check-config shows the configured box root"
like "$out" "first_uid=$C_UID" "... and first uid"
like "$out" "num_boxes=8" "... and number of boxes"
d=$("$JOBRUN" isolate --config="$CONF" -b 3 --init 2>"$T/err"); rc=$?
is "$rc $d" "0 $CROOT/3" "--init makes the box below the configured box_root (made when missing)"
check "... owned by first_uid + 3" test "$(stat -c %u:%g "$d/box")" = $((C_UID + 3)):$((C_UID + 3))
"$JOBRUN" isolate --config="$CONF" -b 3 -p -o id.txt -s --run -- /bin/sh -c 'id -u; id -g' >/dev/null 2>&1
is "$(tr '\n' ' ' <"$d/box/id.txt" 2>&1)" "$((C_UID + 3)) $((C_UID + 3)) " "a run is uid and gid first_uid + 3"
"$JOBRUN" isolate --config="$CONF" -b 3 -w $((10 * SLOW)) -s --run -- /bin/sleep $((10 * SLOW)) >/dev/null 2>&1 &
spid=$!
init_seen() { [ -n "$(uid_procs $((C_UID + 8 + 3)) $((C_UID + 8 + 4)))" ]; }
wait_for $((5 * SLOW)) init_seen
check "... its jobrun-init first_uid + num_boxes + 3" init_seen
# a grader killed in the middle of a run, its box never used again: `jobrun check --clean`
# removes what the run left (the isolate front's leases, RUNTIME_DIR/isolate/uids)
kill -KILL "$spid"
wait "$spid" 2>/dev/null
cgs() { find /sys/fs/cgroup -maxdepth 6 -type d -name "job-$((C_UID + 3))" 2>/dev/null; }
cmp_ok "$(cgs | wc -l)" -gt 0 "the killed grader's run left its cgroups"
out=$("$JOBRUN" check --clean --runtime-dir "$T/rt" 2>&1)
like "$out" "clean: uid slot 3, job isolate-box-3 of jobrun pid [0-9]+ \(dead\): removed cgroup " \
	"jobrun check --clean sweeps the isolate front's runs too"
is "$(cgs)" "" "... and no cgroup of the box is left"
"$JOBRUN" isolate --config="$CONF" -b 3 --cleanup
check "--cleanup removes the box from the configured root" test ! -e "$CROOT/3"
"$JOBRUN" isolate --config="$CONF" -b 8 --init >/dev/null 2>"$T/err"; rc=$?
is "$rc" 2 "a box id at num_boxes is refused"
like "$(cat "$T/err")" "Sandbox ID out of range \(allowed: 0-7" "... saying the allowed range"
check "... and nothing is made for it" test ! -e "$CROOT/8"
chmod 0777 "$CROOT"
"$JOBRUN" isolate --config="$CONF" -b 3 --init >/dev/null 2>"$T/err"; rc=$?
is "$rc" 2 "a box root others may write to is refused"
like "$(cat "$T/err")" "must be root's and writable by root only" "... saying why"
chmod 0755 "$CROOT"
out=$("$JOBRUN" check --config "$CONF" 2>&1)
like "$out" "box uids: +$C_UID-$((C_UID + 15)) \(jobrun isolate's boxes, then their PID 1\), unused" \
	"jobrun check shows the configured box uids, unused by local users"
like "$out" "config: +$CONF" "... and which jobrun.conf it read"
# a box range over a local user's or group's id (the lowest above 0 this host has)
low=$(cut -d: -f3 /etc/passwd | awk '$1 > 0 && (!m || $1 < m) { m = $1 } END { print m }')
printf 'isolate {\n first_uid = %s\n num_boxes = 2\n}\n' "$low" >"$T/low.conf"
"$JOBRUN" check --config "$T/low.conf" >"$T/check.out" 2>&1; rc=$?
like "$(grep '^box uids:' "$T/check.out")" "NO: /etc/passwd has id $low inside jobrun's range $low-" \
	"jobrun check: box uids that a local user has are a problem (uid $low)"
is "$rc" 1 "... and it exits 1"
printf 'isolate {\n num_boxes = none\n}\n' >"$T/broken.conf"
"$JOBRUN" check --config "$T/broken.conf" >"$T/check.out" 2>&1; rc=$?
like "$(grep '^config:' "$T/check.out")" "NO: .*broken.conf:2: num_boxes = none" \
	"jobrun check: a broken jobrun.conf is a problem, with file and line"
is "$rc" 1 "... and it exits 1"
# the admin's isolate profile, through every layer: its defaults where the grader gives no limit,
# the grader's own value raised or lowered within its maxima, refused above them (the reason in
# the meta file, as XX)
PCONF=$T/prof.conf
printf 'runtime_dir = "%s"\nprofile isolate {\n defaults { memory = "48M" wall_time = "%ss" }\n maxima { memory = "96M" cpu_time = "20s" }\n}\nisolate {\n box_root = "%s"\n first_uid = %s\n num_boxes = 8\n}\n' \
	"$T/rt" "$SLOW" "$CROOT" "$C_UID" >"$PCONF"
CLEANUPS+=("\"$JOBRUN\" isolate --config=\"$PCONF\" -b 4 --cleanup")
"$JOBRUN" isolate --config="$PCONF" -b 4 --init >/dev/null 2>&1
pm() { # ARGS...: a run in box 4 under the isolate profile; its meta in $M
	"$JOBRUN" isolate --config="$PCONF" -b 4 -p -s -M "$M" -d "$(dirname "$PROBE")" "$@" \
		>/dev/null 2>"$T/err"
	rc=$?
}
like "$("$JOBRUN" isolate --config="$PCONF" --check-config)" "profile=isolate" "--check-config names the isolate profile"
pm --run -- "$PROBE" mem $((64 << 20))
is "$rc $(mv_ status) $(mv_ cg-oom-killed)" "1 SG 1" "the profile's default memory (48M) holds when the grader gives none"
pm --cg --cg-mem=$((90 << 10)) --run -- "$PROBE" mem $((64 << 20))
is "$rc $(mv_ status)" "0 <absent>" "--cg-mem raises it within the profile's maximum"
pm --cg --cg-mem=$((24 << 10)) --run -- "$PROBE" mem $((32 << 20))
is "$rc $(mv_ status) $(mv_ cg-oom-killed)" "1 SG 1" "--cg-mem lowers it"
pm --cg --cg-mem=$((200 << 10)) --run -- /bin/true
is "$rc $(mv_ status)" "2 XX" "--cg-mem above the profile's maximum is refused (XX)"
like "$(mv_ message)" "memory = 204800K is above the isolate profile's maximum 96M" "... the meta file says why"
pm -t 30 --run -- /bin/true
is "$rc $(mv_ status)" "2 XX" "-t above the profile's maximum CPU time is refused"
like "$(mv_ message)" "cpu_time = 30.000s is above the isolate profile's maximum 20s" "... saying so"
pm --run -- /bin/sleep $((5 * SLOW))
is "$rc $(mv_ status) $(mv_ message)" "1 TO Time limit exceeded (wall clock)" \
	"the profile's default wall time holds when the grader gives no -w"
pm -w $((2 * SLOW)) --run -- /bin/sleep $((SLOW + SLOW / 2)).5
is "$rc $(mv_ status)" "0 <absent>" "-w raises it"
"$JOBRUN" isolate --config="$PCONF" -b 4 --cleanup
printf 'isolate {\n first_uid = 1500000000\n}\n' >"$T/bad.conf"
"$JOBRUN" isolate --config="$T/bad.conf" -b 3 --init >/dev/null 2>"$T/err"; rc=$?
is "$rc" 2 "box uids that overlap the job uids are refused"
like "$(cat "$T/err")" "bad.conf:2: isolate: the box uids .* overlap the job uids" \
	"... with the file, the line and why"

done_testing
