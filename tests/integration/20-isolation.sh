#!/bin/bash
# 20-isolation: what the job can see and touch, reported from inside by the probe.
. "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------- identity
jrw ids
uid=$(res .isolation.uid)
is "$(pv uid)" "$uid" "the job's uid is the one in the result"
cmp_ok "$uid" -ge "$UID_BASE" "the job's uid is at least the range's base"
cmp_ok "$uid" -lt "$((UID_BASE + UID_COUNT))" "the job's uid is below base + count"
is "$(pv euid):$(pv suid)" "$uid:$uid" "effective and saved uids are the job's too"
is "$(pv gid):$(pv egid):$(pv sgid)" "$uid:$uid:$uid" "gid = egid = sgid = the job's uid (and the result's gid)"
is "$(res .isolation.gid)" "$uid" "the result's gid is the job's gid"
is "$(pv groups)" "" "no supplementary groups"
is "$(pv setuid0) $(pv setgid0) $(pv setgroups)" "EPERM EPERM EPERM" "setuid(0), setgid(0), setgroups fail"
is "$(getent passwd "$uid" | wc -l)" 0 "the job's uid exists nowhere on the host"

JR_DEFAULT_UIDS=1 jrw ids
duid=$(pv uid)
cmp_ok "$duid" -ge 1500000000 "default range: the job's uid is at least 1500000000"
cmp_ok "$duid" -lt 1500010000 "default range: the job's uid is below 1500010000"
is "$(res .isolation.uid)" "$duid" "default range: the result reports that uid"
no_leftovers "default range: nothing left with the job's or its init's uid" \
	"$duid" "$((duid + 1))"
no_leftovers "default range: nothing left with jobrun-init's uid" \
	"$((duid + 10000))" "$((duid + 10001))"

# /etc/passwd and /etc/group are generated: the job's uid has a name, the host's users are absent.
jrw cat /etc/passwd
uid=$(res .isolation.uid)
like "$(cat "$OUT")" "^job:x:$uid:$uid:job:/job:/bin/sh$" "/etc/passwd names the job's uid 'job'"
is "$(grep -cvE '^(root|job|nobody):' "$OUT")" 0 "/etc/passwd holds only root, job and nobody"
jrw cat /etc/group
like "$(cat "$OUT")" "^job:x:$(res .isolation.gid):$" "/etc/group names the job's gid"

# ---------------------------------------------------------------- processes
jrw procs
is "$(pv pids)" "$(pv self)" "/proc lists only the job's own process"
is "$(pv npids)" 1 "exactly one pid in /proc"
is "$(pv proc_1) $(pv proc_1_status)" "ENOENT ENOENT" "PID 1 (jobrun-init) is not visible in /proc"
is "$(pv ppid)" 1 "the job's parent is PID 1 of its own pid namespace"
is "$(pv entries)" "self,thread-self" "/proc has no entry besides the pids, self and thread-self"
hidden=""
for f in meminfo kallsyms interrupts sys stat cpuinfo version uptime mounts kcore sysrq-trigger \
	kmsg keys cgroups net modules cmdline iomem timer_list slabinfo sysvipc; do
	[ "$(pv "proc_$f")" = ENOENT ] || hidden="$hidden $f=$(pv "proc_$f")"
done
is "$hidden" "" "no host-wide /proc file exists (meminfo, kallsyms, interrupts, sys, ...)"
[ -e /proc/meminfo ] && [ -e /proc/kallsyms ]
check "(the host's /proc does have meminfo and kallsyms)" test $? -eq 0

jrw kill1
is "$(pv kill1_0) $(pv kill1_TERM) $(pv kill1_KILL) $(pv kill1_STOP) $(pv sigqueue1)" \
	"EPERM EPERM EPERM EPERM EPERM" "the job cannot signal its PID 1 (0, TERM, KILL, STOP, sigqueue)"
verdict_is OK 0 "after those attempts PID 1 still reports the job's end (verdict OK)"

jrw orphans 3
fresh
jr --dir "$W" -- /bin/sh -c '/job/probe orphans 3 >/dev/null; /job/probe procs'
is "$(pv npids)" 5 "the job sees its shell, its 3 daemons and itself in /proc (the probe works)"

# A host process with the very uid the job will get: invisible and unreachable.
SAME=$UID_END
setpriv --reuid="$SAME" --regid="$SAME" --clear-groups sleep 60 </dev/null >/dev/null 2>&1 &
HOSTPID=$!
CLEANUPS+=("kill_uids $SAME $((SAME + 2))")
sleep 0.1
same() {
	fresh
	jr_lease --dir "$W" --uid-range "$SAME:1" -- /job/probe "$@"
}
same kill "$HOSTPID" 9
is "$(res .isolation.uid)" "$SAME" "(the job runs with the host process's uid $SAME)"
is "$(pv kill)" ESRCH "kill(host pid, SIGKILL) with the same uid: ESRCH"
same paths "/proc/$HOSTPID"
is "$(pv "/proc/$HOSTPID")" ENOENT "the host process is not in the job's /proc"
same killall
is "$(pv kill_all) $(pv child)" "OK killed:9" "kill(-1, SIGKILL) works inside the job (its child dies)"
is "$(pv kill_all_again)" ESRCH "after it, kill(-1) finds nobody: no host process is in reach"
check "the host process with the job's uid survived kill(-1, SIGKILL)" kill -0 "$HOSTPID"
kill -KILL "$HOSTPID" 2>/dev/null
wait "$HOSTPID" 2>/dev/null
no_leftovers "nothing left in the shared-uid test's range" "$SAME" "$((SAME + 2))"

# Two jobs at once: different uids, neither sees nor reaches the other.
fresh
A_DIR=$W
timeout "$JR_TIMEOUT" "$JOBRUN" run --uid-range "$UID_BASE:$UID_COUNT" --dir "$A_DIR" \
	--result "$T/a.json" --stdout "$T/a.out" -- /job/probe sleep "$((SLOW > 1 ? 6 : 2))" </dev/null &
A=$!
for _ in $(seq $((50 * SLOW))); do
	[ -n "$(uid_procs "$UID_BASE" "$((UID_BASE + UID_COUNT))")" ] && break
	sleep 0.02
done
jrw procs
is "$(pv npids)" 1 "while another job runs, a job sees only itself"
jrw killall
is "$(pv kill_all_again)" ESRCH "while another job runs, kill(-1) reaches nothing of it"
b_uid=$(res .isolation.uid)
check "(the other job was running all along)" kill -0 "$A"
wait "$A"
is "$(jq -r .verdict "$T/a.json" 2>&1)" OK "the other job was not disturbed (verdict OK)"
isnt "$(jq -r .isolation.uid "$T/a.json" 2>&1)" "$b_uid" "two jobs running at once have different uids"

# ---------------------------------------------------------------- names and network
host_before=$(uname -n)
jrw hostname
is "$(pv hostname) $(pv nodename)" "jobrun jobrun" "the default hostname is jobrun"
is "$(pv sethostname)" EPERM "the job cannot change its hostname"
is "$(res .isolation.hostname)" jobrun "the result reports hostname jobrun"
jrwo --hostname build-42.example -- hostname
is "$(pv hostname)" build-42.example "--hostname sets the job's hostname"
is "$(res .isolation.hostname)" build-42.example "the result reports the --hostname"
jrwo --hostname build-42.example -- cat /etc/hosts
like "$(cat "$OUT")" $'^127\\.0\\.1\\.1\tbuild-42\\.example$' "/etc/hosts maps the hostname to 127.0.1.1"
is "$(uname -n)" "$host_before" "the host's hostname is unchanged"

jrw net
is "$(pv ifaces)" lo "the only network interface is lo"
is "$(pv lo_up) $(pv lo_running)" "1 1" "lo is up and running"
is "$(pv ipv4_routes)" 0 "there is no IPv4 route (no default route)"
is "$(pv udp4_connect) $(pv tcp4_connect)" "ENETUNREACH ENETUNREACH" \
	"connect to 192.0.2.1:53 (UDP, TCP) fails with ENETUNREACH: no route out"
is "$(pv udp6_connect) $(pv tcp6_connect)" "ENETUNREACH ENETUNREACH" \
	"connect to an IPv6 address fails with ENETUNREACH"
is "$(pv loopback_tcp)" OK "a TCP round trip over 127.0.0.1 works"
if [ -n "$(ls /sys/class/net 2>/dev/null | grep -vx lo)" ]; then
	ok "(the host has interfaces besides lo: $(ls /sys/class/net | tr '\n' ' '))"
else
	skip "(the host has interfaces besides lo)" "only lo on this host"
fi

# ---------------------------------------------------------------- System V IPC, cgroup
KEY=$((0x4a520000 + $$ % 65536))
"$PROBE" ipc "$KEY" create >"$T/ipc.host"
CLEANUPS+=("ipcrm -Q $KEY")
is "$(pv msgget_create "$T/ipc.host")" OK "(the host made a message queue with key $KEY)"
"$PROBE" ipc "$KEY" >"$T/ipc.host"
is "$(pv msgget_key "$T/ipc.host")" OK "(the host sees it)"
jrw ipc "$KEY"
is "$(pv msgget_key)" ENOENT "the host's message queue is not visible in the job"
is "$(pv msg_queues) $(pv shm_segments) $(pv sem_sets)" "0 0 0" "the job sees no IPC object at all"
ipcrm -Q "$KEY"

# Run jobrun from a cgroup of its own: the job must still see itself at "/".
cg=""
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
	cg=/sys/fs/cgroup/jobrun-it.$$
elif [ -d /sys/fs/cgroup/pids ]; then
	cg=/sys/fs/cgroup/pids/jobrun-it.$$
fi
if [ -n "$cg" ] && mkdir "$cg" 2>/dev/null; then
	CLEANUPS+=("find $cg -depth -type d -exec rmdir {} +")
	fresh
	rm -f "$OUT"
	timeout "$JR_TIMEOUT" bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$cg" \
		"$JOBRUN" run --uid-range "$UID_BASE:$UID_COUNT" --dir "$W" --result "$RES" \
		--stdout "$OUT" -- /job/probe cgroup </dev/null
	is "$(grep -c . "$OUT")" "$(grep -c . /proc/self/cgroup)" "(the job lists every hierarchy)"
	is "$(grep -v ':/$' "$OUT")" "" "started from cgroup ${cg#/sys/fs/cgroup/}, the job sees every cgroup as /"
	is "$(find "$cg" -mindepth 1 -type d -name 'job-*')" "" "the job's cgroup is removed when it ends"
	find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
else
	jrw cgroup
	is "$(grep -v ':/$' "$OUT")" "" "the job sees every cgroup as /"
fi

# ---------------------------------------------------------------- file system
jrw paths
checked=0 seen=""
for p in /home /root /var /run /srv /mnt /opt /boot /sys /media /lost+found /etc/shadow \
	/etc/gshadow /etc/ssh /etc/hostname /etc/resolv.conf /etc/sudoers /etc/machine-id /dev/tty \
	/dev/console /dev/mem /dev/kmsg /dev/pts /dev/mqueue /dev/vda /dev/sda; do
	[ -e "$p" ] || [ -L "$p" ] || continue
	checked=$((checked + 1))
	[ "$(pv "$p")" = ENOENT ] || seen="$seen $p=$(pv "$p")"
done
is "$seen" "" "host paths outside the binds do not exist in the job ($checked checked)"
cmp_ok "$checked" -ge 10 "(at least 10 of those paths exist on the host)"
is "$(pv /usr) $(pv /bin) $(pv /etc/passwd) $(pv /job) $(pv /tmp) $(pv /dev/null)" \
	"present present present present present present" "the binds and the job's own paths exist"
fresh
jr --dir "$W" -- /job/probe paths "$T" "$W" /run/jobrun /etc/ld.so.cache
is "$(pv "$T") $(pv "$W") $(pv /run/jobrun)" "ENOENT ENOENT ENOENT" \
	"the host test directory, the workdir's host path and the runtime dir are not visible"
is "$(pv /etc/ld.so.cache)" present "the read-only /etc files are there (ld.so.cache)"

jrw writable / /usr /usr/bin /usr/lib /bin /lib /sbin /etc /etc/ld.so.conf.d /etc/alternatives /dev \
	/job /tmp /dev/shm /dev/null /etc/passwd /usr/bin/env
for p in / /usr /usr/bin /usr/lib /bin /lib /sbin /etc /etc/ld.so.conf.d /etc/alternatives /dev; do
	v=$(pv "$p")
	[ "$v" = ENOENT ] && [ ! -e "$p" ] && { skip "$p is read-only" "no $p on this host"; continue; }
	is "$v" EROFS "$p is read-only (EROFS)"
done
is "$(pv /job) $(pv /tmp) $(pv /dev/shm)" "OK OK OK" "/job, /tmp and /dev/shm are writable"
is "$(pv /dev/null)" OK "/dev/null is writable"
isnt "$(pv /etc/passwd)" OK "/etc/passwd cannot be written"
isnt "$(pv /usr/bin/env)" OK "a system program cannot be written"

# A --ro-bind with a submount: the submount is read-only too (recursive), though writable on the host.
mkdir -p "$T/rob/sub"
chmod 0755 "$T/rob"
if mount -t tmpfs -o size=64k,mode=1777 jobrun-it "$T/rob/sub"; then
	CLEANUPS+=("umount -l $T/rob/sub")
	setpriv --reuid=65534 --regid=65534 --clear-groups touch "$T/rob/sub/x"
	check "(the submount is writable by any uid on the host)" test -e "$T/rob/sub/x"
	jrwo --ro-bind "$T/rob" -- writable "$T/rob" "$T/rob/sub"
	is "$(pv "$T/rob")" EROFS "a --ro-bind directory is read-only"
	is "$(pv "$T/rob/sub")" EROFS "a mount below a --ro-bind directory is read-only too"
	jrwo --ro-bind "$T/rob" -- ls "$T/rob/sub"
	is "$(pv "$T/rob/sub")" x "the submount's content is visible"
	umount -l "$T/rob/sub"
else
	skip "submounts of a --ro-bind are read-only" "cannot mount a tmpfs here"
fi

# Every mount: read-only but for /job, /tmp, /dev/shm, /proc and the device nodes; all nosuid;
# nodev but for the device nodes and /dev (a read-only tmpfs holding their mount points: the job
# has no CAP_MKNOD); nothing unexpected.
jrw mounts
bad=$(awk '{
	sub(/^mount=/, ""); mp = $1; opts = "," $2 ","
	dev = mp ~ /^\/dev\/(null|zero|full|random|urandom)$/
	rw = mp == "/job" || mp == "/tmp" || mp == "/dev/shm" || mp == "/proc" || dev
	if (!rw && opts !~ /,ro,/) print mp " is not read-only"
	if (opts !~ /,nosuid,/) print mp " is not nosuid"
	if (!dev && mp != "/dev" && opts !~ /,nodev,/) print mp " is not nodev"
	if (dev && opts !~ /,noexec,/) print mp " is not noexec"
	if (mp !~ /^\/(usr|bin|sbin|lib|lib32|lib64|libx32|etc\/[^\/]+|dev|dev\/[a-z]+|proc|job|tmp)?$/)
		print mp " is unexpected"
}' "$OUT")
is "$bad" "" "every mount is read-only, nosuid and nodev as it should be, and expected"
like "$(grep '^mount=/proc ' "$OUT")" 'subset=pid' "/proc is mounted with subset=pid"
like "$(grep '^mount=/proc ' "$OUT")" 'hidepid=(invisible|2)' "/proc is mounted with hidepid=invisible"
is "$(grep -c '^mount=/ ' "$OUT")" 1 "the root is one tmpfs"

# /tmp and /dev/shm: empty, private, writable, per job.
MARK=jobrun-it-mark.$$
touch "/tmp/$MARK" "/dev/shm/$MARK"
CLEANUPS+=("rm -f /tmp/$MARK /dev/shm/$MARK /tmp/$MARK.job /dev/shm/$MARK.job")
jrw tmp "$MARK.job"
is "$(pv tmp_entries)" "" "/tmp is empty (a host file in /tmp is not visible)"
is "$(pv shm_entries)" "" "/dev/shm is empty (a host file in /dev/shm is not visible)"
is "$(pv tmp_mode) $(pv shm_mode)" "1777 1777" "/tmp and /dev/shm are mode 1777"
is "$(pv tmp_create) $(pv shm_create)" "OK OK" "the job can create files in /tmp and /dev/shm"
check "a file made in the job's /tmp is not in the host's /tmp" test ! -e "/tmp/$MARK.job"
check "a file made in the job's /dev/shm is not in the host's /dev/shm" test ! -e "/dev/shm/$MARK.job"
is "$(find "$W" -name "$MARK*")" "" "nor in the workdir"
jrw tmp "$MARK.job"
is "$(pv tmp_entries) $(pv shm_entries)" " " "the next job's /tmp and /dev/shm are empty again"

# ---------------------------------------------------------------- process environment
export JOBRUN_IT_PASSED="from the host"
export JOBRUN_IT_SECRET="must not leak"
jrw env
is "$(sort "$OUT" | tr '\n' ' ')" "HOME=/job LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin " \
	"the environment is exactly PATH, HOME and LANG"
jrwo --env FOO=bar --env 'SPACED=a b=c' --env JOBRUN_IT_PASSED --env JOBRUN_IT_UNSET_X \
	--env LANG=C -- env
is "$(sort "$OUT" | tr '\n' '|')" \
	"FOO=bar|HOME=/job|JOBRUN_IT_PASSED=from the host|LANG=C|PATH=/usr/local/bin:/usr/bin:/bin|SPACED=a b=c|" \
	"--env NAME=V adds or replaces, --env NAME passes jobrun's value, an unset NAME is skipped"
unset JOBRUN_IT_PASSED JOBRUN_IT_SECRET

jrw fds 7</etc/hostname 8>"$T/leak" 9<&0
is "$(pv fds)" "0,1,2" "only fds 0, 1 and 2 are open, though jobrun had 7, 8 and 9"
is "$(pv fd0)" /dev/null "fd 0 is /dev/null"
like "$(pv fd1) $(pv fd2)" '^pipe:\[[0-9]+\] pipe:\[[0-9]+\]$' "fds 1 and 2 are pipes to jobrun"

jrw tty
is "$(pv sid)" "$(pv pid)" "the job leads its own session (getsid = its pid)"
is "$(pv tty_nr)" 0 "the job has no controlling terminal"
like "$(pv dev_tty)" '^(ENOENT|ENXIO)$' "open /dev/tty fails"
if "$PROBE" tty </dev/null >/dev/null 2>&1 && script -qec "$PROBE tty" /dev/null </dev/null >"$T/tty.host" 2>&1 &&
	[ "$(pv tty_nr "$T/tty.host" | tr -d '\r')" != 0 ]; then
	fresh
	rm -f "$OUT"
	script -qec "timeout $JR_TIMEOUT $JOBRUN run --uid-range $UID_BASE:$UID_COUNT --dir $W \
		--result $RES --stdout $OUT -- /job/probe tty" /dev/null </dev/null >/dev/null 2>&1
	is "$(pv tty_nr) $(pv dev_tty)" "0 ENOENT" "started from a terminal, the job still has no controlling terminal"
else
	skip "started from a terminal, the job has no controlling terminal" "no script(1) pty here"
fi

final_checks
done_testing
