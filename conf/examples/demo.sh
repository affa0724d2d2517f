#!/bin/sh
# `make demo`: run the example job in conf/examples/hello end to end and print its result.
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: jobrun creates namespaces and mounts: run as root (sudo make demo)" >&2
	exit 1
fi
work=$(mktemp -d /tmp/jobrun-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
cp "$here/hello/run.sh" "$work/"
chmod 0777 "$work"            # the job runs as an unprivileged uid of its own
chmod 0755 "$work/run.sh"
echo "== jobrun run --dir $work --wall-time 10s -- /bin/sh /job/run.sh"
status=0
"$build/jobrun" run --dir "$work" --wall-time 10s --result "$work/result.json" \
	-- /bin/sh /job/run.sh || status=$?
echo "== result (exit status $status):"
cat "$work/result.json"
echo "== the job left behind in its workspace: $(cat "$work/answer.txt")"
exit "$status"
