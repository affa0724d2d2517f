#!/bin/bash
# 82-fetch: job tarballs by URL (jobrun-fetch, the libcurl helper), against a real HTTP(S)
# server on loopback (tests/helpers/httpd.py) that this file starts and stops: an OK job by
# http and https (a CA and certificates made here), the jobrun.conf allow-list (host, host:port,
# none at all), a 1 GiB body under a 64 MiB cap (with and without Content-Length: RJ, nothing
# staged, the disk untouched), lying Content-Lengths, redirects to an allowed host and to one
# that is not, a refused connection, a server that never answers, TLS with the wrong CA and the
# wrong name, file:// URLs, `jobrun submit URL` through `jobrun serve`, jobrun.conf's errors;
# and that the jobrun binary itself links no libcurl (start-up cost). Traffic to 127.0.0.1 only.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
HTTPD=$(cd "$(dirname "$0")/../helpers" && pwd)/httpd.py
FETCH=$(dirname "$JOBRUN")/jobrun-fetch
if [ ! -x "$PY" ] || [ ! -f "$HTTPD" ]; then
	echo "Bail out! $PY or $HTTPD is missing (make deps)"
	exit 1
fi
if [ ! -x "$FETCH" ]; then
	echo "Bail out! $FETCH is not built (make all)"
	exit 1
fi

CONF=$T/jobrun.conf
RT=$T/rt            # this file's runtime dir: its workspaces (the staging area) are here
STATE=$T/state
FILES=$T/files      # what the server serves under /files/
SOCK=$T/serve.sock
mkdir -p "$RT" "$STATE" "$FILES"
chmod 0700 "$RT"
SRV_PIDS=()
SERVE_PID=

cleanup_fetch() {
	local p
	[ -n "$SERVE_PID" ] && kill -KILL "$SERVE_PID" 2>/dev/null
	for p in "${SRV_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	true
}
CLEANUPS+=(cleanup_fetch)

# start_srv NAME [httpd.py options]: a server on 127.0.0.1 serving $FILES; its port in SPORT
start_srv() {
	local name=$1
	shift
	rm -f "$T/$name.port"
	"$PY" "$HTTPD" --port-file "$T/$name.port" --pid-file "$T/$name.pid" --root "$FILES" \
		--log "$T/$name.log" "$@" >"$T/$name.out" 2>&1 </dev/null &
	SRV_PIDS+=($!)
	disown $! # killed on purpose at the end: no "Killed" from this shell
	if ! wait_for $((5 * SLOW)) test -s "$T/$name.port"; then
		echo "Bail out! the server $name did not start: $(head -c 500 "$T/$name.out")"
		exit 1
	fi
	SPORT=$(cat "$T/$name.port")
}

# write_conf FETCH_LINES...: this file's jobrun.conf with a fetch { } section of those lines
# (none: no fetch section at all)
write_conf() {
	{
		cat <<EOF
runtime_dir = "$RT"
state_dir = "$STATE"
uid_base = "$PRIV_BASE"
uid_count = "$PRIV_COUNT"
serve {
	slots = 2
	grace = "3s"
}
EOF
		if [ $# -gt 0 ]; then
			printf 'fetch {\n'
			printf '\t%s\n' "$@"
			printf '}\n'
		fi
	} >"$CONF.new"
	chmod 0644 "$CONF.new"
	mv -f "$CONF.new" "$CONF"
}

# rf URL [run options]: jobrun run with this file's conf on that archive (jr: $RES, $RC, $MS)
rf() {
	local url=$1
	shift
	jr --config "$CONF" "$@" "$url"
}
msg() { jq -r .message "$RES" 2>/dev/null; }
verdict() { jq -r .verdict "$RES" 2>/dev/null; }
# the staging area: nothing in the workspaces' directory, no mount under the runtime dir
staging_empty() {
	[ -z "$(find "$RT/ws" -mindepth 1 2>/dev/null | head -1)" ] &&
		! grep -q " $RT/" /proc/self/mountinfo
}
used_kib() { df -k --output=used "$1" | tail -1 | tr -d ' '; }

# ---- the job tarball ----
mkdir -p "$T/job"
echo "fetched and unpacked" >"$T/job/hello.txt"
printf 'command = {"/bin/cat", "hello.txt"}\n' >"$T/job/job.conf"
tar -C "$T/job" -czf "$FILES/job.tar.gz" hello.txt job.conf
cp "$FILES/job.tar.gz" "$FILES/job-noext"

# ---- the hot binary links no libcurl; jobrun-fetch does ----
if readelf -d "$JOBRUN" 2>/dev/null | grep -q 'NEEDED.*libcurl'; then
	not_ok "jobrun does not link libcurl" "$(readelf -d "$JOBRUN" | grep NEEDED)"
else
	c=$(grep -c 'curl_easy_perform\|curl_url_set\|curl_global_init' "$JOBRUN")
	is "$c" 0 "jobrun neither links nor contains libcurl (jobrun-fetch alone does: start-up cost)"
fi
like "$(readelf -d "$FETCH" | grep NEEDED)" 'libcurl' "jobrun-fetch links libcurl (dynamically)"

start_srv plain
P=$SPORT
URL=http://127.0.0.1:$P

# ---- no fetch section: no host is allowed ----
write_conf
rf "$URL/files/job.tar.gz"
verdict_is RJ 1 "no fetch { } in jobrun.conf: a URL is RJ"
like "$(msg)" "^cannot fetch $URL/files/job.tar.gz: no host is allowed \(jobrun.conf: fetch" \
	"... saying no host is allowed"
check "... and nothing is left in staging" staging_empty

# ---- OK by http (allowed explicitly) ----
write_conf 'allow = {"127.0.0.1"}' 'allow_http = true' 'timeout = "4s"' 'connect_timeout = "2s"'
rf "$URL/files/job.tar.gz"
verdict_is OK 0 "a job tarball by http:// URL: OK"
is "$(cat "$OUT")" "fetched and unpacked" "... its job config ran on its unpacked file"
is "$(jq -r .archive.entries "$RES")" 2 "... the result counts the archive's 2 entries"
check "... and nothing is left in staging" staging_empty
rf "$URL/files/job-noext"
verdict_is OK 0 "a URL without a tarball's extension is an archive all the same"
jr --config "$CONF" "$URL/files/job.tar.gz" -- /bin/echo replaced
is "$(cat "$OUT")" "replaced" "a URL, then -- CMD: the command line's command runs"
rf "file://$FILES/job.tar.gz"
verdict_is OK 0 "file:///PATH: the local path (no fetch, no allow-list)"
rf "file://otherhost$FILES/job.tar.gz"
is "$RC" 2 "file://otherhost/PATH: a usage error (exit 2)"
like "$(cat "$JERR")" "file:// URL must name a local path" "... saying so"

# ---- http only where allowed; the host allow-list ----
write_conf 'allow = {"127.0.0.1"}' 'timeout = "4s"'
rf "$URL/files/job.tar.gz"
verdict_is RJ 1 "http:// without allow_http = true: RJ"
like "$(msg)" "^cannot fetch $URL/files/job.tar.gz: http:// not allowed" "... saying why"
write_conf 'allow = {"localhost", "127.0.0.1:1"}' 'allow_http = true'
rf "$URL/files/job.tar.gz"
verdict_is RJ 1 "a host not on the allow-list (another host; the same one on another port): RJ"
is "$(msg)" "cannot fetch $URL/files/job.tar.gz: host 127.0.0.1:$P not allowed (jobrun.conf: fetch { allow })" \
	"... naming the host"
write_conf "allow = {\"127.0.0.1:$P\"}" 'allow_http = true'
rf "$URL/files/job.tar.gz"
verdict_is OK 0 "host:port on the allow-list: OK"

# ---- size: a 1 GiB body under a 64 MiB cap ----
write_conf 'allow = {"127.0.0.1"}' 'allow_http = true' 'timeout = "30s"'
for v in "" "?chunked=1"; do
	what=${v:+ without Content-Length (chunked)}
	what=${what:- with Content-Length 1 GiB}
	u0=$(used_kib "$T")
	u1=$(used_kib /)
	rf "$URL/zero/1073741824$v" --disk 64M
	verdict_is RJ 1 "1 GiB$what, the staging disk 64M: RJ"
	is "$(msg)" "cannot fetch $URL/zero/1073741824$v: larger than the archive limit 64M (the job's staging disk)" \
		"... larger than the archive limit 64M"
	cmp_ok "$MS" -lt $((15000 * SLOW)) "... at once (${MS} ms): the 1 GiB was not downloaded"
	check "... nothing is left in staging" staging_empty
	d0=$(($(used_kib "$T") - u0))
	d1=$(($(used_kib /) - u1))
	cmp_ok "$((d0 > d1 ? d0 : d1))" -lt 16384 "... and the disk is untouched (${d0} KiB, ${d1} KiB more used)"
done
rf "$URL/zero/1073741824?lie=100000" --disk 64M
verdict_is RJ 1 "1 GiB that declares 100000 bytes: RJ (only the declared bytes are read)"
like "$(msg)" "no command|archive refused|cannot fetch" \
	"... 100000 zero bytes, an empty tar: $(msg)"
cmp_ok "$MS" -lt $((15000 * SLOW)) "... at once (${MS} ms)"
rf "$URL/zero/1000?lie=100000000"
verdict_is RJ 1 "1000 bytes that declare 100 MB: RJ"
like "$(msg)" "^cannot fetch .*: transfer closed with 99999000 bytes remaining" "... curl's reason: $(msg)"
rf "$URL/zero/1000?lie=1073741824" --disk 64M
verdict_is RJ 1 "a Content-Length above the cap: RJ before any byte is read"
like "$(msg)" "larger than the archive limit 64M" "... larger than the archive limit"
check "nothing is left in staging after the size tests" staging_empty

# ---- redirects ----
rf "$URL/redirect?to=$URL/files/job.tar.gz"
verdict_is OK 0 "a redirect to an allowed host: followed, OK"
rf "$URL/redirect?to=/files/job.tar.gz"
verdict_is OK 0 "a relative redirect: followed, OK"
rf "$URL/redirect?to=http://evil.example/x.tar"
verdict_is RJ 1 "a redirect to a host not allowed: RJ"
is "$(msg)" "cannot fetch $URL/redirect?to=http://evil.example/x.tar: redirect to host evil.example not allowed (jobrun.conf: fetch { allow })" \
	"... redirect to host evil.example not allowed"
R1="$URL/redirect?to=$URL/files/job.tar.gz"
for i in 1 2 3 4 5 6; do
	R1="$URL/redirect?to=$(jq -rn --arg u "$R1" '$u | @uri')"
done
rf "$R1"
verdict_is RJ 1 "7 redirects in a row: RJ"
like "$(msg)" "more than 5 redirects" "... more than 5 redirects"
rf "$URL/nothere.tar"
verdict_is RJ 1 "404: RJ"
like "$(msg)" "404" "... with the status: $(msg)"

# ---- a refused connection, a server that never answers ----
start_srv gone
PG=$SPORT
kill "$(cat "$T/gone.pid")"
wait_for 5 eval "! kill -0 $(cat "$T/gone.pid") 2>/dev/null"
rf "http://127.0.0.1:$PG/x.tar"
verdict_is RJ 1 "nothing listening: RJ"
is "$(msg)" "cannot fetch http://127.0.0.1:$PG/x.tar: Connection refused" \
	"... cannot fetch URL: Connection refused"
write_conf 'allow = {"127.0.0.1"}' 'allow_http = true' 'timeout = "2s"'
rf "$URL/hang"
verdict_is RJ 1 "a server that never answers: RJ"
like "$(msg)" "^cannot fetch $URL/hang: Operation timed out after (19[0-9]{2}|2[0-9]{3}) milliseconds" \
	"... timed out after 2 s: $(msg)"
cmp_ok "$MS" -lt $((8000 * SLOW)) "... in ${MS} ms"
check "... and nothing is left in staging" staging_empty

# ---- TLS: a CA and certificates made here ----
if command -v openssl >/dev/null; then
	test_ca "$T"
	test_cert "$T" srv "IP:127.0.0.1,DNS:localhost" localhost
	test_cert "$T" wrong "DNS:wrong.example" wrong.example
	chmod 0600 "$T/ca.pem" # root's alone: jobrun reads it, the helper (the job's uid) need not
	start_srv tls --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
	PT=$SPORT
	start_srv tlsw --tls-cert "$T/wrong.pem" --tls-key "$T/wrong.key"
	PW=$SPORT
	write_conf 'allow = {"127.0.0.1"}' "ca_file = \"$T/ca.pem\"" 'timeout = "5s"'
	rf "https://127.0.0.1:$PT/files/job.tar.gz"
	verdict_is OK 0 "https:// with fetch { ca_file } (root's, 0600): OK"
	is "$(cat "$OUT")" "fetched and unpacked" "... the job ran"
	rf "https://127.0.0.1:$PW/files/job.tar.gz"
	verdict_is RJ 1 "https:// to a certificate for another name: RJ"
	like "$(msg)" "^cannot fetch https://127.0.0.1:$PW/files/job.tar.gz: .*(certificate|SSL|match)" \
		"... with curl's reason: $(msg)"
	write_conf 'allow = {"127.0.0.1"}' 'timeout = "5s"'
	rf "https://127.0.0.1:$PT/files/job.tar.gz"
	verdict_is RJ 1 "https:// with a CA not trusted (the system's CAs): RJ"
	like "$(msg)" "^cannot fetch https://127.0.0.1:$PT/files/job.tar.gz: .*(certificate|SSL)" \
		"... with curl's reason: $(msg)"
	write_conf 'allow = {"127.0.0.1"}' 'allow_http = true' "ca_file = \"$T/ca.pem\"" 'timeout = "5s"'
	rf "$URL/redirect?to=https://127.0.0.1:$PT/files/job.tar.gz"
	verdict_is OK 0 "a redirect from http:// to https:// (allowed host, the CA file): OK"
else
	skip "TLS fetches" "openssl is not installed (make deps)"
fi

# ---- jobrun.conf's errors ----
write_conf 'allow = {"https://127.0.0.1/"}'
rf "$URL/files/job.tar.gz"
is "$RC" 2 "fetch { allow } with a URL in it: jobrun.conf is refused (exit 2)"
like "$(cat "$JERR")" "jobrun.conf:[0-9]+: fetch: allow entry \"?https://127.0.0.1/\"?: must be a host" \
	"... naming file:line and the entry"
write_conf 'allow = {"127.0.0.1"}' 'timeout = "soon"'
rf "$URL/files/job.tar.gz"
like "$(cat "$JERR")" "jobrun.conf:[0-9]+: timeout = \"?soon\"?: must be a duration" \
	"fetch { timeout } not a duration: refused, naming file:line"
write_conf 'allow = {"127.0.0.1"}' 'allow_http = maybe'
rf "$URL/files/job.tar.gz"
like "$(cat "$JERR")" "jobrun.conf:[0-9]+: allow_http = \"?maybe\"?: must be true or false" \
	"fetch { allow_http } not a boolean: refused"

# ---- jobrun submit URL through jobrun serve ----
write_conf 'allow = {"127.0.0.1"}' 'allow_http = true' 'timeout = "4s"'
"$JOBRUN" serve --config "$CONF" --socket "$SOCK" >>"$T/serve.log" 2>&1 </dev/null &
SERVE_PID=$!
if wait_for $((10 * SLOW)) test -S "$SOCK"; then
	sub() { timeout -k 2 $((60 * SLOW)) "$JOBRUN" submit --socket "$SOCK" --wait "$@"; }
	sub "$URL/files/job.tar.gz" >"$T/s1.json" 2>"$T/s1.err"
	is "$?:$(jq -r .verdict "$T/s1.json" 2>/dev/null)" "0:OK" "jobrun submit --wait URL: serve fetches it, OK"
	keep_result "$T/s1.json"
	sub "$URL/redirect?to=http://evil.example/x.tar" >"$T/s2.json" 2>"$T/s2.err"
	is "$?:$(jq -r .verdict "$T/s2.json" 2>/dev/null)" "1:RJ" "jobrun submit --wait URL redirected to a host not allowed: RJ"
	like "$(jq -r .message "$T/s2.json")" "redirect to host evil.example not allowed" "... saying so"
	keep_result "$T/s2.json"
	# the supervisor's loop is not blocked by a fetch that hangs: another job finishes meanwhile
	timeout -k 2 $((30 * SLOW)) "$JOBRUN" submit --socket "$SOCK" --wait "$URL/hang" \
		>"$T/s3.json" 2>&1 &
	HANG=$!
	sleep 0.3
	t0=$(date +%s%N)
	sub -- /bin/true >"$T/s4.json" 2>/dev/null
	ms=$((($(date +%s%N) - t0) / 1000000))
	is "$(jq -r .verdict "$T/s4.json" 2>/dev/null)" OK "a job submitted while a fetch hangs: OK"
	cmp_ok "$ms" -lt $((3000 * SLOW)) "... in ${ms} ms: the hanging fetch blocks nothing"
	wait "$HANG"
	is "$(jq -r .verdict "$T/s3.json" 2>/dev/null)" RJ "... and the hanging fetch ends RJ (timeout)"
	keep_result "$T/s3.json" "$T/s4.json"
	sub "file://$FILES/job.tar.gz" >"$T/s5.json" 2>"$T/s5.err"
	is "$?:$(jq -r .verdict "$T/s5.json" 2>/dev/null)" "0:OK" "jobrun submit file:///PATH: opened by the client, OK"
	keep_result "$T/s5.json"
	like "$(timeout 10 "$JOBRUN" submit --socket "$SOCK" "$URL/files/job.tar.gz" 2>&1)" \
		'^[0-9a-z]+' "jobrun submit URL without --wait: an id"
else
	not_ok "jobrun serve started" "$(tail -5 "$T/serve.log")"
fi
if [ -n "$SERVE_PID" ]; then
	kill -TERM "$SERVE_PID" 2>/dev/null
	wait_for $((20 * SLOW)) eval '! kill -0 '"$SERVE_PID"' 2>/dev/null' || kill -KILL "$SERVE_PID"
	wait "$SERVE_PID" 2>/dev/null
	SERVE_PID=
fi
check "nothing is left in staging after serve" staging_empty

# ---- a local tarball does not pay for URLs ----
t0=$(date +%s%N)
for i in 1 2 3 4 5 6 7 8 9 10; do
	"$JOBRUN" run --config "$CONF" --uid-range "$UID_BASE:$UID_COUNT" --result /dev/null \
		"$FILES/job.tar.gz" >/dev/null 2>&1 </dev/null
done
ms=$((($(date +%s%N) - t0) / 10000000))
ok "a local tarball job takes ${ms} ms on average (10 runs; jobrun-fetch is never started for a file)"

final_checks
done_testing
