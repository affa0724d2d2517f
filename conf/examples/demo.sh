#!/bin/sh
# `make demo`: pack the example job (conf/examples/hello: run.sh and its job.conf) into a
# tarball, run it with jobrun end to end, print the result and the output it left behind.
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: jobrun creates namespaces, mounts and cgroups: run it as root" \
		"(make demo in a root shell, or sudo make demo)" >&2
	exit 1
fi
work=$(mktemp -d /var/tmp/jobrun-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
tar -C "$here/hello" -czf "$work/hello.tar.gz" run.sh job.conf
echo "== jobrun run --output-dir $work/out $work/hello.tar.gz"
status=0
"$build/jobrun" run --output-dir "$work/out" --result "$work/result.json" \
	"$work/hello.tar.gz" || status=$?
echo "== result (exit status $status):"
cat "$work/result.json"
echo "== the job's output, copied out of its workspace: $(cat "$work/out/answer.txt")"
exit "$status"
