#!/bin/bash
# 40-limits: wall-clock limit, output caps, disk, resource limits, and nothing left behind.
. "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------- wall-clock limit
jr --wall-time 1 -- sleep 100
verdict_is TO 1 "sleep 100 with --wall-time 1: verdict TO, jobrun exits 1"
is "$(res .limit)" wall "TO: limit is \"wall\""
like "$(res .message)" 'wall' "TO: the message names the wall-clock limit"
cmp_ok "$MS" -lt $((1000 + 200 * SLOW)) "TO: jobrun returned within 1.2 s (took $MS ms)"
cmp_ok "$MS" -ge 990 "TO: not before the limit (took $MS ms)"
is "$(res "(.wall_seconds >= 1) and (.wall_seconds < 1 + 0.2 * $SLOW)")" true \
	"TO: wall_seconds is between 1 and 1.2 ($(res .wall_seconds))"
is "$(res .limits.wall_seconds)" 1 "TO: limits.wall_seconds is 1"
no_leftovers "TO: no process of the job is left"

# A job whose processes ignore SIGTERM and hide in new sessions, still running at the limit.
fresh
jr --dir "$W" --wall-time 500ms -- /bin/sh -c '/job/probe orphans 3; exec /job/probe sleep 100'
verdict_is TO 1 "daemons + sleep with --wall-time 500ms: TO"
cmp_ok "$MS" -lt $((500 + 500 * SLOW)) "TO: jobrun returned within 1 s (took $MS ms)"
no_leftovers "TO: no daemon of the job is left"

jrwo --wall-time 5 -- sleep 0.2
verdict_is OK 0 "a job that ends before its wall-time is OK"
cmp_ok "$MS" -lt $((2000 * SLOW)) "and jobrun returns when the job ends, not at the limit ($MS ms)"

# ---------------------------------------------------------------- orphans
jrw orphans 6
verdict_is OK 0 "a job leaving 6 signal-ignoring daemons (setsid, double fork) behind: OK"
cmp_ok "$MS" -lt $((3000 * SLOW)) "jobrun does not wait for the daemons (took $MS ms)"
is "$(pv orphans)" 6 "(the probe made its daemons)"
no_leftovers "no daemon survives the job"

# ---------------------------------------------------------------- output limits
"$PROBE" flood 1024 >"$T/flood-1k"
jrwo --output-limit 1K -- flood 100000
verdict_is OL 1 "a 100000-byte flood with --output-limit 1K: verdict OL, jobrun exits 1"
is "$(stat -c %s "$OUT")" 1024 "exactly 1024 bytes reach the stdout file"
check "they are the first 1024 bytes of the flood" cmp -s "$OUT" "$T/flood-1k"
is "$(res '.stdout | [.bytes, .limit, .truncated] | @json')" '[100000,1024,true]' \
	"stdout.bytes counts all 100000 bytes, truncated true"
is "$(res '[.limit, .exit_code] | @json')" '["output",0]' "OL: limit \"output\", the job's exit code kept"
like "$(res .message)" 'output limit.*stdout' "OL: the message names stdout"

jrwo --output-limit 1K -- flood 1024
verdict_is OK 0 "exactly 1024 bytes with --output-limit 1K: OK"
is "$(res '.stdout | [.bytes, .truncated] | @json') $(stat -c %s "$OUT")" '[1024,false] 1024' \
	"all 1024 bytes pass, not truncated"

jrwo --output-limit 2K -- flood 5000 2
verdict_is OL 1 "a stderr flood past the limit: OL"
is "$(stat -c %s "$ERR") $(res '[.stderr.bytes, .stderr.truncated, .stdout.truncated] | @json')" \
	'2048 [5000,true,false]' "stderr capped at 2048, counted 5000; stdout untouched"
like "$(res .message)" 'stderr' "OL: the message names stderr"

jrwo --output-limit 64K -- flood 20000000
verdict_is OL 1 "a 20 MB flood with --output-limit 64K: OL"
is "$(stat -c %s "$OUT") $(res .stdout.bytes)" "65536 20000000" "capped at 64K, all 20 MB counted"

jrwo --output-limit 1K --wall-time 500ms -- sleep 100
verdict_is TO 1 "the wall-clock limit wins over a clean output: TO"

# ---------------------------------------------------------------- disk
fresh
jr --dir "$W" --disk 1M -- /job/probe fill /tmp/big 4000000
is "$(pv fill)" ENOSPC "--disk 1M: writing 4 MB to /tmp fails with ENOSPC"
cmp_ok "$(pv written)" -le 1048576 "--disk 1M: at most 1 MiB went in ($(pv written))"
cmp_ok "$(pv written)" -ge 500000 "--disk 1M: but most of it did"

fresh
jr --dir "$W" --disk 1M -- /bin/sh -c \
	'/job/probe fill /tmp/a 600000 | sed s/^/tmp_/; /job/probe fill /dev/shm/b 600000 | sed s/^/shm_/'
is "$(pv tmp_fill) $(pv shm_fill)" "OK ENOSPC" "/tmp and /dev/shm share the one --disk limit"

mkdir -p "$T/bin"
cp "$PROBE" "$T/bin/probe"
chmod 0755 "$T/bin" "$T/bin/probe"
jr --ro-bind "$T/bin" --disk 1M -- /bin/sh -c \
	"$T/bin/probe fill /job/a 600000 | sed s/^/job_/; $T/bin/probe fill /tmp/b 600000 | sed s/^/tmp_/"
is "$(pv job_fill) $(pv tmp_fill)" "OK ENOSPC" "without --dir, /job shares it too"

jrwo --disk 1M -- fill /job/big 2000000
is "$(pv fill) $(pv written)" "OK 2000000" "--dir is not on the --disk tmpfs"

# ---------------------------------------------------------------- resource limits
jrw rlimits
is "$(pv nofile)" 256:256 "RLIMIT_NOFILE defaults to 256"
is "$(pv core)" 0:0 "core dumps are off"
is "$(pv fsize)" unlimited:unlimited "RLIMIT_FSIZE defaults to unlimited"
jrwo --open-files 64 --stack 16M --file-size 10K -- rlimits
is "$(pv nofile)" 64:64 "--open-files 64"
is "$(pv stack)" 16777216:16777216 "--stack 16M"
is "$(pv fsize)" 10240:10240 "--file-size 10K"
jrwo --file-size 10K -- fill /job/f 20000
is "$(pv fill) $(pv written)" "EFBIG 10240" "--file-size 10K: writes stop at 10240 bytes with EFBIG"
fresh
jr --dir "$W" --file-size 10K -- /bin/sh -c 'exec head -c 20000 /dev/zero >/job/f'
is "$(res '[.verdict, .signal] | @json')" '["SG",25]' "past --file-size a program that does not ignore SIGXFSZ dies: SG 25"

final_checks
done_testing
