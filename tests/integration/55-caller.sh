#!/bin/bash
# 55-caller: the caller's paths, attacked by a job (issue 7). A directory a job could write (its
# --dir, bound at /job) is later handed to jobrun by path: every caller path (archive,
# --job-conf, --dir, --scratch, --stdin, --stdout, --stderr, --result, --output-dir, --ro-bind)
# must be walked without following what the job left there (symlinks, FIFOs, files of its own),
# without check-then-open races, without blocking, and outputs must stay within one budget.
# Everything hostile here is planted BY A JOB through jobrun; the targets are root-only canaries
# made by the test, which must come out untouched and never leak into a result or an output.
. "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------- canaries
SECRET="CANARY_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
CANARY=$T/canary     # root 0600 file, one line: as a job config its first line would leak
CDIR=$T/cdir         # root 0700 dir holding o.txt (root 0600), the name of a job's output
HOSTDIR=$T/hostdir   # root 0755 dir, "the host": an entry whose name is the secret
CTAR=$T/canary.tar   # root 0600 tarball whose job prints the secret
make_canaries() {
	rm -rf "$CANARY" "$CDIR" "$HOSTDIR" "$CTAR" "$T/ctar-src"
	printf '%s\n' "$SECRET" >"$CANARY"
	chmod 0600 "$CANARY"
	mkdir -m 0700 "$CDIR"
	printf '%s\n' "$SECRET" >"$CDIR/o.txt"
	chmod 0600 "$CDIR/o.txt"
	mkdir -m 0755 "$HOSTDIR"
	echo host >"$HOSTDIR/$SECRET.host"
	mkdir -p "$T/ctar-src"
	printf '%s\n' "$SECRET" >"$T/ctar-src/secret.txt"
	printf 'shell = "cat secret.txt"\n' >"$T/ctar-src/job.conf"
	tar -C "$T/ctar-src" -cf "$CTAR" .
	chmod 0600 "$CTAR"
	touch -d '2020-01-01 00:00:00' "$CANARY" "$CDIR/o.txt" "$CTAR" "$HOSTDIR/$SECRET.host"
	touch -d '2020-01-01 00:00:00' "$CDIR" "$HOSTDIR" "$T/ref"
	SNAP=$(snapshot)
}
# Everything a hostile follow could change: entries, types, sizes, mtimes, owners, modes.
snapshot() {
	find "$CANARY" "$CTAR" "$CDIR" "$HOSTDIR" -printf '%p %y %s %T@ %U %m\n' 2>&1
}
# canary_hit [FILE...]: 0 (and the canaries are made again) when the last run touched a canary
# or leaked the secret into its result, the job's stdout/stderr, jobrun's own output or FILEs;
# HIT says how. The races call it after every victim on a busy host: the common case costs one
# process (bash's own tests, then one grep); every write, truncation, new or removed entry
# moves an mtime away from $T/ref's.
canary_hit() {
	local f now
	HIT=
	for f in "$CANARY" "$CTAR" "$CDIR/o.txt" "$CDIR" "$HOSTDIR"; do
		if [ -L "$f" ] || [ ! -e "$f" ] || [ "$f" -nt "$T/ref" ] || [ "$f" -ot "$T/ref" ]; then
			now=$(snapshot)
			HIT="a canary changed: $(diff <(echo "$SNAP") <(echo "$now") | grep '^[<>]' | head -4 | tr '\n' ' ')"
			break
		fi
	done
	if grep -qsF -- "$SECRET" "$RES" "$OUT" "$ERR" "$JOUT" "$JERR" "$@"; then
		HIT="$HIT the secret is in $(grep -slF -- "$SECRET" "$RES" "$OUT" "$ERR" "$JOUT" "$JERR" "$@" | sed "s|^$T/||" | tr '\n' ' ')"
	fi
	[ -n "$HIT" ] || return 1
	make_canaries
	return 0
}
make_canaries

# A job config whose job leaves an output named like the canary dir's file.
OCONF=$T/outs.conf
printf 'shell = "echo from-the-job > o.txt"\noutputs = {"o.txt"}\n' >"$OCONF"

JR_TIMEOUT=$((15 * SLOW))
BOUND=$((5000 * SLOW)) # ms: a refusal comes at once, never after a block

# plant SHELL_LINE: a job in $W (cwd /job) plants what the next tests attack; a failure to
# plant is a failure of its own (and the tests after it would prove nothing).
plant() {
	jr --dir "$W" -- /bin/sh -c "cd /job && $1"
	[ "$RC" -eq 0 ] || not_ok "a job plants: $1" "exit $RC, $(res .verdict): $(res .message)"
}

timed_out() { [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; }

# refused DESC OPTION_ERE [EXTRA_ERE]: the last run was refused as a caller's path should be:
# RJ and exit 1 within the bound (never a hang), a message naming the option (and EXTRA_ERE),
# the canaries untouched and nothing leaked. Three tests.
refused() {
	local desc=$1 opt=$2 extra=${3:-}
	if [ "$(res .verdict)" = RJ ] && [ "$RC" -eq 1 ] && [ "$MS" -lt "$BOUND" ]; then
		ok "$desc: RJ, exit 1, at once ($MS ms)"
	else
		not_ok "$desc: RJ, exit 1, at once" \
			"got verdict $(res .verdict), exit $RC$(timed_out && echo ' (timed out)') after $MS ms"
	fi
	if printf '%s' "$(res .message)" | grep -Eq -- "$opt" &&
		{ [ -z "$extra" ] || printf '%s' "$(res .message)" | grep -Eq -- "$extra"; }; then
		ok "$desc: the message names $opt${extra:+ and says /$extra/}"
	else
		not_ok "$desc: the message names $opt${extra:+ and says /$extra/}" "message: $(res .message)"
	fi
	if canary_hit; then
		not_ok "$desc: the canaries are untouched and nothing leaked" "$HIT"
	else
		ok "$desc: the canaries are untouched and nothing leaked"
	fi
}

# result_refused DESC: the last run had a --result jobrun must not write: exit 2 within the
# bound, a message on jobrun's stderr naming --result, no result anywhere, canaries untouched.
result_refused() {
	local desc=$1
	if [ "$RC" -eq 2 ] && [ "$MS" -lt "$BOUND" ] && grep -q -- '--result' "$JERR" && [ ! -s "$JOUT" ]; then
		ok "$desc: exit 2 at once, a message on stderr naming --result, no result on stdout"
	else
		not_ok "$desc: exit 2 at once, a message on stderr naming --result, no result on stdout" \
			"exit $RC$(timed_out && echo ' (timed out)') after $MS ms; stderr: $(head -c 300 "$JERR")" \
			"stdout: $(head -c 200 "$JOUT")"
	fi
	if canary_hit; then
		not_ok "$desc: the canaries are untouched and nothing leaked" "$HIT"
	else
		ok "$desc: the canaries are untouched and nothing leaked"
	fi
}

# ---------------------------------------------------------------- planted symlinks
# The report of issue 7: a job's symlink to / at --dir gave the next job the host's root.
fresh
plant "ln -s / build"
jr --dir "$W/build" -- /bin/sh -c "ls -a /job$HOSTDIR; ls /job/proc/kallsyms"
refused "--dir W/build, a job's symlink to /" '--dir' 'not followed'
is "$(stat -c %F "$W/build")" "symbolic link" "(the job's symlink is still there, not replaced)"

fresh
plant "ln -s '$CDIR' outs"
jr --job-conf "$OCONF" --output-dir "$W/outs"
refused "--output-dir W/outs, a job's symlink to a root-only dir holding o.txt" '--output-dir' 'not followed'

fresh
plant "ln -s '$CANARY' job.conf"
jr --job-conf "$W/job.conf"
refused "--job-conf W/job.conf, a job's symlink to a root-only file" '--job-conf' 'not followed'

fresh
plant "ln -s '$CTAR' x.tar"
jr "$W/x.tar"
refused "archive W/x.tar, a job's symlink to a root-only tarball" 'archive' 'not followed'

fresh
plant "ln -s '$CANARY' X"
jr --stdin "$W/X" -- /bin/cat
refused "--stdin W/X, a job's symlink to a root-only file" '--stdin' 'not followed'

jr --stdout "$W/X" -- /bin/echo pwned
refused "--stdout W/X, a job's symlink to a root-only file" '--stdout' 'not followed'

jr --stderr "$W/X" -- /bin/sh -c 'echo pwned >&2'
refused "--stderr W/X, a job's symlink to a root-only file" '--stderr' 'not followed'

jr --result "$W/X" -- /bin/true
result_refused "--result W/X, a job's symlink to a root-only file"

fresh
plant "ln -s '$CDIR' s"
jr --scratch "$W/s" -- /bin/true
refused "--scratch W/s, a job's symlink to a root-only dir" '--scratch' 'not followed'

fresh
plant "ln -s '$HOSTDIR' r; ln -s '$T' mid"
jr --ro-bind "$W/r" -- /bin/ls -a "$W/r/"
refused "--ro-bind W/r, a job's symlink to a host dir" '--ro-bind' 'not followed'
jr --ro-bind "$W/mid/hostdir" -- /bin/ls -a "$W/mid/hostdir"
refused "--ro-bind W/mid/hostdir, through a job's symlink to a host dir" '--ro-bind' 'not followed'

# A symlink in the middle of the path: every component is walked.
fresh
plant "ln -s '$CDIR' mid"
jr --stdin "$W/mid/o.txt" -- /bin/cat
refused "--stdin W/mid/o.txt, through a job's symlinked directory" '--stdin' 'not followed'
jr --stdout "$W/mid/new.txt" -- /bin/echo pwned
refused "--stdout W/mid/new.txt, through a job's symlinked directory" '--stdout' 'not followed'

# In a sticky world-writable directory (like /tmp) a job's symlink is still the job's.
fresh
chmod 1777 "$W"
plant "ln -s '$CANARY' X"
jr --stdin "$W/X" -- /bin/cat
refused "--stdin W/X, a job's symlink in a sticky world-writable dir" '--stdin' 'not followed'

# A symlink of root's own is followed only in a directory no one else can write: in a
# world-writable one the job could have swapped it (this one root makes itself).
fresh
ln -s "$CANARY" "$W/rootlink"
jr --stdin "$W/rootlink" -- /bin/cat
refused "--stdin W/rootlink, root's symlink in a world-writable (non-sticky) dir" '--stdin' 'not followed'

# ... and what must keep working: root's symlinks in root's directories (0755, or sticky), and
# jobrun's own stdio.
mkdir -m 0755 "$T/trusted"
mkdir -m 1777 "$T/sticky"
echo "plain input" >"$T/plain.txt"
ln -s "$T/plain.txt" "$T/trusted/in"
ln -s "$T/plain.txt" "$T/sticky/in"
jr --stdin "$T/trusted/in" -- /bin/cat
if [ "$(res .verdict) $RC" = "OK 0" ] && [ "$(cat "$OUT" 2>/dev/null)" = "plain input" ]; then
	ok "--stdin through root's symlink in a root 0755 dir: followed, OK"
else
	not_ok "--stdin through root's symlink in a root 0755 dir: followed, OK" \
		"verdict $(res .verdict), exit $RC, stdout '$(head -c 100 "$OUT" 2>/dev/null)'"
fi
jr --stdin "$T/sticky/in" -- /bin/cat
if [ "$(res .verdict) $RC" = "OK 0" ] && [ "$(cat "$OUT" 2>/dev/null)" = "plain input" ]; then
	ok "--stdin through root's symlink in a root sticky 1777 dir: followed, OK"
else
	not_ok "--stdin through root's symlink in a root sticky 1777 dir: followed, OK" \
		"verdict $(res .verdict), exit $RC, stdout '$(head -c 100 "$OUT" 2>/dev/null)'"
fi
fresh
ln -s "$W" "$T/trusted/wdir"
ln -s "$T/trusted-out.txt" "$T/trusted/out"
jr --dir "$T/trusted/wdir" --stdout "$T/trusted/out" -- /job/probe write /job/made-here x
if [ "$(res .verdict) $RC" = "OK 0" ] && [ -f "$W/made-here" ] &&
	[ "$(pv write "$T/trusted-out.txt")" = OK ] && [ -L "$T/trusted/out" ]; then
	ok "--dir and --stdout through root's symlinks in a root 0755 dir: followed, OK"
else
	not_ok "--dir and --stdout through root's symlinks in a root 0755 dir: followed, OK" \
		"verdict $(res .verdict), exit $RC; made-here: $(ls "$W/made-here" 2>&1)"
fi
jr --stdout /dev/stdout --stdin /dev/null -- /bin/echo to-jobruns-stdout
if [ "$(res .verdict) $RC" = "OK 0" ] && [ "$(cat "$JOUT")" = "to-jobruns-stdout" ]; then
	ok "--stdout /dev/stdout (jobrun's own stdio) and --stdin /dev/null: accepted"
else
	not_ok "--stdout /dev/stdout (jobrun's own stdio) and --stdin /dev/null: accepted" \
		"verdict $(res .verdict), exit $RC, jobrun stdout '$(head -c 100 "$JOUT")'"
fi

# ---------------------------------------------------------------- FIFOs and files of the job's
fresh
plant "mkfifo X x.tar c.conf r.json; echo job-data > F; mkdir od; echo job-data > od/o.txt; mkfifo od/p.txt"
jr --stdout "$W/X" -- /bin/echo pwned
refused "--stdout W/X, a job's FIFO (no reader)" '--stdout'
jr --stdin "$W/X" -- /bin/cat
refused "--stdin W/X, a job's FIFO" '--stdin'
jr "$W/x.tar"
refused "archive W/x.tar, a job's FIFO" 'archive'
jr --job-conf "$W/c.conf"
refused "--job-conf W/c.conf, a job's FIFO" '--job-conf'
jr --result "$W/r.json" -- /bin/true
result_refused "--result W/r.json, a job's FIFO"
is "$(stat -c %F "$W/r.json")" fifo "(that FIFO is left as it was)"
jr --stdout "$W/F" -- /bin/echo pwned
refused "--stdout W/F, a regular file of the job's uid" '--stdout'
is "$(cat "$W/F")" "job-data" "(that file is left as it was)"
jr --result "$W/F" -- /bin/true
result_refused "--result W/F, a regular file of the job's uid"
is "$(cat "$W/F")" "job-data" "(that file is left as it was)"

# Outputs into a directory the job prepared: its FIFO and its file at an output's destination
# are output errors, never blocked on nor written through.
printf 'shell = "echo from-the-job > o.txt; echo from-the-job > p.txt"\noutputs = {"o.txt", "p.txt"}\n' \
	>"$T/two-outs.conf"
jr --job-conf "$T/two-outs.conf" --output-dir "$W/od"
if [[ "$(res .verdict) $RC" =~ ^(OK\ 0|RJ\ 1)$ ]] && [ "$MS" -lt "$BOUND" ]; then
	ok "--output-dir W/od holding the job's FIFO and file at the outputs' names: ends at once ($MS ms)"
else
	not_ok "--output-dir W/od holding the job's FIFO and file at the outputs' names: ends at once" \
		"verdict $(res .verdict), exit $RC$(timed_out && echo ' (timed out)') after $MS ms"
fi
if [ "$(res '[.outputs[]? | (.error != null)] | @json')" = '[true,true]' ] ||
	{ [ "$(res .verdict)" = RJ ] && [[ "$(res .message)" == *--output-dir* ]]; }; then
	ok "each of those outputs has an error (or --output-dir is refused)"
else
	not_ok "each of those outputs has an error (or --output-dir is refused)" \
		"outputs: $(res '.outputs | tojson'); message: $(res .message)"
fi
is "$(stat -c %F "$W/od/p.txt") $(cat "$W/od/o.txt")" "fifo job-data" \
	"the FIFO and the job's file are left as they were"

# A FIFO of root's in a trusted dir, with no reader: refused at once, never blocked on.
mkfifo -m 0600 "$T/noreader.fifo"
jr --stdout "$T/noreader.fifo" -- /bin/echo hi
refused "--stdout a root FIFO with no reader" '--stdout'

# ... with a reader that never reads: the job blocks on its full pipe, jobrun does not.
mkfifo -m 0600 "$T/stuck.fifo"
sleep 600 <>"$T/stuck.fifo" &
STUCK_READER=$!
jr --stdout "$T/stuck.fifo" --wall-time 2s -- head -c 100000000 /dev/zero
if [ "$(res .verdict) $(res .limit) $RC" = "TO wall 1" ] && [ "$MS" -lt $((8000 * SLOW)) ] &&
	[ "$(res ".wall_seconds < $((3 * SLOW))")" = true ]; then
	ok "--stdout a root FIFO whose reader never reads: --wall-time 2s still fires (TO after $(res .wall_seconds) s, jobrun $MS ms)"
else
	not_ok "--stdout a root FIFO whose reader never reads: --wall-time 2s still fires" \
		"verdict $(res .verdict) limit $(res .limit) wall_seconds $(res .wall_seconds)," \
		"exit $RC$(timed_out && echo ' (timed out)') after $MS ms"
fi
# what the pump had read but the FIFO never took is counted, not passed off as delivered
is "$(res '.stdout.undelivered_bytes > 0 and .stdout.undelivered_bytes <= 65536')" true \
	"the bytes the stuck FIFO never took are counted (stdout.undelivered_bytes $(res .stdout.undelivered_bytes))"

# the caller's reader goes away (`jobrun run ... | head`): not jobrun's failure (no XX), and
# what it never took is counted
timeout -k 2 60 "$JOBRUN" run --uid-range "$UID_BASE:$UID_COUNT" --result "$T/pipe.json" \
	-- sh -c 'i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done; sleep 0.3; echo more' |
	head -c 10 >/dev/null
if [ "$(jq -r '.verdict' "$T/pipe.json" 2>/dev/null)" = OK ] &&
	[ "$(jq -r '.stdout.undelivered_bytes > 0' "$T/pipe.json" 2>/dev/null)" = true ]; then
	ok "a stdout pipe whose reader exits: verdict OK, undelivered_bytes $(jq .stdout.undelivered_bytes "$T/pipe.json")"
else
	not_ok "a stdout pipe whose reader exits: verdict OK, the rest counted undelivered" \
		"$(jq -c '{verdict, message, stdout}' "$T/pipe.json" 2>&1)"
fi

# bg_wait PID SECONDS: wait for a background jobrun, SIGKILL after SECONDS; RC (137 when it had
# to be killed) and MS since the call.
bg_wait() {
	local pid=$1 t0 end
	t0=$(date +%s%N)
	end=$((t0 + $2 * 1000000000))
	while kill -0 "$pid" 2>/dev/null && ! grep -qE '^[0-9]+ \(.*\) Z' "/proc/$pid/stat" 2>/dev/null; do
		if [ "$(date +%s%N)" -ge "$end" ]; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			RC=137
			MS=$((($(date +%s%N) - t0) / 1000000))
			return
		fi
		sleep 0.05
	done
	wait "$pid"
	RC=$?
	MS=$((($(date +%s%N) - t0) / 1000000))
}

rm -f "$T/term.json"
LAST_JOB="jobrun run --stdout stuck.fifo -- head -c 100000000 /dev/zero; SIGTERM"
"$JOBRUN" run --uid-range "$UID_BASE:$UID_COUNT" --result "$T/term.json" --stdout "$T/stuck.fifo" \
	--stderr "$ERR" -- head -c 100000000 /dev/zero </dev/null >"$JOUT" 2>"$JERR" &
BG=$!
for _ in $(seq $((100 * SLOW))); do
	[ -n "$(uid_procs "$UID_BASE" "$((UID_BASE + UID_COUNT))")" ] && break
	sleep 0.02
done
sleep 1 # the pipe and the FIFO fill
kill -TERM "$BG"
bg_wait "$BG" $((8 * SLOW))
if [ "$RC" -eq 2 ] && [ "$(jq -r '.verdict' "$T/term.json" 2>/dev/null)" = XX ] &&
	jq -r .message "$T/term.json" | grep -q interrupted; then
	ok "SIGTERM to jobrun while the --stdout FIFO is full: it ends with XX, interrupted ($MS ms)"
else
	not_ok "SIGTERM to jobrun while the --stdout FIFO is full: it ends with XX, interrupted" \
		"exit $RC after $MS ms; result: $(jq -c '{verdict, message}' "$T/term.json" 2>&1)"
fi
kill "$STUCK_READER" 2>/dev/null
wait "$STUCK_READER" 2>/dev/null

# ---------------------------------------------------------------- the result's temp file
# FIFOs (then symlinks to the canary) at result.json.tmp.<pid> for every pid up to 32768, and at
# the victim's own pid as well, planted while it runs.
tmp_trap() { # KIND (fifo|symlink)
	local kind=$1 mk bg_res
	fresh
	bg_res=$W/result.json
	if [ "$kind" = fifo ]; then
		mk="mkfifo"
		plant "seq -f 'result.json.tmp.%.0f' 1 32768 | xargs mkfifo"
	else
		mk="ln -s '$CANARY'"
		if [ -x /usr/bin/perl ]; then
			plant "/usr/bin/perl -e 'symlink \$ARGV[0], \"result.json.tmp.\$_\" for 1 .. 32768' '$CANARY'"
		else # (one ln a name without perl: fewer names; jobrun's own pid is planted below)
			plant "i=1; while [ \$i -le 4000 ]; do ln -s '$CANARY' result.json.tmp.\$i; i=\$((i + 1)); done"
		fi
	fi
	LAST_JOB="jobrun run --result W/result.json (${kind}s at result.json.tmp.*)"
	"$JOBRUN" run --uid-range "$UID_BASE:$UID_COUNT" --dir "$W" --result "$bg_res" \
		--stdout "$T/bg.out" -- /job/probe sleep "$SLOW" </dev/null >"$T/bg.jout" 2>"$T/bg.jerr" &
	BG=$!
	# and at the victim's own pid, while it runs (a job plants it: the pid is just a name)
	jr --dir "$W" -- /bin/sh -c "cd /job && { [ -e result.json.tmp.$BG ] || [ -L result.json.tmp.$BG ] || $mk result.json.tmp.$BG; }"
	bg_wait "$BG" $((15 * SLOW))
	if [ "$RC" -eq 0 ] && [ "$(jq -r .verdict "$bg_res" 2>/dev/null)" = OK ] &&
		[ -f "$bg_res" ] && [ ! -L "$bg_res" ]; then
		ok "${kind}s planted at result.json.tmp.<pid> (1..32768 and jobrun's own): the result is written, OK ($MS ms)"
	else
		not_ok "${kind}s planted at result.json.tmp.<pid> (1..32768 and jobrun's own): the result is written, OK" \
			"exit $RC after $MS ms; result: $(jq -c '{verdict, message}' "$bg_res" 2>&1)" \
			"jobrun stderr: $(head -c 300 "$T/bg.jerr")"
	fi
	if canary_hit "$bg_res" "$T/bg.out" "$T/bg.jout" "$T/bg.jerr"; then
		not_ok "${kind}s at result.json.tmp.<pid>: the canaries are untouched" "$HIT"
	else
		ok "${kind}s at result.json.tmp.<pid>: the canaries are untouched"
	fi
	rm -rf "$W" # its result.json.tmp.* are the job's, not jobrun's leftovers
}
tmp_trap fifo
tmp_trap symlink

# ---------------------------------------------------------------- races
# A racing job flips W/X (fast, by renames), and W/X.tar, W/D1, W/D2 (slower, half the time
# each) between absent and a symlink to a canary, and moves away the directories jobrun makes
# there, while victim runs use those paths. A check-then-open jobrun loses now and then; a walk
# by fds never does.
RACER_PL='my ($c, $t, $h, $d) = @ARGV; my $n = 0;
for (;;) {
	unlink "L", "X"; symlink $c, "L";
	for (1 .. 64) { rename "L", "X"; rename "X", "L"; }
	if ($n++ % 2) { symlink $t, "X.tar"; symlink $h, "D1"; symlink $d, "D2"; }
	else { unlink "X.tar", "D1", "D2"; }
	for my $x ("D1", "D2") { rename $x, "$x.old.$n" if -d $x && !-l $x; }
}'
RACER_SH='while :; do ln -s "$1" X; ln -s "$2" X.tar; ln -s "$3" D1; ln -s "$4" D2;
	rm -f X X.tar; rm -f D1 D2 2>/dev/null || { mv D1 "D1.$$.$RANDOM"; mv D2 "D2.$$.$RANDOM"; } 2>/dev/null; done'
fresh
RW=$W
if [ -x /usr/bin/perl ]; then
	RACER=(/usr/bin/perl -e "$RACER_PL")
else
	RACER=(/bin/sh -c "$RACER_SH" racer)
fi
"$JOBRUN" run --uid-range "$UID_BASE:$UID_COUNT" --dir "$RW" --profile hpc \
	--wall-time "$((120 * SLOW))s" --result "$T/racer.json" --stdout /dev/null --stderr "$T/racer.err" \
	-- "${RACER[@]}" "$CANARY" "$CTAR" "$HOSTDIR" "$CDIR" </dev/null >/dev/null 2>&1 &
RACER_PID=$!
sleep 0.5

# Rounds of victims; the narrow windows (a check just before the open) get more runs a round:
# --result's (two checks, then the open) the most.
N=$((30 / SLOW))
ROUND="stdout stdin result dir result stdout stdin result output-dir result stdout stdin result job-conf archive"
KINDS="stdout stdin result dir output-dir job-conf archive"
declare -A RUNS HITS HUNG HOW TMS
for k in $KINDS; do RUNS[$k]=0 HITS[$k]=0 HUNG[$k]=0 HOW[$k]='' TMS[$k]=0; done
# vr: jr without its own processes (rm, date): each costs a lot on a host this busy. The
# files it empties are root's in $T, which jobrun truncates or replaces anyway.
vr() {
	local t0=${EPOCHREALTIME//[.,]/}
	: >"$OUT"; : >"$ERR"; : >"$RES"; : >"$JOUT"; : >"$JERR"
	LAST_JOB="jobrun run $*"
	timeout -k 2 "$JR_TIMEOUT" "$JOBRUN" run --uid-range "$UID_BASE:$UID_COUNT" \
		--result "$RES" --stdout "$OUT" --stderr "$ERR" "$@" >"$JOUT" 2>"$JERR" </dev/null
	RC=$?
	MS=$(((${EPOCHREALTIME//[.,]/} - t0) / 1000))
}
victim() { # KIND: one run using the racer's paths
	case $1 in
	stdout) vr --stdout "$RW/X" -- /bin/echo pwned ;;
	stdin) vr --stdin "$RW/X" -- /bin/cat ;;
	result) vr --result "$RW/X" -- /bin/true ;;
	dir) vr --dir "$RW/D1" -- /bin/ls -a /job ;;
	output-dir) vr --job-conf "$OCONF" --output-dir "$RW/D2" ;;
	job-conf) vr --job-conf "$RW/X" ;;
	archive) vr "$RW/X.tar" ;;
	esac
}
t_race=$(date +%s%N)
for ((i = 0; i < N; i++)); do
	for k in $ROUND; do
		victim "$k"
		RUNS[$k]=$((RUNS[$k] + 1))
		TMS[$k]=$((TMS[$k] + MS))
		timed_out && HUNG[$k]=$((HUNG[$k] + 1))
		if canary_hit; then
			HITS[$k]=$((HITS[$k] + 1))
			HOW[$k]=$HIT
		fi
	done
done
t_race=$((($(date +%s%N) - t_race) / 1000000))
if kill -0 "$RACER_PID" 2>/dev/null && [ "$(uid_procs "$UID_BASE" "$((UID_BASE + UID_COUNT))" | wc -l)" -ge 1 ]; then
	ok "the racing job kept racing through all $((N * 15)) victim runs ($t_race ms)"
else
	not_ok "the racing job kept racing through all $((N * 15)) victim runs" \
		"racer: $(jq -c '{verdict, message}' "$T/racer.json" 2>&1) $(head -c 300 "$T/racer.err" 2>/dev/null)"
fi
for k in $KINDS; do
	if [ "${HITS[$k]}" -eq 0 ] && [ "${HUNG[$k]}" -eq 0 ]; then
		ok "race on --$k: none of ${RUNS[$k]} victim runs touched or read a canary, none hung ($((TMS[$k] / RUNS[$k])) ms a run)"
	else
		LAST_JOB= # (the last victim says nothing about the others)
		not_ok "race on --$k: none of ${RUNS[$k]} victim runs touched or read a canary, none hung" \
			"${HITS[$k]} of ${RUNS[$k]} touched or read a canary (last: ${HOW[$k]}); ${HUNG[$k]} timed out" \
			"($((TMS[$k] / RUNS[$k])) ms a run)"
	fi
done
kill -TERM "$RACER_PID" 2>/dev/null
bg_wait "$RACER_PID" $((10 * SLOW))
rm -rf "$RW"

# ---------------------------------------------------------------- outputs: one budget
# mkjob NAME: a staging dir $J/src; mktar: $J/job.tar.gz from it
mkjob() {
	J=$T/$1
	rm -rf "$J"
	mkdir -p "$J/src"
}
mktar() { tar -C "$J/src" -czf "$J/job.tar.gz" .; }
names() { # PREFIX FROM TO: "PREFIXFROM", ..., comma-separated, quoted
	seq -f "\"$1%.0f\"" "$2" "$3" | paste -sd,
}

# budget_checks DESC LIMIT SIZE: the outputs in $J/out, each SIZE bytes in the job, under one
# budget of LIMIT bytes.
budget_checks() {
	local desc=$1 limit=$2 size=$3 sum host alloc n uncut
	if [[ "$(res .verdict) $RC" =~ ^(OK\ 0|OL\ 1)$ ]]; then
		ok "$desc: the job ran ($(res .verdict), $MS ms)"
	else
		not_ok "$desc: the job ran" "verdict $(res .verdict), exit $RC$(timed_out && echo ' (timed out)')"
	fi
	sum=$(res '[.outputs[]?.bytes] | add // 0')
	if [[ "$sum" =~ ^[0-9]+$ ]] && [ "$sum" -gt 0 ] && [ "$sum" -le "$limit" ]; then
		ok "$desc: the outputs' summed bytes in the result ($sum) are within the output limit ($limit)"
	else
		not_ok "$desc: the outputs' summed bytes in the result are within the output limit ($limit)" \
			"sum: $sum (want 1..$limit)"
	fi
	host=$(find "$J/out" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
	n=$(find "$J/out" -type f 2>/dev/null | wc -l)
	alloc=$(find "$J/out" -type f -printf '%b\n' 2>/dev/null | awk '{ s += $1 * 512 } END { print s + 0 }')
	if [ "$host" -le "$limit" ] && [ "$alloc" -le $((limit + 4096 * n)) ]; then
		ok "$desc: on the host, $n files of $host bytes ($alloc allocated): within the limit"
	else
		not_ok "$desc: on the host, the output dir stays within the limit ($limit)" \
			"$n files, $host bytes, $alloc bytes allocated"
	fi
	uncut=$(res "[.outputs[]? | select(.bytes < $size and .truncated != true and .error == null) | .name] | length")
	is "$uncut" 0 "$desc: every output cut short says so (truncated)"
}

# A 2 GiB sparse file and 63 hard links to it, with --output-limit 1M: 64 outputs, one budget.
mkjob sparse
cat >"$J/src/job.conf" <<CONF
shell = "truncate -s 2G big && i=1 && while [ \$i -le 63 ]; do ln big l\$i; i=\$((i + 1)); done"
outputs = {"big", $(names l 1 63)}
limits { disk = 1M }
CONF
mktar
JR_TIMEOUT=$((60 * SLOW)) jr --output-limit 1M --output-dir "$J/out" "$J/job.tar.gz"
budget_checks "a 2 GiB sparse file and 63 hard links as outputs, --output-limit 1M" 1048576 2147483648
rm -rf "$J/out"

# A 1 MiB archive of one file with 255 hard links (made in the archive: 255 ln processes take
# longer than the CPU budget in the slow VM lane), output = 4M in the job config: 256 MiB once.
mkjob links
head -c 1048576 /dev/urandom >"$J/src/f"
for i in $(seq 255); do ln "$J/src/f" "$J/src/h$i"; done
cat >"$J/src/job.conf" <<CONF
shell = "true"
outputs = {"f", $(names h 1 255)}
limits {
  disk = 4M
  output = 4M
}
CONF
mktar
JR_TIMEOUT=$((60 * SLOW)) jr --output-dir "$J/out" "$J/job.tar.gz"
budget_checks "a 1 MiB file with 255 hard links as outputs, output = 4M" 4194304 1048576
rm -rf "$J/out"

# ---------------------------------------------------------------- one tmpfs for a tarball job
mkjob disk
cat >"$J/src/job.conf" <<'CONF'
shell = "head -c 3145728 /dev/zero > /job/a; echo job=$?; head -c 3145728 /dev/zero > /tmp/b; echo tmp=$?"
CONF
mktar
jr --disk 4M "$J/job.tar.gz"
if [ "$(pv job)" = 0 ] && [ "$(pv tmp)" != 0 ] && grep -q "No space left" "$ERR"; then
	ok "a tarball job with --disk 4M: 3 MiB in /job, then 3 MiB in /tmp fails (ENOSPC)"
else
	not_ok "a tarball job with --disk 4M: 3 MiB in /job, then 3 MiB in /tmp fails (ENOSPC)" \
		"job=$(pv job) tmp=$(pv tmp); stderr: $(head -c 200 "$ERR" 2>/dev/null)"
fi
printf 'shell = "head -c 3145728 /dev/zero > /job/a; echo job=$?; head -c 3145728 /dev/zero > /dev/shm/b; echo shm=$?"\n' \
	>"$J/src/job.conf"
mktar
jr --disk 4M "$J/job.tar.gz"
if [ "$(pv job)" = 0 ] && [ "$(pv shm)" != 0 ] && grep -q "No space left" "$ERR"; then
	ok "a tarball job with --disk 4M: 3 MiB in /job, then 3 MiB in /dev/shm fails (ENOSPC)"
else
	not_ok "a tarball job with --disk 4M: 3 MiB in /job, then 3 MiB in /dev/shm fails (ENOSPC)" \
		"job=$(pv job) shm=$(pv shm); stderr: $(head -c 200 "$ERR" 2>/dev/null)"
fi

# ---------------------------------------------------------------- the profile is the caller's
mkjob prof
printf 'profile = "hpc"\nshell = "echo ran"\n' >"$J/src/job.conf"
mktar
jr "$J/job.tar.gz"
verdict_is RJ 1 "a tarball's job.conf naming profile = \"hpc\" (the caller asked for none): RJ"
like "$(res .message)" "profile.*not allowed|not allowed.*profile" "the message says that profile is not allowed"
isnt "$(cat "$OUT" 2>/dev/null)" "ran" "its command did not run"

printf 'profile = "hpc"\nshell = "echo ran"\n' >"$T/hpc.conf"
jr --job-conf "$T/hpc.conf"
verdict_is RJ 1 "--job-conf naming profile = \"hpc\" (the caller asked for none): RJ"
like "$(res .message)" "profile.*not allowed|not allowed.*profile" "the message says that profile is not allowed"

jr --profile hpc -- /bin/true
if [ "$(res .verdict) $RC $(res .profile)" = "OK 0 hpc" ]; then
	ok "--profile hpc on the command line: allowed, the result says hpc"
else
	not_ok "--profile hpc on the command line: allowed, the result says hpc" \
		"verdict $(res .verdict), exit $RC, profile $(res .profile)"
fi

# ---------------------------------------------------------------- at the end
is "$(snapshot)" "$SNAP" "the canaries are as the test made them"
# (-r follows no symlink the jobs left, -D skip opens no FIFO)
left=$(grep -rlF -D skip -- "$SECRET" "$T" | grep -vxF -e "$CANARY" -e "$CDIR/o.txt" -e "$CTAR" \
	-e "$T/ctar-src/secret.txt" | head -5)
is "$left" "" "the secret is in no file under the test's directory but the canaries"

final_checks
done_testing
