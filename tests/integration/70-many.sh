#!/bin/bash
# 70-many: the job lifecycle driven by another caller than `jobrun run`: 50 jobs started at once
# on one libuv loop in one process (tests/helpers/manyjobs.c), each with its own verdict, the
# loop closing clean (uv_loop_close() == 0) and no descriptor left open; nothing left on the host.
. "$(dirname "$0")/lib.sh"

MANY=$(dirname "$JOBRUN")/manyjobs # beside jobrun: the helpers are found there
if [ ! -x "$MANY" ]; then
	echo "Bail out! $MANY is not built (make all)"
	exit 1
fi
# its own runtime dir (leases there) and a uid range of this file's: 50 jobs need 50 uids
N=50
BASE=$PRIV_BASE
RT=$T/rt
mkdir -p "$RT"
timeout -k 5 $((120 * SLOW)) "$MANY" "$N" "$RT" "$BASE" "$PRIV_COUNT" >"$T/many.tap" 2>"$T/many.err"
rc=$?
while read -r line; do
	case $line in
	"ok "*) ok "${line#ok [0-9]* - }" ;;
	"not ok "*) not_ok "${line#not ok [0-9]* - }" "$(grep '^#' "$T/many.tap" | head -20)" "$(head -c 1000 "$T/many.err")" ;;
	esac
done <"$T/many.tap"
is "$rc" 0 "manyjobs exited 0"
is "$(find "$RT" -mindepth 1 ! -path "$RT/uids*" | sort | tr '\n' ' ')" "$RT/root $RT/scratch " \
	"its runtime dir holds only root/, scratch/ and the leases"
final_checks
done_testing
