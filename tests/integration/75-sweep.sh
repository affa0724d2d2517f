#!/bin/bash
# 75-sweep: what a jobrun killed with SIGKILL leaves behind (its job's cgroups in every
# hierarchy, processes in them, a tarball job's workspace mount, the record in its uid lease)
# is removed by `jobrun check --clean`, or by the next job that leases the same uid slot; a
# live job, and a cgroup of the same name made since by a live job of another runtime dir, are
# never touched. Every job here uses a runtime dir of this file's own.
. "$(dirname "$0")/lib.sh"

RT=$T/rt
RT2=$T/rt2
mkdir -m 0700 "$RT" "$RT2"
U1=$UID_END        # --uid-range U1:1 (jobrun-init: U1 + 1)
U3=$((UID_END + 2)) # --uid-range U3:1 (jobrun-init: U3 + 1)

# Job cgroups (jobrun/job-<uid>) of uids in [LO, HI) below this shell's own cgroups: those
# the jobruns this file started made.
leftover_cgroups() { # LO HI
	local d u
	for d in $(find /sys/fs/cgroup -mindepth 2 -maxdepth 12 -type d -path '*/jobrun/job-*' 2>/dev/null); do
		u=${d##*/job-}
		[[ "$u" =~ ^[0-9]+$ ]] && [ "$u" -ge "$1" ] && [ "$u" -lt "$2" ] || continue
		grep -qx "$$" "${d%/jobrun/job-$u}/cgroup.procs" 2>/dev/null && echo "$d"
	done
}

# The exit trap, should a test fail: what the killed jobruns of this file left (the processes
# in their cgroups are this file's too), before lib.sh unmounts what is below $T.
remove_leftovers() {
	local d p i
	for i in 1 2 3; do
		for d in $(leftover_cgroups "$UID_BASE" "$PIN_END"); do
			for p in $(cat "$d/cgroup.procs" 2>/dev/null); do
				kill -KILL "$p" 2>/dev/null
			done
		done
		sleep 0.2
		for d in $(leftover_cgroups "$UID_BASE" "$PIN_END"); do
			rmdir "$d" 2>/dev/null
		done
	done
}
CLEANUPS+=('remove_leftovers')

# The state of uid U's slot S in runtime dir R: "cgroups=N record=BYTES ws=N".
state() { # U S [R]
	local r=${3:-$RT} rec
	rec=$(stat -c %s "$r/uids/$2" 2>/dev/null || echo none)
	echo "cgroups=$(leftover_cgroups "$1" "$(($1 + 1))" | wc -l) record=$rec ws=$(grep -c " $r/ws/$2 " /proc/self/mountinfo)"
}

# running INIT_LO INIT_HI JOB_LO JOB_HI N: jobrun-init runs (a uid in [INIT_LO, INIT_HI) has a
# process: the job was launched, unpacking is over) and [JOB_LO, JOB_HI) holds N processes.
running() {
	[ -n "$(uid_procs "$1" "$2")" ] && [ "$(uid_procs "$3" "$4" | wc -l)" -ge "$5" ]
}

# bg NAME RUNTIME_DIR UID_BASE UID_COUNT [RUN ARGS...]: jobrun run in the background (its pid in
# BG), result in $T/NAME.json, its stderr in $T/NAME.err.
bg() {
	local name=$1 rt=$2 base=$3 count=$4
	shift 4
	rm -f "$T/$name.json"
	"$JOBRUN" run --runtime-dir "$rt" --uid-range "$base:$count" --id "$name" \
		--result "$T/$name.json" --stdout /dev/null --stderr /dev/null "$@" \
		</dev/null 2>"$T/$name.err" &
	BG=$!
}

# kill_bg NAME N: once the job runs (N processes of its uid), SIGKILL its jobrun (not the job);
# 0 when it ran. For a job of uid range U1:1 or U3:1 (KU: its uid).
kill_bg() { # NAME KU N
	if ! wait_for $((10 * SLOW)) running "$(($2 + 1))" "$(($2 + 2))" "$2" "$(($2 + 1))" "$3"; then
		kill -KILL "$BG" 2>/dev/null
		wait "$BG" 2>/dev/null
		return 1
	fi
	kill -KILL "$BG"
	wait "$BG" 2>/dev/null
	return 0
}

gone() { # LO HI: no process of uids in [LO, HI) (a killed PID 1 is a zombie until init reaps it)
	[ -z "$(uid_procs "$1" "$2")" ]
}

lease_free() { # FILE: nobody holds it, and it is empty
	flock -n "$1" true && [ ! -s "$1" ]
}

# put_own_process U: a process of this file's own (a sleep) in every cgroup of uid U's job, as
# a supervisor that crashed could leave one; its pid in SP. (Disowned: bash would print its
# death by SIGKILL on stderr; the exit trap kills it if it is still there.)
put_own_process() {
	local d
	sleep 1000 &
	SP=$!
	disown "$SP"
	CLEANUPS+=("[ \"\$(cat /proc/$SP/comm 2>/dev/null)\" = sleep ] && kill -KILL $SP")
	for d in $(leftover_cgroups "$1" "$(($1 + 1))"); do
		echo "$SP" >"$d/cgroup.procs"
	done
}

sp_gone() { ! kill -0 "$SP" 2>/dev/null; }

# A tarball job: job.conf runs `sleep 1000`.
mkdir -p "$T/tar/src"
printf 'command = {"sleep", "1000"}\n' >"$T/tar/src/job.conf"
tar -C "$T/tar/src" -czf "$T/tar/job.tar.gz" .

clean() { # [RUNTIME_DIR]: jobrun check --clean; output in CLEAN, status in RC
	CLEAN=$("$JOBRUN" check --clean --runtime-dir "${1:-$RT}" 2>&1)
	RC=$?
}

# ---------------------------------------------------------------- kill -9 of `jobrun run -- sleep 1000`
bg plain "$RT" "$U1" 1 -- sleep 1000
if kill_bg plain "$U1" 1; then
	before=$(state "$U1" 0)
	like "$before" '^cgroups=[1-9][0-9]* record=[1-9][0-9]* ws=0$' \
		"kill -9 of jobrun run -- sleep 1000 leaves its cgroups and its lease's record ($before)"
	put_own_process "$U1"
	clean
	is "$RC" 0 "jobrun check --clean exits 0"
	like "$CLEAN" "^clean: uid slot 0, job plain of jobrun pid [0-9]+ \(dead\): killed 1 process left in the job's cgroups" \
		"it says what it killed, naming the slot, the job and the dead jobrun"
	n=$(printf '%s\n' "$CLEAN" | grep -Ec ': removed cgroup /sys/fs/cgroup/(.*/)?jobrun/job-'"$U1"'$')
	is "$n" "$(echo "$before" | sed 's/^cgroups=\([0-9]*\).*/\1/')" "one line per cgroup removed ($n)"
	check "the process left in the job's cgroups was killed" wait_for $((5 * SLOW)) sp_gone
	is "$(state "$U1" 0)" "cgroups=0 record=0 ws=0" "afterwards: no job cgroup in any hierarchy, the record empty"
	check "the lease is free" lease_free "$RT/uids/0"
	if wait_for $((5 * SLOW)) gone "$U1" "$((U1 + 2))"; then
		ok "no process of the job's uids is left"
	else
		not_ok "no process of the job's uids is left" "$(uid_procs "$U1" "$((U1 + 2))")"
	fi
	clean
	is "$RC:$CLEAN" "0:clean: nothing left behind" "a second jobrun check --clean: nothing left behind"
else
	skip "kill -9 of jobrun run -- sleep 1000" "the job did not start: $(head -c 300 "$T/plain.err")"
fi

# ---------------------------------------------------------------- a tarball job: its workspace mount
bg tarball "$RT" "$U1" 1 "$T/tar/job.tar.gz"
if kill_bg tarball "$U1" 1; then
	before=$(state "$U1" 0)
	like "$before" '^cgroups=[1-9][0-9]* record=[1-9][0-9]* ws=1$' \
		"kill -9 of a tarball job's jobrun leaves its workspace mounted too ($before)"
	clean
	is "$RC" 0 "jobrun check --clean exits 0"
	like "$CLEAN" "clean: uid slot 0, job tarball of jobrun pid [0-9]+ \(dead\): unmounted the workspace $RT/ws/0" \
		"it says it unmounted the workspace"
	is "$(state "$U1" 0)" "cgroups=0 record=0 ws=0" "afterwards: no job cgroup, no workspace mount, the record empty"
	check "the workspace's mount point is removed" test ! -e "$RT/ws/0"
	check "the lease is free" lease_free "$RT/uids/0"
	if wait_for $((5 * SLOW)) gone "$U1" "$((U1 + 2))"; then
		ok "no process of the tarball job is left"
	else
		not_ok "no process of the tarball job is left" "$(uid_procs "$U1" "$((U1 + 2))")"
	fi
else
	skip "kill -9 of a tarball job's jobrun" "the job did not start: $(head -c 300 "$T/tarball.err")"
fi

# ---------------------------------------------------------------- a job with daemons
fresh
bg daemons "$RT" "$U1" 1 --dir "$W" -- /bin/sh -c '/job/probe orphans 3; exec /job/probe sleep 1000'
if kill_bg daemons "$U1" 4; then
	before=$(state "$U1" 0)
	like "$before" '^cgroups=[1-9][0-9]* record=[1-9][0-9]* ws=0$' \
		"kill -9 of a job with 3 daemons leaves its cgroups and record ($before)"
	clean
	is "$RC" 0 "jobrun check --clean exits 0"
	like "$CLEAN" "job daemons of jobrun pid [0-9]+ \(dead\): removed cgroup" "it removes the job's cgroups"
	is "$(state "$U1" 0)" "cgroups=0 record=0 ws=0" "afterwards: no job cgroup, the record empty"
	check "the lease is free" lease_free "$RT/uids/0"
	if wait_for $((5 * SLOW)) gone "$U1" "$((U1 + 2))"; then
		ok "no daemon of the job is left"
	else
		not_ok "no daemon of the job is left" "$(uid_procs "$U1" "$((U1 + 2))")"
	fi
else
	skip "kill -9 of a job with daemons" "the job did not start: $(head -c 300 "$T/daemons.err")"
fi

# ---------------------------------------------------------------- --scratch: its directory, its quota
# On a file system with user quotas (lib.sh's quota_fs), given as a relative path.
QFS=$T/quotafs
uid_quota() { # UID: "USED SOFT HARD ISOFT IHARD" of its repquota entry, nothing when none
	repquota -n -u "$QFS" 2>/dev/null | awk -v u="#$1" '$1 == u { print $3, $4, $5, $(NF - 1), $NF }'
}
if quota_fs "$QFS" >"$T/quota_fs.why" 2>&1; then
	mkdir -m 0755 "$QFS/scratch"
	fresh
	cd "$QFS" || exit 1
	bg scratch "$RT" "$U1" 1 --dir "$W" --scratch scratch --disk 4M -- /bin/sh -c \
		'/job/probe write /scratch/mark hello; exec /job/probe sleep 1000'
	cd "$T" || exit 1
	if kill_bg scratch "$U1" 1; then
		before=$(state "$U1" 0)
		sd=$QFS/scratch/jobrun-scratch-0
		check "kill -9 of a --scratch job leaves its scratch directory ($before)" test -d "$sd"
		like "$(cat "$RT/uids/0")" "(^|$(printf '\n'))scratch $sd($(printf '\n')|\$)" \
			"the record names it by its absolute path (--scratch was relative)"
		command -v repquota >/dev/null && q_before=$(uid_quota "$U1")
		clean
		is "$RC" 0 "jobrun check --clean exits 0"
		like "$CLEAN" "job scratch of jobrun pid [0-9]+ \(dead\): removed the scratch directory $sd" \
			"it removes the scratch directory"
		like "$CLEAN" "cleared the user quota of uid $U1 on $QFS/scratch" "it clears the uid's quota"
		is "$(ls -A "$QFS/scratch")" "" "the scratch directory is gone"
		if command -v repquota >/dev/null; then
			like "$q_before" "^[0-9]+ 4096 4096 2048 2048$" "(before: the uid had its quota: $q_before)"
			is "$(uid_quota "$U1")" "" "the uid has no quota entry left"
		else
			skip "the uid has no quota entry left" "repquota is not installed (the quota package)"
		fi
		is "$(state "$U1" 0)" "cgroups=0 record=0 ws=0" "afterwards: no job cgroup, the record empty"
		wait_for $((5 * SLOW)) gone "$U1" "$((U1 + 2))"
	else
		skip "kill -9 of a --scratch job" "the job did not start: $(head -c 300 "$T/scratch.err")"
	fi
else
	skip "kill -9 of a --scratch job" "no file system with user quotas: $(head -c 300 "$T/quota_fs.why")"
fi

# ---------------------------------------------------------------- the next job of the slot sweeps
bg again "$RT" "$U1" 1 "$T/tar/job.tar.gz"
if kill_bg again "$U1" 1; then
	before=$(state "$U1" 0)
	like "$before" '^cgroups=[1-9][0-9]* record=[1-9][0-9]* ws=1$' \
		"kill -9 of a tarball job's jobrun, again ($before)"
	wait_for $((5 * SLOW)) gone "$U1" "$((U1 + 2))"
	# the only uid of the range: the next job must lease the same slot
	jr --runtime-dir "$RT" --uid-range "$U1:1" -- /bin/true
	verdict_is OK 0 "a later jobrun run -- true in the same slot (uid range of 1) runs: OK"
	is "$(res .isolation.uid)" "$U1" "(it had the slot's uid)"
	like "$(cat "$JERR")" "uid slot 0: job again of jobrun pid [0-9]+, which died: unmounted the workspace $RT/ws/0" \
		"its jobrun swept the slot first, and says so on stderr"
	like "$(cat "$JERR")" "which died: removed cgroup /sys/fs/cgroup/" "it removed the dead job's cgroups"
	is "$(state "$U1" 0)" "cgroups=0 record=0 ws=0" "afterwards: no job cgroup, no workspace mount, the record empty"
	check "the lease is free" lease_free "$RT/uids/0"
	jr --runtime-dir "$RT" --uid-range "$U1:1" -- /bin/true
	is "$(grep -c 'which died' "$JERR")" 0 "the job after that finds nothing to sweep"
else
	skip "the next job of the slot sweeps" "the job did not start: $(head -c 300 "$T/again.err")"
fi

# ---------------------------------------------------------------- a live job is never touched
# Two slots: the live job takes one, the killed one the other.
fresh
bg live "$RT" "$UID_BASE" 2 --dir "$W" --wall-time 2m -- /job/probe sleep $((4 * SLOW))
LIVE=$BG
if wait_for $((10 * SLOW)) running "$((UID_BASE + 2))" "$((UID_BASE + 4))" "$UID_BASE" "$((UID_BASE + 2))" 1; then
	lu=$(awk '/^Uid:/ { print $2 }' "/proc/$(uid_procs "$UID_BASE" "$((UID_BASE + 2))" | head -n 1)/status")
	ls=$((lu - UID_BASE))
	ku=$((UID_BASE + 1 - ls))
	ks=$((1 - ls))
	bg killed "$RT" "$UID_BASE" 2 -- sleep 1000
	if wait_for $((10 * SLOW)) running "$((ku + 2))" "$((ku + 3))" "$ku" "$((ku + 1))" 1; then
		kill -KILL "$BG"
		wait "$BG" 2>/dev/null
		live_before=$(state "$lu" "$ls")
		clean
		is "$RC" 0 "with a live job in the other slot, jobrun check --clean exits 0"
		like "$CLEAN" "uid slot $ks, job killed of jobrun pid [0-9]+ \(dead\): removed cgroup" \
			"it sweeps the killed job's slot"
		unlike "$CLEAN" "uid slot $ls" "it does not name the live job's slot"
		is "$(state "$ku" "$ks")" "cgroups=0 record=0 ws=0" "the killed job's cgroups and record are gone"
		is "$(state "$lu" "$ls")" "$live_before" "the live job's cgroups and record are as they were ($live_before)"
		isnt "$(uid_procs "$lu" "$((lu + 1))")" "" "the live job's process still runs"
	else
		skip "a live job is never touched" "the second job did not start: $(head -c 300 "$T/killed.err")"
	fi
	wait "$LIVE"
	is "$(jq -r '[.verdict, .message] | @json' "$T/live.json" 2>&1)" '["OK",""]' "the live job ends OK"
	is "$(state "$lu" "$ls")" "cgroups=0 record=0 ws=0" "and its own jobrun removes its cgroups and empties its record"
else
	wait "$LIVE"
	skip "a live job is never touched" "the live job did not start: $(head -c 300 "$T/live.err")"
fi

# ------------------------------------------- a cgroup of that name, made since by a live job
# The killed job's cgroups are named after its uid. A jobrun with another runtime dir and the
# same uid removes the empty leftovers and makes its own: the sweep must not take them.
bg old "$RT" "$U3" 1 -- sleep 1000
if kill_bg old "$U3" 1; then
	wait_for $((5 * SLOW)) gone "$U3" "$((U3 + 2))"
	fresh
	bg new "$RT2" "$U3" 1 --dir "$W" --wall-time 2m -- /job/probe sleep $((3 * SLOW))
	NEW=$BG
	if wait_for $((10 * SLOW)) running "$((U3 + 1))" "$((U3 + 2))" "$U3" "$((U3 + 1))" 1; then
		clean
		is "$RC" 0 "jobrun check --clean exits 0"
		like "$CLEAN" "left alone: cgroup /sys/fs/cgroup/(.*/)?jobrun/job-$U3 is not the job's" \
			"the cgroups of that name are another job's now: left alone, and it says so"
		unlike "$CLEAN" "removed cgroup|killed" "nothing is removed or killed"
		isnt "$(uid_procs "$U3" "$((U3 + 1))")" "" "the other runtime dir's job still runs"
		is "$(state "$U3" 0)" "cgroups=$(leftover_cgroups "$U3" "$((U3 + 1))" | wc -l) record=0 ws=0" \
			"the dead job's record is emptied"
	else
		skip "a cgroup of that name made since is left alone" "the job did not start: $(head -c 300 "$T/new.err")"
	fi
	wait "$NEW"
	is "$(jq -r '[.verdict, .message] | @json' "$T/new.json" 2>&1)" '["OK",""]' "that job ends OK"
	is "$(state "$U3" 0 "$RT2")" "cgroups=0 record=0 ws=0" "and leaves nothing behind"
else
	skip "a cgroup of that name made since is left alone" "the job did not start: $(head -c 300 "$T/old.err")"
fi

# ---------------------------------------------------------------- usage
"$JOBRUN" check --runtime-dir "$RT" >"$JOUT" 2>"$JERR"
is "$?" 2 "jobrun check --runtime-dir without --clean: a usage error (exit 2)"
"$JOBRUN" check --clean --runtime-dir rel >"$JOUT" 2>"$JERR"
is "$?" 2 "jobrun check --clean --runtime-dir with a relative path: exit 2"
clean "$T/no-such-dir"
is "$RC:$CLEAN" "0:clean: nothing left behind" "a runtime dir that does not exist: nothing left behind"
chmod 0777 "$RT2"
clean "$RT2"
like "$RC:$CLEAN" "^2:.*not root's or others can write it" "a runtime dir others can write is refused (exit 2)"
chmod 0700 "$RT2"

final_checks
done_testing
