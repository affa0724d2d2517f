#!/bin/bash
# 65-layers: issue 8, verdicts and limits. Every limit (memory, swap, cpus, cpu_weight, cpu_time,
# wall_time, pids, disk, output, open_files, io_*) through every layer that can set it: the
# profile's default (a jobrun.conf written here, --config), the job config (--job-conf, and a
# tarball's job.conf), the command line; raised and lowered against the profile's default within
# its maxima, and to no limit. Each job reports what the kernel holds for it (its own cgroup's
# files, read through a read-only bind of /sys/fs/cgroup; its rlimits; its /job's size), which
# must be what the result's `limits` says. Then values that must be refused where they are
# given (a usage error naming the option, or RJ naming file:line), never by a failing write,
# the job's own doing as RJ (files that do not fit in its memory), and counters the kernel does
# not keep as null. Runs on v1 here and on v2 in the VM lane.
. "$(dirname "$0")/lib.sh"
JR_TIMEOUT=$((20 * SLOW))

CGV=1
[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] && CGV=2
if ! awk '$1 == "memory" && $4 == 1 { f = 1 } END { exit !f }' /proc/cgroups; then
	echo "1..0 # SKIP no cgroup memory controller here"
	exit 0
fi

# ---------------------------------------------------------------- the job's reporter
# BIN is bound read-only into every job (the same path inside): report.sh prints what the kernel
# holds for the job, one KEY=VALUE a line (several values of one file joined by ';').
BIN=$T/bin
mkdir -p "$BIN"
cp "$PROBE" "$BIN/probe"
cat >"$BIN/report.sh" <<'EOF'
u=$(id -u)
for d in $(find /sys/fs/cgroup -maxdepth 12 -type d -path "*/jobrun/job-$u" 2>/dev/null); do
	(cd "$d" && grep -H '' memory.limit_in_bytes memory.memsw.limit_in_bytes memory.max \
		memory.swap.max cpu.cfs_quota_us cpu.shares cpu.max cpu.weight pids.max io.max \
		blkio.throttle.read_bps_device blkio.throttle.write_bps_device \
		blkio.throttle.read_iops_device blkio.throttle.write_iops_device 2>/dev/null)
done | awk '{ k = $0; sub(/:.*/, "", k); sub(/^[^:]*:/, "")
	if (k in v) v[k] = v[k] ";" $0; else v[k] = $0 } END { for (k in v) print k "=" v[k] }'
echo "rlimit_cpu=$(ulimit -t)"
"$(dirname "$0")/probe" rlimits
stat -f -c 'disk %b %S' /job | awk '{ print "disk=" $2 * $3 }'
EOF
chmod -R a+rX "$BIN"

# The whole disk I/O limits apply to: /usr's here; in the VM lane (its / is 9p) its test disk,
# bound into the jobs. None: the I/O limits are left out of the matrix, and said so.
whole_disk() { # MAJ:MIN -> the whole disk's MAJ:MIN (io.max and blkio refuse partitions)
	if [ -e "/sys/dev/block/$1/partition" ]; then cat "/sys/dev/block/$1/../dev"; else echo "$1"; fi
}
IODEV="" IOBIND=()
d=$(findmnt -n -o MAJ:MIN -T /usr | tr -d ' ')
if [ "${d%%:*}" != 0 ] && [ -e "/sys/dev/block/$d" ]; then
	IODEV=$(whole_disk "$d")
elif [ -n "${VMTEST_DISK_MNT:-}" ] && mountpoint -q "$VMTEST_DISK_MNT"; then
	d=$(findmnt -n -o MAJ:MIN -T "$VMTEST_DISK_MNT" | tr -d ' ')
	if [ "${d%%:*}" != 0 ]; then
		IODEV=$(whole_disk "$d")
		IOBIND=(--ro-bind "$VMTEST_DISK_MNT")
	fi
fi

# ---------------------------------------------------------------- the profiles
KEYS=(memory swap cpus cpu_weight cpu_time wall_time pids disk output open_files)
IOKEYS=(io_read_bps io_write_bps io_read_iops io_write_iops)
[ -n "$IODEV" ] && KEYS+=("${IOKEYS[@]}")
# The profile's defaults (none equal to jobrun's built-in ones or the kernel's), what a layer
# raises them to and lowers them to (within the maxima), and the maxima.
declare -A DEF=([memory]=128M [swap]=32M [cpus]=0.75 [cpu_weight]=150 [cpu_time]=20s
	[wall_time]=30s [pids]=48 [disk]=64M [output]=8M [open_files]=200 [io_read_bps]=64M
	[io_write_bps]=48M [io_read_iops]=1000 [io_write_iops]=800)
declare -A HI=([memory]=192M [swap]=64M [cpus]=1.5 [cpu_weight]=300 [cpu_time]=40s
	[wall_time]=45s [pids]=96 [disk]=128M [output]=16M [open_files]=400 [io_read_bps]=128M
	[io_write_bps]=96M [io_read_iops]=2000 [io_write_iops]=1600)
declare -A LO=([memory]=96M [swap]=0 [cpus]=0.5 [cpu_weight]=50 [cpu_time]=10s
	[wall_time]=20s [pids]=32 [disk]=32M [output]=4M [open_files]=100 [io_read_bps]=32M
	[io_write_bps]=24M [io_read_iops]=500 [io_write_iops]=400)
declare -A MAX=([memory]=512M [swap]=256M [cpus]=2 [cpu_weight]=1000 [cpu_time]=60s
	[wall_time]=60s [pids]=256 [disk]=256M [output]=64M [open_files]=1024 [io_read_bps]=1G
	[io_write_bps]=1G [io_read_iops]=100000 [io_write_iops]=100000)
# "unlimited" where it means something (profile open: no maxima)
UNLIM_KEYS=(memory swap cpus cpu_time wall_time pids)
[ -n "$IODEV" ] && UNLIM_KEYS+=("${IOKEYS[@]}")
declare -A OPT=([memory]=memory [swap]=swap [cpus]=cpus [cpu_weight]=cpu-weight
	[cpu_time]=cpu-time [wall_time]=wall-time [pids]=pids [disk]=disk [output]=output-limit
	[open_files]=open-files [io_read_bps]=io-read-bps [io_write_bps]=io-write-bps
	[io_read_iops]=io-read-iops [io_write_iops]=io-write-iops)

limits_block() { # NAME ARRAY [KEYS...]: "NAME { key = "value" ... }"
	local -n vals=$2
	local name=$1 k
	shift 2
	echo "	$name {"
	for k in "$@"; do
		echo "		$k = \"${vals[$k]}\""
	done
	echo "	}"
}
CONF=$T/jobrun.conf
{
	echo "default_profile = \"layers\""
	echo "profile layers {"
	echo "	job_profiles = {\"layers\"}"
	limits_block defaults DEF "${KEYS[@]}"
	limits_block maxima MAX "${KEYS[@]}"
	echo "}"
	# the same defaults, no maxima: a job may ask for no limit at all
	echo "profile open {"
	limits_block defaults DEF "${KEYS[@]}"
	echo "	maxima {"
	for k in "${KEYS[@]}"; do
		echo "		$k = \"unlimited\""
	done
	echo "	}"
	echo "}"
	# little memory and disk by default, more allowed: what a tarball needs is known late
	echo "profile tiny {"
	echo "	defaults { memory = \"16M\" swap = \"0\" disk = \"16M\" }"
	echo "	maxima { memory = \"256M\" swap = \"0\" disk = \"128M\" }"
	echo "}"
	# default swap unlimited (no memsw limit): v1 counts limit hits then
	echo "profile noswap {"
	echo "	defaults { swap = \"unlimited\" }"
	echo "	maxima { swap = \"unlimited\" }"
	echo "}"
} >"$CONF"
chmod 0644 "$CONF"

COMMON=(--config "$CONF" --ro-bind "$BIN" --ro-bind /sys/fs/cgroup "${IOBIND[@]}")

# ---------------------------------------------------------------- what to expect
bytes() { # 64M, 1G, 512K, 123 -> bytes
	case "$1" in
	*K) echo $((${1%K} << 10)) ;;
	*M) echo $((${1%M} << 20)) ;;
	*G) echo $((${1%G} << 30)) ;;
	*) echo "$1" ;;
	esac
}
milli() { # 1.5 -> 1500, 0.75 -> 750, 2 -> 2000
	local w=${1%%.*} f=
	[ "$w" != "$1" ] && f=${1#*.}
	f=${f}000
	echo $((10#$w * 1000 + 10#${f:0:3}))
}
cpus_text() { # 1500 -> 1.5, 2000 -> 2 (as jq prints the result's number)
	local f
	f=$(printf %03d $(($1 % 1000)))
	f=${f%0}; f=${f%0}; f=${f%0}
	echo "$(($1 / 1000))${f:+.$f}"
}
# The last job's report, read once: REP[key] = value (the first line of a key).
declare -A REP
load_report() {
	local line
	REP=()
	[ -f "$OUT" ] || return 0
	while IFS= read -r line; do
		[[ "$line" == *=* ]] && [ -z "${REP[${line%%=*}]+x}" ] && REP[${line%%=*}]=${line#*=}
	done <"$OUT"
}
kv() { echo "${REP[$1]-<missing>}"; }
dev_entry() { # "254:0 1;8:0 2": what follows IODEV in its entry
	local e IFS=';'
	for e in $1; do
		[ "${e%% *}" = "$IODEV" ] && echo "${e#* }" && return
	done
	return 0
}

# The result's limits entry for key K and its value V as jq expects it ("null" for none).
want_result() { # K V
	local k=$1 v=$2 n
	if [ "$v" = unlimited ]; then
		echo null
		return
	fi
	case "$k" in
	memory | swap | disk | output | io_read_bps | io_write_bps) bytes "$v" ;;
	cpu_time | wall_time) echo "${v%s}" ;;
	cpus) cpus_text "$(milli "$v")" ;;
	*) echo "$v" ;;
	esac
}
declare -A RKEY=([memory]=memory_bytes [swap]=swap_bytes [cpus]=cpus [cpu_weight]=cpu_weight
	[cpu_time]=cpu_seconds [wall_time]=wall_seconds [pids]=pids [disk]=disk_bytes
	[output]=output_bytes [open_files]=open_files [io_read_bps]=io_read_bps
	[io_write_bps]=io_write_bps [io_read_iops]=io_read_iops [io_write_iops]=io_write_iops)

V1_MAX=9223372036854771712 # v1's "-1" as it reads back (PAGE_COUNTER_MAX pages)

# What the kernel holds for key K in the last job (from its report), and what it should hold
# for value V (MEM: the job's memory value, for swap). Sets GOT and WANT.
kernel_value() { # K V MEM
	local k=$1 v=$2 mem=$3 n f i
	GOT="" WANT=""
	case "$k" in
	memory)
		if [ "$CGV" = 1 ]; then
			GOT=$(kv memory.limit_in_bytes)
			WANT=$([ "$v" = unlimited ] && echo "$V1_MAX" || bytes "$v")
		else
			GOT=$(kv memory.max)
			WANT=$([ "$v" = unlimited ] && echo max || bytes "$v")
		fi ;;
	swap)
		if [ "$CGV" = 1 ]; then
			GOT=$(kv memory.memsw.limit_in_bytes)
			if [ "$GOT" = "<missing>" ]; then
				WANT="<missing>" # no swap accounting: the host has no swap (admission)
			elif [ "$v" = unlimited ] || [ "$mem" = unlimited ]; then
				WANT=$V1_MAX
			else
				WANT=$(($(bytes "$mem") + $(bytes "$v")))
			fi
		else
			GOT=$(kv memory.swap.max)
			if [ "$GOT" = "<missing>" ]; then
				WANT="<missing>"
			elif [ "$v" = unlimited ] || [ "$mem" = unlimited ]; then
				WANT=max
			else
				WANT=$(bytes "$v")
			fi
		fi ;;
	cpus)
		n=$([ "$v" = unlimited ] || milli "$v")
		if [ "$CGV" = 1 ]; then
			GOT=$(kv cpu.cfs_quota_us)
			WANT=$([ "$v" = unlimited ] && echo -1 || echo $((n * 100)))
		else
			GOT=$(kv cpu.max)
			WANT=$([ "$v" = unlimited ] && echo "max 100000" || echo "$((n * 100)) 100000")
		fi ;;
	cpu_weight)
		if [ "$CGV" = 1 ]; then
			GOT=$(kv cpu.shares) WANT=$((v * 1024 / 100))
		else
			GOT=$(kv cpu.weight) WANT=$v
		fi ;;
	cpu_time) # RLIMIT_CPU, the per-process backstop: the limit + 2 s
		GOT=$(kv rlimit_cpu)
		WANT=$([ "$v" = unlimited ] && echo unlimited || echo $((${v%s} + 2))) ;;
	wall_time) # jobrun's own timer: nothing in the kernel
		GOT=${RESV[wall_seconds]} WANT=$(want_result wall_time "$v") ;;
	pids)
		GOT=$(kv pids.max)
		WANT=$([ "$v" = unlimited ] && echo max || echo "$v") ;;
	disk) GOT=$(kv disk) WANT=$(bytes "$v") ;;
	output) # jobrun's own pump: its cap on the job's stdout
		GOT=${RESV[stdout]} WANT=$(bytes "$v") ;;
	open_files) GOT=$(kv nofile) WANT="$v:$v" ;;
	io_*)
		i=0
		case "$k" in
		io_read_bps) f=read_bps i=rbps ;; io_write_bps) f=write_bps i=wbps ;;
		io_read_iops) f=read_iops i=riops ;; io_write_iops) f=write_iops i=wiops ;;
		esac
		n=$([ "$v" = unlimited ] || case "$k" in *bps) bytes "$v" ;; *) echo "$v" ;; esac)
		if [ "$CGV" = 1 ]; then
			# "254:0 67108864;8:0 1048576": this disk's entry (none: no rule)
			GOT=$(dev_entry "$(kv "blkio.throttle.${f}_device")")
			WANT=$([ "$v" = unlimited ] || echo "$n")
		else
			# "254:0 rbps=67108864 wbps=max riops=max wiops=max" (no line: no limit)
			for f in $(dev_entry "$(kv io.max)"); do
				[ "${f%%=*}" = "$i" ] && GOT=${f#*=}
			done
			WANT=$([ "$v" = unlimited ] && { [ -z "$GOT" ] || echo max; } || echo "$n")
		fi ;;
	esac
}

# check_job LABEL ARRAY: the last job ran OK, and for each key both the result and the kernel
# hold ARRAY's value. One test per key. (One jq per job and few other programs: the VM lane is
# slow to start them.)
declare -A RESV
check_job() { # LABEL ARRAY
	local label=$1 k v want out i=0 lines
	local -n vals=$2
	local filter='.verdict, .message, .stdout.limit'
	for k in "${KEYS[@]}"; do
		filter+=", .limits.${RKEY[$k]}"
	done
	out=$(jq -r "$filter" "$RES" 2>/dev/null)
	mapfile -t lines <<<"$out"
	if [ "${lines[0]:-}" != OK ]; then
		not_ok "$label: the job runs (OK)" "verdict ${lines[0]:-<no result>}: ${lines[1]:-}"
		return
	fi
	RESV=([stdout]=${lines[2]})
	for k in "${KEYS[@]}"; do
		RESV[${RKEY[$k]}]=${lines[$((i + 3))]}
		i=$((i + 1))
	done
	load_report
	for k in "${KEYS[@]}"; do
		v=${vals[$k]}
		want=$(want_result "$k" "$v")
		kernel_value "$k" "$v" "${vals[memory]}"
		if [ "${RESV[${RKEY[$k]}]}" = "$want" ] && [ "$GOT" = "$WANT" ]; then
			ok "$label: $k = $v, in the result and in the kernel ($GOT)"
		else
			not_ok "$label: $k = $v, in the result and in the kernel" \
				"result: limits.${RKEY[$k]} = ${RESV[${RKEY[$k]}]}, want $want" \
				"kernel: '$GOT', want '$WANT'"
		fi
	done
}

# The layers' text for values ARRAY.
cli_opts() { # ARRAY [KEYS...]: --opt value ...
	local -n vals=$1
	local k
	shift
	for k in "$@"; do
		printf '%s\n' "--${OPT[$k]}" "${vals[$k]}"
	done
}
job_conf() { # ARRAY SHELL [KEYS...]: a job config
	local -n vals=$1
	local k
	echo "shell = \"$2\""
	shift 2
	echo "limits {"
	for k in "$@"; do
		echo "	$k = \"${vals[$k]}\""
	done
	echo "}"
}
REPORT="sh $BIN/report.sh"
mktarball() { # DIR: $DIR.tar from DIR/src (a job.conf there), with a data file
	mkdir -p "$1/src"
	echo data >"$1/src/data.txt"
	tar -C "$1/src" -cf "$1.tar" .
}

# ---------------------------------------------------------------- the matrix
# the profile's default (its jobrun.conf, --config)
jr "${COMMON[@]}" -- /bin/sh "$BIN/report.sh"
check_job "profile default" DEF

# the command line
mapfile -t opts <<<"$(cli_opts HI "${KEYS[@]}")"
jr "${COMMON[@]}" "${opts[@]}" -- /bin/sh "$BIN/report.sh"
check_job "command line raises" HI
mapfile -t opts <<<"$(cli_opts LO "${KEYS[@]}")"
jr "${COMMON[@]}" "${opts[@]}" -- /bin/sh "$BIN/report.sh"
check_job "command line lowers" LO

# --job-conf (no tarball: a fresh workspace)
job_conf HI "$REPORT" "${KEYS[@]}" >"$T/hi.conf"
jr "${COMMON[@]}" --job-conf "$T/hi.conf"
check_job "--job-conf raises" HI
job_conf LO "$REPORT" "${KEYS[@]}" >"$T/lo.conf"
jr "${COMMON[@]}" --job-conf "$T/lo.conf"
check_job "--job-conf lowers" LO

# a tarball's job.conf (unpacked first, inside the job's cgroup: its limits are written after)
mkdir -p "$T/thi/src" "$T/tlo/src"
cp "$T/hi.conf" "$T/thi/src/job.conf"
mktarball "$T/thi"
cp "$T/lo.conf" "$T/tlo/src/job.conf"
mktarball "$T/tlo"
jr "${COMMON[@]}" "$T/thi.tar"
check_job "tarball job.conf raises" HI
jr "${COMMON[@]}" "$T/tlo.tar"
check_job "tarball job.conf lowers" LO

# the command line wins over the job config, key by key
mapfile -t opts <<<"$(cli_opts LO "${KEYS[@]}")"
jr "${COMMON[@]}" "${opts[@]}" "$T/thi.tar"
check_job "tarball job.conf raises, command line lowers" LO
mapfile -t opts <<<"$(cli_opts HI "${KEYS[@]}")"
jr "${COMMON[@]}" "${opts[@]}" --job-conf "$T/lo.conf"
check_job "--job-conf lowers, command line raises" HI

# no limit at all, from the defaults (profile open: no maxima), after unpacking
declare -A UN
for k in "${KEYS[@]}"; do UN[$k]=${DEF[$k]}; done
for k in "${UNLIM_KEYS[@]}"; do UN[$k]=unlimited; done
mkdir -p "$T/tun/src"
job_conf UN "$REPORT" "${UNLIM_KEYS[@]}" >"$T/tun/src/job.conf"
mktarball "$T/tun"
jr "${COMMON[@]}" --profile open "$T/tun.tar"
check_job "tarball job.conf: no limit (profile open)" UN
mapfile -t opts <<<"$(cli_opts UN "${UNLIM_KEYS[@]}")"
jr "${COMMON[@]}" --profile open "${opts[@]}" -- /bin/sh "$BIN/report.sh"
check_job "command line: no limit (profile open)" UN

if [ -z "$IODEV" ]; then
	skip "I/O limits through every layer" "no block device under /usr here, nor a test disk"
fi

# The job configs of conf/examples raise memory (1G) within grader's maxima: they run.
EX=$(cd "$(dirname "$0")/../../conf/examples" && pwd)
jr --job-conf "$EX/shell.conf" --output-dir "$T/shell.out"
is "$(res '[.verdict != "XX", .limits.memory_bytes] | @json')" '[true,1073741824]' \
	"conf/examples/shell.conf (memory 1G): not XX ($(res .verdict): $(res .message)), memory 1G"

# ---------------------------------------------------------------- refused where given
# Usage errors: exit status 2, no result, the option and the value named on stderr.
usage_error() { # DESCRIPTION ERE jobrun-run-args...
	local desc=$1 ere=$2
	shift 2
	jr "${COMMON[@]}" "$@"
	if [ "$RC" = 2 ] && [ ! -s "$RES" ] && grep -Eq -- "$ere" "$JERR"; then
		ok "$desc"
	else
		not_ok "$desc" "exit status $RC (want 2), result: $([ -s "$RES" ] && echo yes || echo none)" \
			"stderr: $(head -c 300 "$JERR")" "want: /$ere/"
	fi
}
usage_error "--cpuset 5-2 (a reversed range): a usage error naming --cpuset" \
	"^jobrun run: --cpuset: '5-2' has a reversed range" --cpuset 5-2 -- true
usage_error "--cpuset 4095 (no such CPU): a usage error naming the CPU" \
	"^jobrun run: --cpuset: '4095' names CPU 4095, which is not online" --cpuset 4095 -- true
usage_error "--cpuset 0,,1: a usage error" "^jobrun run: --cpuset: '0,,1' is not a CPU list" \
	--cpuset 0,,1 -- true
usage_error "--pids 1 (jobrun-init could not fork the command): a usage error" \
	"^jobrun run: --pids: '1' is below the minimum 2" --pids 1 -- true
usage_error "--io-read-iops 4294967295 (the kernel keeps 32 bits): a usage error" \
	"^jobrun run: --io-read-iops: '4294967295' is above 4294967294" --io-read-iops 4294967295 -- true
usage_error "--io-write-bps 1 (refused by some kernels): a usage error" \
	"^jobrun run: --io-write-bps: '1' is below the minimum 2" --io-write-bps 1 -- true
usage_error "--memory above the profile's maximum: a usage error naming the maximum" \
	"command line: memory = 1G is above the layers profile's maximum 512M" --memory 1G -- true

# jobrun's own hard rlimits, without CAP_SYS_RESOURCE: what jobrun-init cannot set for the
# command is refused where it is given (it used to end in "jobrun-init failed", XX).
REAL_JOBRUN=$JOBRUN
capless() { # "ULIMIT OPTIONS": JOBRUN runs under them, without CAP_SYS_RESOURCE
	cat >"$T/jobrun-capless" <<EOF
#!/bin/bash
ulimit $1 || exit 99
exec setpriv --inh-caps -sys_resource --bounding-set -sys_resource -- "$REAL_JOBRUN" "\$@"
EOF
	chmod 0755 "$T/jobrun-capless"
	JOBRUN=$T/jobrun-capless
}
capless "-Hn 300 -Sn 300"
usage_error "--open-files 400 above jobrun's own hard RLIMIT_NOFILE (300): a usage error" \
	"^jobrun run: --open-files: '400' is above 300, the most open files jobrun may give here" \
	--open-files 400 -- true
job_conf HI true open_files >"$T/nofile.conf"
jr "${COMMON[@]}" --job-conf "$T/nofile.conf"
verdict_is RJ 1 "a job config's open_files = 400 above it: RJ"
like "$(res .message)" "^--job-conf $T/nofile.conf:3: open_files = 400 is above 300" \
	"the message names the file, the line, the value and the host's limit"
jr "${COMMON[@]}" -- /bin/sh "$BIN/report.sh"
verdict_is OK 0 "the profile's default open_files (200) below it: the job runs"
is "$(pv nofile)" "200:200" "and gets 200 open files"
capless "-Hn 150 -Sn 150"
jr "${COMMON[@]}" -- true
like "$RC $(cat "$JERR")" "^2 jobrun run: $CONF:[0-9]+: profile layers: defaults: open_files = 200 is above 150" \
	"the profile's default above it: a usage error naming jobrun.conf's line"
capless "-Hs 8192 -Ss 8192"
usage_error "--stack 16M above jobrun's own hard RLIMIT_STACK (8M): a usage error" \
	"^jobrun run: --stack: '16M' is more than jobrun may give here: its own hard RLIMIT_STACK is 8M" \
	--stack 16M -- true
usage_error "--stack unlimited above it: a usage error" "^jobrun run: --stack: 'unlimited' is more" \
	--stack unlimited -- true
capless "-Hf 1048576 -Sf 1048576" # KiB: 1 GiB
usage_error "--file-size unlimited above jobrun's own hard RLIMIT_FSIZE (1G): a usage error" \
	"^jobrun run: --file-size: 'unlimited' is more than jobrun may give here" \
	--file-size unlimited -- true
jr "${COMMON[@]}" -- /bin/sh "$BIN/report.sh"
is "$(res '[.verdict, .limits.file_size_bytes] | @json') $(pv fsize)" \
	'["OK",1073741824] 1073741824:1073741824' \
	"the default file size (unlimited) is what jobrun may give: 1G, in the result and the job"
capless "-Ht 30 -St 30"
usage_error "--cpu-time 40s above jobrun's own hard RLIMIT_CPU (30 s): a usage error" \
	"^jobrun run: --cpu-time: '40s' is more than jobrun may give here: its own hard RLIMIT_CPU is 30 s" \
	--cpu-time 40s -- true
job_conf HI true cpu_time >"$T/cpu.conf"
jr "${COMMON[@]}" --job-conf "$T/cpu.conf"
verdict_is RJ 1 "a job config's cpu_time = 40s above it: RJ"
like "$(res .message)" "^--job-conf $T/cpu.conf:3: cpu_time = 40s is more than jobrun may give" \
	"the message names the file and the line"
JOBRUN=$REAL_JOBRUN

# ---------------------------------------------------------------- the job's own doing: RJ
# A staged job is unpacked under the most memory its config may ask for (profile tiny: 256M,
# default 16M), then held to its own limit.
MiB=1048576
mkdir -p "$T/tbig/src"
head -c $((24 * MiB)) /dev/zero >"$T/tbig/src/zeros"
printf 'shell = "%s"\nlimits {\n memory = "96M"\n disk = "64M"\n}\n' "$REPORT" >"$T/tbig/src/job.conf"
tar -C "$T/tbig/src" -czf "$T/tbig.tar.gz" .
jr "${COMMON[@]}" --profile tiny "$T/tbig.tar.gz"
is "$(res '[.verdict, .limits.memory_bytes] | @json')" '["OK",100663296]' \
	"24 MiB of files, default memory 16M, job.conf memory = 96M: unpacked, and it runs with 96M"
load_report
kernel_value memory 96M 96M
is "$GOT" "$WANT" "the kernel holds 96M for it after unpacking"

printf 'shell = "true"\nlimits {\n memory = "8M"\n disk = "64M"\n}\n' >"$T/tbig/src/job.conf"
tar -C "$T/tbig/src" -czf "$T/tsmall.tar.gz" .
jr "${COMMON[@]}" --profile tiny "$T/tsmall.tar.gz"
verdict_is RJ 1 "24 MiB of files, job.conf memory = 8M (below what they use): RJ"
like "$(res .message)" "^the unpacked files use 2[4-9]\.[0-9] MiB of memory, 1[6-9]\.[0-9] MiB above the job's memory limit of 8M$" \
	"the message says which limit and by how much"

# (files twice the limit: the kernel gives up reclaiming at once, the helper's own pages are
# not all it could evict to make progress)
mkdir -p "$T/thuge/src"
head -c $((64 * MiB)) /dev/zero >"$T/thuge/src/zeros"
tar -C "$T/thuge/src" -czf "$T/thuge.tar.gz" .
jr "${COMMON[@]}" --profile tiny --memory 32M "$T/thuge.tar.gz"
verdict_is RJ 1 "64 MiB of files under --memory 32M (killed while unpacking): RJ"
like "$(res .message)" "^the unpacked files do not fit in the job's memory limit while unpacking \(32M\)" \
	"the message names the limit"

# ---------------------------------------------------------------- counters the kernel keeps
fresh
jr "${COMMON[@]}" --dir "$W" --memory 32M -- /job/probe mem 128M
verdict_is ML 1 "a 128 MiB hog under --memory 32M: ML"
memsw=$(find /sys/fs/cgroup -maxdepth 2 -name memory.memsw.limit_in_bytes 2>/dev/null | head -n 1)
if [ "$CGV" = 1 ] && [ -n "$memsw" ]; then
	is "$(res '[.memory.oom_kill >= 1, .memory.limit_hits] | @json')" '[true,null]' \
		"v1 with a memsw limit (swap 0): oom_kill >= 1, limit_hits null (the kernel keeps no count)"
	fresh
	jr "${COMMON[@]}" --dir "$W" --profile noswap --memory 32M -- /job/probe mem 128M
	is "$(res '[.verdict, .memory.limit_hits >= 1] | @json')" '["ML",true]' \
		"v1 without a memsw limit (swap unlimited): limit_hits counts ($(res .memory.limit_hits))"
else
	is "$(res .memory.limit_hits)" null "limit_hits is null here (v$CGV$([ "$CGV" = 1 ] && echo ", no memsw"))"
	skip "v1 without a memsw limit: limit_hits counts" "cgroup v$CGV here"
fi
# I/O counters: 4 MiB of O_DIRECT writes into a --dir on the limited disk. v1 blkio keeps its
# statistics only where throttling is at work (6.1: in cgroups with a rule of their own; later
# kernels: on disks where some cgroup has one): without a limit of the job's own, null.
IOW=""
if [ -n "$IODEV" ] && [ -n "${IOBIND[*]}" ]; then
	IOW=$VMTEST_DISK_MNT/jobrun-65-$$
	mkdir -p "$IOW" && CLEANUPS+=("rm -rf '$IOW'")
elif [ -n "$IODEV" ] && [ "$(whole_disk "$(findmnt -n -o MAJ:MIN -T "$T" | tr -d ' ')")" = "$IODEV" ]; then
	IOW=$T/iow
	mkdir -p "$IOW"
fi
if [ -n "$IOW" ]; then
	chmod 0777 "$IOW"
	rm -f "$IOW/f"
	jr "${COMMON[@]}" --profile noswap --dir "$IOW" --io-write-bps 1G -- "$BIN/probe" dio /job/f 4M
	cmp_ok "$(res .io.write_bytes)" -ge $((4 * MiB)) \
		"with I/O limits: io.write_bytes counts 4 MiB written ($(res .io.write_bytes))"
	rm -f "$IOW/f"
	jr "${COMMON[@]}" --profile noswap --dir "$IOW" -- "$BIN/probe" dio /job/f 4M
	if [ "$CGV" = 1 ]; then
		is "$(res '[.verdict, .io.write_bytes, .io.read_ops] | @json')" '["OK",null,null]' \
			"v1 without I/O limits: the io counters are null, not a 0 the kernel did not count"
	else
		cmp_ok "$(res .io.write_bytes)" -ge $((4 * MiB)) \
			"v2 without I/O limits: io.write_bytes counts them too ($(res .io.write_bytes))"
	fi
else
	skip "with I/O limits: io.write_bytes counts 4 MiB written" "no writable directory on a disk here"
	skip "without I/O limits: io counters null on v1, counted on v2" "no writable directory on a disk here"
fi

# ---------------------------------------------------------------- nothing left behind
left=$(find /sys/fs/cgroup -mindepth 2 -maxdepth 12 -type d -path '*/jobrun/job-*' 2>/dev/null |
	awk -F/job- -v lo="$UID_BASE" -v hi="$PIN_END" '$NF >= lo && $NF < hi')
is "$left" "" "no job cgroup of this file's uids is left"
final_checks
done_testing
