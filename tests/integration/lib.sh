# lib.sh - sourced by tests/integration/*.sh (bash, as root). TAP output, a scratch area per
# test file, and `jr` to run one job with its result, stdout and stderr captured in files.
#
# Environment (tests/run-all.sh sets it): JOBRUN = the jobrun binary, PROBE = the static probe
# (tests/helpers/probe.c). Every job of a test file runs in a uid range of its own (UID_BASE,
# UID_COUNT: jobs UID_BASE.., jobrun-init UID_BASE+UID_COUNT..), so "no process of ours is left"
# can be checked without being confused by other jobs on the host.
set -u

# tests/run-all.sh runs every *.sh here: run directly, this library has nothing to test.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	echo "1..0 # SKIP lib.sh is the library the tests source"
	exit 0
fi

: "${JOBRUN:?JOBRUN must name the jobrun binary}"
: "${PROBE:?PROBE must name the probe binary}"
JR_TIMEOUT=${JR_TIMEOUT:-20}
# Time bounds are for real hardware; the cgroup-v2 VM lane runs under software emulation (exec
# ~6x, namespace set-up ~23x slower): there they are multiplied by SLOW.
SLOW=1
[ "${JOBRUN_LANE:-host}" = vm ] && SLOW=5

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP integration tests need root"
	exit 0
fi
for tool in jq timeout setpriv; do
	if ! command -v "$tool" >/dev/null; then
		echo "Bail out! $tool is not installed"
		exit 1
	fi
done

TESTS=0
FAILURES=0

# A base for the test file's jobs: above the default range (1500000000 + 2 * 10000), below 2^32.
UID_COUNT=16
UID_BASE=$((1600000000 + ($$ % 100000) * 64))
UID_END=$((UID_BASE + 2 * UID_COUNT))
# Jobs pinned to one uid (--uid-range U:1) take U from [UID_END, UID_END + 8).
PIN_END=$((UID_END + 8))
# A wide range for jobs with a private --runtime-dir: leases (flocks on uids/<slot>) are per
# runtime dir, but every job's cgroup is jobrun/job-<slot> below jobrun's own cgroup, so slot
# numbers should rarely meet those of jobs leased in /run/jobrun (random among 4096 here).
PRIV_COUNT=4096
PRIV_BASE=$((1700000000 + ($$ % 100000) * 8192))
PRIV_END=$((PRIV_BASE + 2 * PRIV_COUNT))

# Everything the file makes lives in T (under /var/tmp: a --ro-bind under /tmp would be hidden
# by the job's private /tmp). CLEANUPS holds extra commands for the exit trap.
T=$(mktemp -d /var/tmp/jobrun-it.XXXXXX) || exit 1
chmod 0755 "$T"
CLEANUPS=()
# A jobrun without its own uts namespace would rename the host: put the name back.
HOST_NAME=$(uname -n)
CLEANUPS+=('[ "$(uname -n)" = "$HOST_NAME" ] || hostname "$HOST_NAME"')

cleanup() {
	local i pid
	# background children still running (the shell's own jobs: never a reused pid)
	for pid in $(jobs -p); do
		kill -KILL "$pid" 2>/dev/null
	done
	for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUPS[i]}" >/dev/null 2>&1
	done
	kill_uids "$UID_BASE" "$PIN_END"
	kill_uids "$PRIV_BASE" "$PRIV_END"
	# anything mounted below T (a test's own host mounts) before removing it
	grep -F " $T" /proc/self/mountinfo | awk '{ print $5 }' | sort -r |
		while read -r m; do umount -l "$m"; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- TAP ----

ok() { # DESCRIPTION
	TESTS=$((TESTS + 1))
	echo "ok $TESTS - $1"
}

skip() { # DESCRIPTION REASON
	TESTS=$((TESTS + 1))
	echo "ok $TESTS - $1 # SKIP $2"
}

not_ok() { # DESCRIPTION [DIAGNOSTIC LINES...]
	local line
	TESTS=$((TESTS + 1))
	FAILURES=$((FAILURES + 1))
	echo "not ok $TESTS - $1"
	shift
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/#   /'
	done
	job_diag
}

# The last job, for a failure's diagnostics.
job_diag() {
	[ -n "${LAST_JOB:-}" ] || return 0
	echo "#   last job: $LAST_JOB"
	echo "#   jobrun exit status $RC after ${MS} ms"
	[ -s "$RES" ] && echo "#   result: $(jq -c '{verdict, message, exit_code, signal, limit}' "$RES" 2>&1)"
	[ -s "$JERR" ] && head -c 2000 "$JERR" | sed 's/^/#   jobrun stderr: /'
	[ -s "$ERR" ] && head -c 1000 "$ERR" | sed 's/^/#   job stderr: /'
	[ -s "$OUT" ] && head -c 1500 "$OUT" | sed 's/^/#   job stdout: /'
	return 0
}

check() { # DESCRIPTION COMMAND...: ok when the command succeeds
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc" "failed: $*"; fi
}

is() { # GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3" "got:  '$1'" "want: '$2'"
	fi
}

isnt() { # GOT UNWANTED DESCRIPTION
	if [ "$1" != "$2" ]; then
		ok "$3"
	else
		not_ok "$3" "got '$1', which it must not be"
	fi
}

like() { # GOT ERE DESCRIPTION
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok "$3"
	else
		not_ok "$3" "got:  '$1'" "want: /$2/"
	fi
}

unlike() { # GOT ERE DESCRIPTION
	if ! printf '%s' "$1" | grep -Eq -- "$2"; then
		ok "$3"
	else
		not_ok "$3" "got:  '$1'" "must not match: /$2/"
	fi
}

cmp_ok() { # GOT OP WANT DESCRIPTION (integers; OP is one of -lt -le -eq -ne -ge -gt)
	if [[ "$1" =~ ^-?[0-9]+$ ]] && [ "$1" "$2" "$3" ]; then
		ok "$4"
	else
		not_ok "$4" "got:  '$1'" "want: $2 $3"
	fi
}

done_testing() {
	results_validate
	echo "1..$TESTS"
	[ "$FAILURES" -eq 0 ]
}

# ---- every result validates against docs/result.schema.json ----
# Each result a test produces is kept (a copy: $RES is rewritten by the next job) in $T/results.d:
# jr keeps its own; results from elsewhere are kept with keep_result FILE..., and directories
# that fill with results (jobrun serve's STATE_DIR/serve, a spool's results/) are named once
# with watch_results DIR... and harvested at the end. done_testing validates them all in one
# run of the validator: one test line, which fails listing each bad file and why.
RESULT_SCHEMA=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/docs/result.schema.json
RESULT_VALIDATOR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/helpers/validate-result.py
RESULTS_D=$T/results.d
RESULTS_N=0
RESULT_DIRS=()
mkdir -p "$RESULTS_D"

keep_result() { # FILE...: keep a copy of each non-empty file for the end-of-file validation
	local f
	for f in "$@"; do
		[ -f "$f" ] && [ -s "$f" ] || continue
		RESULTS_N=$((RESULTS_N + 1))
		cp "$f" "$RESULTS_D/$(printf %05d "$RESULTS_N")-${f##*/}"
	done
}

watch_results() { # DIR...: every DIR/*.json is a result, kept at the end of the file
	RESULT_DIRS+=("$@")
}

# validate_results DESCRIPTION FILE...: one test, ok when every FILE validates (and when there
# is at least one). The validator is /usr/bin/python3 with python3-jsonschema, as in CI.
validate_results() {
	local desc=$1 out rc
	shift
	if [ $# -eq 0 ]; then
		not_ok "$desc" "no result to validate"
		return
	fi
	out=$(/usr/bin/python3 "$RESULT_VALIDATOR" --schema "$RESULT_SCHEMA" "$@" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$desc"
	else
		LAST_JOB= not_ok "$desc" "validator exit status $rc" "$(printf '%s\n' "$out" | head -n 40)"
	fi
}

results_validate() {
	local d f files=()
	for d in "${RESULT_DIRS[@]}"; do
		for f in "$d"/*.json; do
			[ -f "$f" ] && keep_result "$f"
		done
	done
	# and the net under them: any other file of the test's scratch area that is a result of
	# jobrun's (a JSON object with version, verdict, limits and isolation), wherever a test put
	# it (files made to be invalid live under $T/not-results/)
	# (no process substitution: the VM lane has no /dev/fd)
	local prune=(-path "$RESULTS_D" -prune -o -path "$T/not-results" -prune -o)
	for d in "${RESULT_DIRS[@]}"; do
		prune+=(-path "$d" -prune -o)
	done
	find "$T" "${prune[@]}" -type f -name '*.json' -size -4M -print0 2>/dev/null >"$T/.results-found"
	while IFS= read -r -d '' f; do
		jq -e 'type == "object" and has("version") and has("verdict") and has("limits") and
		       has("isolation")' "$f" >/dev/null 2>&1 && keep_result "$f"
	done <"$T/.results-found"
	for f in "$RESULTS_D"/*; do
		[ -f "$f" ] && files+=("$f")
	done
	[ ${#files[@]} -gt 0 ] || return 0
	validate_results "results validate against docs/result.schema.json (${#files[@]} results)" \
		"${files[@]}"
}

# ---- jobs ----

OUT=$T/job.out     # the job's stdout
ERR=$T/job.err     # the job's stderr
RES=$T/result.json # the result
JOUT=$T/jobrun.out # jobrun's own stdout
JERR=$T/jobrun.err # jobrun's own stderr
RC=0
MS=0
LAST_JOB=
W=

# fresh: a new workdir W (for --dir) holding the probe, writable by any uid (the job's uid is
# leased at run time: the caller cannot chown for it).
WN=0
fresh() {
	WN=$((WN + 1))
	W=$T/w$WN
	mkdir -p "$W"
	cp "$PROBE" "$W/probe"
	chmod 0755 "$W/probe"
	chmod 0777 "$W"
}

# jr [jobrun run options...] [--] COMMAND...: run one job with the file's uid range, result in
# $RES, the job's stdout/stderr in $OUT/$ERR, jobrun's own in $JOUT/$JERR; status in $RC, wall
# time in $MS (milliseconds). Options given override the defaults (the last one wins).
# With JR_DEFAULT_UIDS=1 in the environment, no --uid-range is added.
jr() {
	local t0 uids=(--uid-range "$UID_BASE:$UID_COUNT")
	[ -n "${JR_DEFAULT_UIDS:-}" ] && uids=()
	rm -f "$OUT" "$ERR" "$RES" "$JOUT" "$JERR"
	LAST_JOB="jobrun run $*"
	t0=$(date +%s%N)
	timeout -k 2 "$JR_TIMEOUT" "$JOBRUN" run "${uids[@]}" \
		--result "$RES" --stdout "$OUT" --stderr "$ERR" "$@" >"$JOUT" 2>"$JERR" </dev/null
	RC=$?
	MS=$((($(date +%s%N) - t0) / 1000000))
	if [ -s "$RES" ]; then
		keep_result "$RES"
	elif [ "$(head -c 1 "$JOUT" 2>/dev/null)" = "{" ] &&
		jq -e 'type == "object" and has("version") and has("verdict")' "$JOUT" >/dev/null 2>&1; then
		keep_result "$JOUT" # the result went to jobrun's stdout (--result /dev/stdout)
	fi
	return 0
}

# jr_lease [jobrun run options...] [--] COMMAND...: jr, again while the uid range is busy with
# other jobs on the host (XX "in use"), as a 1-uid range in /run/jobrun may be for a moment.
jr_lease() {
	local i
	for i in $(seq 50); do
		jr "$@"
		[ "$(res .verdict)" = XX ] && [[ "$(res .message)" == *"in use"* ]] || return 0
		sleep 0.1
	done
}

# jrw ARGS...: jr in a fresh workdir, running /job/probe ARGS.
jrw() {
	fresh
	jr --dir "$W" -- /job/probe "$@"
}

# jrwo [jobrun options...] -- PROBE ARGS...: the same with jobrun options.
jrwo() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	fresh
	jr --dir "$W" "${opts[@]}" -- /job/probe "$@"
}

res() { # JQ_FILTER: a value of the result (raw), or "<no result>"
	if [ -s "$RES" ]; then
		jq -r "$1" "$RES" 2>/dev/null || echo "<bad json>"
	else
		echo "<no result>"
	fi
}

pv() { # KEY [FILE]: the value of the probe's first KEY=VALUE line (default: the job's stdout)
	local f=${2:-$OUT}
	[ -f "$f" ] || { echo "<no output>"; return; }
	awk -v k="$1" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); found = 1; exit }
		END { if (!found) print "<missing>" }' "$f"
}

# Is the job's verdict V with jobrun exiting X? One test.
verdict_is() { # VERDICT EXIT_STATUS DESCRIPTION
	if [ "$(res .verdict)" = "$1" ] && [ "$RC" -eq "$2" ]; then
		ok "$3"
	else
		not_ok "$3" "want verdict $1 and exit status $2, got $(res .verdict) and $RC"
	fi
}

# ---- host side ----

# pids of processes whose real, effective or saved uid is in [LO, HI) (one grep, one awk: this
# is polled, and exec is slow in the VM lane)
uid_procs() { # LO HI
	grep -sH '^Uid:' /proc/[0-9]*/status | awk -v lo="$1" -v hi="$2" '{
		for (i = 2; i <= 4; i++) if ($i >= lo && $i < hi) { split($1, p, "/"); print p[3]; break }
	}'
}

kill_uids() { # LO HI: SIGKILL every process in the range (cleanup only)
	local p
	for p in $(uid_procs "$1" "$2"); do
		kill -KILL "$p" 2>/dev/null
	done
}

# No process in the file's uid range (optionally another range): one test.
no_leftovers() { # DESCRIPTION [LO HI]
	local lo=${2:-$UID_BASE} hi=${3:-$UID_END} left
	left=$(uid_procs "$lo" "$hi" | tr '\n' ' ')
	if [ -z "$left" ]; then
		ok "$1"
	else
		not_ok "$1" "processes left with uids in [$lo, $hi): $left" \
			"$(for p in $left; do ps -o pid=,uid=,args= -p "$p"; done)"
		kill_uids "$lo" "$hi"
	fi
}

# The end of every test file: nothing of the jobs is left on the host.
final_checks() {
	local m left
	no_leftovers "no process left in this file's uid ranges [$UID_BASE, $PIN_END)" \
		"$UID_BASE" "$PIN_END"
	no_leftovers "no process left in its private-runtime-dir range [$PRIV_BASE, $PRIV_END)" \
		"$PRIV_BASE" "$PRIV_END"
	m=$(grep -E ' /run/jobrun(/| )|jobrun-it\.[^ ]*/(run|rt)[^ ]*' /proc/self/mountinfo)
	is "$m" "" "no jobrun mount is visible on the host"
	left=$(find /run/jobrun/root /run/jobrun/scratch -mindepth 1 2>/dev/null | head -5)
	is "$left" "" "/run/jobrun/root and /run/jobrun/scratch are empty on the host"
	left=$(find "$T" -name '*.tmp.*' | head -5)
	is "$left" "" "no temporary result file is left behind"
}

# ---- TLS for the loopback receivers (tests/helpers/httpd.py) ----

# test_ca DIR: a CA made now, DIR/ca.pem and DIR/ca.key (2 days)
test_ca() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1/ca.key" -out "$1/ca.pem" -days 2 \
		-subj "/CN=jobrun test CA" 2>/dev/null
}
# test_cert DIR NAME SAN CN: DIR/NAME.pem and DIR/NAME.key, signed by DIR's test CA
test_cert() {
	openssl req -newkey rsa:2048 -nodes -keyout "$1/$2.key" -out "$1/$2.csr" -subj "/CN=$4" 2>/dev/null
	printf 'subjectAltName=%s\n' "$3" >"$1/$2.ext"
	openssl x509 -req -in "$1/$2.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" -CAcreateserial \
		-out "$1/$2.pem" -days 2 -extfile "$1/$2.ext" 2>/dev/null
}

# ---- cgroups ----

# wait_for SECONDS COMMAND...: poll COMMAND every 50 ms until it succeeds (0) or time is up (1).
wait_for() {
	local end=$(($(date +%s%N) + ${1%.*} * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# A job's cgroups (jobrun/job-<its uid>) below this shell's own cgroup in any hierarchy (where
# the jobrun it started makes them), one directory a line.
own_job_cgroups() { # UID
	local d
	for d in $(find /sys/fs/cgroup -mindepth 2 -maxdepth 12 -type d -path "*/jobrun/job-$1" 2>/dev/null); do
		grep -qx "$$" "${d%/jobrun/job-$1}/cgroup.procs" 2>/dev/null && echo "$d"
	done
}

# ---- a file system with user quotas (--scratch) ----

# quota_fs DIR: mount at DIR (made if missing) an ext4 that enforces user quotas (the quota
# feature, mounted with usrquota: with the feature alone the kernel only counts), on a block
# device of its own (for the I/O limits), unmounted by the exit trap. Silent and 0 on success;
# otherwise prints why it cannot be and returns 1 (a test's skip reason). Call it in the test's
# own shell, not in $(...): it adds to CLEANUPS.
#   VM lane with a test disk (cgroup-vm --disk 64M --disk-fs ext4): that disk, taken from
#   VMTEST_DISK_MNT, given the quota feature (tune2fs) and mounted at DIR; put back after.
#   Elsewhere: a 64 MiB image in $T on a loop device with direct I/O: the image's pages are not
#   cached, so none is charged to the memory cgroup of a job whose writes reach it (on cgroup
#   v2 the loop driver charges its writes to the cgroup that issued them).
# The kernel needs quota support with the v2 format (CONFIG_QUOTA, CONFIG_QFMT_V2: module
# quota_v2, loaded on demand) and loop devices (module loop, which nothing loads on demand).
QUOTA_FS_N=0
quota_fs() { # DIR
	local dir=$1 tool st
	for tool in mkfs.ext4 tune2fs losetup findmnt; do
		command -v "$tool" >/dev/null || { echo "$tool is not installed"; return 1; }
	done
	mkdir -p "$dir" || { echo "cannot create $dir"; return 1; }
	# (in the VM, VMTEST_MODPROBE is busybox's modprobe with the guest kernel's modules)
	${VMTEST_MODPROBE:-modprobe} -q quota_v2 >/dev/null 2>&1
	if [ "${JOBRUN_LANE:-host}" = vm ] && [ -n "${VMTEST_DISK:-}" ] && [ -n "${VMTEST_DISK_MNT:-}" ]; then
		quota_fs_disk "$dir" || return 1
	else
		quota_fs_loop "$dir" || return 1
	fi
	# (quotaon -p from the quota package, where installed: "user quota on DIR (DEV) is on")
	if command -v quotaon >/dev/null; then
		st=$(quotaon -p -u "$dir" 2>&1)
		case "$st" in
		*" is on"*) ;;
		*) echo "user quotas are not on after mount -o usrquota: $st"; return 1 ;;
		esac
	fi
	chmod 0755 "$dir"
}

quota_fs_disk() { # DIR
	local dir=$1 disk=$VMTEST_DISK mnt=$VMTEST_DISK_MNT out
	if [ "$(findmnt -n -o SOURCE -M "$mnt")" != "$disk" ]; then
		echo "the VM's disk $disk is not mounted at $mnt (taken by an earlier quota_fs?)"
		return 1
	fi
	umount "$mnt" || { echo "cannot unmount $mnt"; return 1; }
	CLEANUPS+=("mount '$disk' '$mnt'")
	if ! out=$(tune2fs -O quota -Q usrquota "$disk" 2>&1); then
		echo "tune2fs -O quota -Q usrquota $disk: $(printf '%s' "$out" | tail -n 1)"
		return 1
	fi
	if ! out=$(mount -t ext4 -o usrquota "$disk" "$dir" 2>&1); then
		echo "mount -o usrquota $disk (ext4 with the quota feature) failed: $(quota_fs_why "$disk" "$out")"
		return 1
	fi
	CLEANUPS+=("umount '$dir' || umount -l '$dir'")
}

quota_fs_loop() { # DIR
	local dir=$1 img dev out
	QUOTA_FS_N=$((QUOTA_FS_N + 1))
	img=$T/quotafs$QUOTA_FS_N.img
	[ -e /dev/loop-control ] || ${VMTEST_MODPROBE:-modprobe} -q loop >/dev/null 2>&1
	[ -e /dev/loop-control ] || { echo "no loop devices here (/dev/loop-control)"; return 1; }
	if ! out=$(truncate -s 64M "$img" 2>&1 && mkfs.ext4 -q -F -O quota -E quotatype=usrquota "$img" 2>&1); then
		echo "mkfs.ext4 -O quota -E quotatype=usrquota: $out"
		return 1
	fi
	# (not cached instead: on cgroup v2 the jobs' memory cgroups would be left with the image's
	# pages charged to them, and linger as dying ones)
	if ! dev=$(losetup -f --show --direct-io=on "$img" 2>"$T/losetup.err"); then
		echo "losetup --direct-io=on, an image on $(findmnt -n -o FSTYPE -T "$T"):" \
			"$(sed 's/^losetup: //' "$T/losetup.err" | head -n 1)"
		return 1
	fi
	CLEANUPS+=("losetup -d '$dev'")
	if ! out=$(mount -t ext4 -o usrquota "$dev" "$dir" 2>&1); then
		echo "mount -o usrquota $dev (ext4 with the quota feature) failed: $(quota_fs_why "$dev" "$out")"
		return 1
	fi
	CLEANUPS+=("umount '$dir' || umount -l '$dir'")
}

# After a failed mount: the kernel's own words and its configuration where they can be read,
# else mount's.
quota_fs_why() { # DEV MOUNT_OUTPUT
	local conf="" why
	why=$(dmesg 2>/dev/null | grep -F "EXT4-fs (${1##*/})" | tail -n 1 | sed 's/^\[[^]]*\] *//')
	if [ -r /proc/config.gz ]; then
		conf=$(zcat /proc/config.gz 2>/dev/null)
	elif [ -r "/boot/config-$(uname -r)" ]; then
		conf=$(cat "/boot/config-$(uname -r)")
	fi
	case "$conf" in
	*"# CONFIG_QUOTA is not set"*) why="${why:+$why; }this kernel ($(uname -r)) has no quota support (CONFIG_QUOTA is not set)" ;;
	*"# CONFIG_QFMT_V2 is not set"*) why="${why:+$why; }this kernel ($(uname -r)) has no quota format for ext4 (CONFIG_QFMT_V2 is not set)" ;;
	esac
	printf '%s' "${why:-$(printf '%s' "$2" | head -n 1)}"
}
