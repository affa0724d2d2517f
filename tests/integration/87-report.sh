#!/bin/bash
# 87-report: results POSTed to report targets through the durable outbox (jobrun-report:
# libcurl's multi interface on a libuv loop), against real HTTP(S) receivers on loopback
# (tests/helpers/httpd.py) that this file starts and stops: delivery exactly once, retries with
# growing gaps, a receiver that never answers, TLS (a CA and certificates made here), the
# dead-letter directory, `jobrun serve` killed with undelivered results, 100 jobs at once with a
# slow receiver; and the errors of jobrun.conf's report sections and of a job's report key.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
HTTPD=$(cd "$(dirname "$0")/../helpers" && pwd)/httpd.py
if [ ! -x "$PY" ]; then
	echo "Bail out! $PY is not installed (make deps)"
	exit 1
fi
REPORTER=$(dirname "$JOBRUN")/jobrun-report
if [ ! -x "$REPORTER" ]; then
	echo "Bail out! $REPORTER is not built (make all)"
	exit 1
fi

CONF=$T/jobrun.conf
STATE=$T/state
OUTBOX=$STATE/outbox
DEAD=$STATE/dead-letter
RT=$T/rt
SOCK=$T/serve.sock
mkdir -p "$RT" "$STATE"
chmod 0700 "$RT"
export JOBRUN_SOCKET=$SOCK
RX_PIDS=()
SERVE_PID=

# ---- receivers ----

# start_rx NAME [httpd.py options]: a receiver on 127.0.0.1; its port in RXPORT, log $T/NAME.log
start_rx() {
	local name=$1
	shift
	rm -f "$T/$name.port" "$T/$name.pid"
	"$PY" "$HTTPD" --port-file "$T/$name.port" --pid-file "$T/$name.pid" --log "$T/$name.log" \
		"$@" >"$T/$name.out" 2>&1 </dev/null &
	RX_PIDS+=($!)
	if ! wait_for $((5 * SLOW)) test -s "$T/$name.port"; then
		echo "Bail out! the receiver $name did not start: $(head -c 500 "$T/$name.out")"
		exit 1
	fi
	RXPORT=$(cat "$T/$name.port")
}
stop_rx() { # NAME
	local pid
	pid=$(cat "$T/$1.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$T/$1.pid"
}
# a port nothing listens on now (a receiver started and stopped)
free_port() {
	start_rx probe-port
	stop_rx probe-port
	echo "$RXPORT"
}
# posts NAME KEY [STATUS]: how many POSTs receiver NAME got with Idempotency-Key KEY
# (answered STATUS, or any)
posts() {
	[ -f "$T/$1.log" ] || { echo 0; return; }
	jq -s --arg k "$2" --arg s "${3:-}" \
		'[.[] | select(.method == "POST" and .idempotency_key == $k and
		  ($s == "" or (.status | tostring) == $s))] | length' "$T/$1.log"
}
posts_are() { [ "$(posts "$1" "$2" "${4:-}")" -eq "$3" ]; }

reporter_pid() { cat "$OUTBOX/.lock" 2>/dev/null | head -1; }
reporter_alive() { local p; p=$(reporter_pid); [ -n "$p" ] && kill -0 "$p" 2>/dev/null && grep -q jobrun-report "/proc/$p/cmdline" 2>/dev/null; }
kill_reporter() {
	local p
	p=$(reporter_pid)
	if [ -n "$p" ] && grep -q jobrun-report "/proc/$p/cmdline" 2>/dev/null; then
		kill -KILL "$p" 2>/dev/null
		wait_for 5 eval '! kill -0 '"$p"' 2>/dev/null'
	fi
}
outbox_entries() { find "$OUTBOX" -maxdepth 1 -name '*.json' 2>/dev/null | wc -l; }
outbox_empty() { [ "$(outbox_entries)" -eq 0 ]; }

cleanup_report() {
	local p
	[ -n "$SERVE_PID" ] && kill -KILL "$SERVE_PID" 2>/dev/null
	kill_reporter
	for p in "${RX_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	# reporters of this file's outbox that no longer hold the lock
	pkill -KILL -f "jobrun-report.*--config $CONF" 2>/dev/null
	true
}
CLEANUPS+=(cleanup_report)

# write_conf TARGET_SECTIONS...: this file's jobrun.conf with those report sections
write_conf() {
	{
		cat <<EOF
runtime_dir = "$RT"
state_dir = "$STATE"
uid_base = "$PRIV_BASE"
uid_count = "$PRIV_COUNT"
serve {
	slots = 4
	grace = "3s"
}
EOF
		printf '%s\n' "$@"
	} >"$CONF.new"
	chmod 0644 "$CONF.new"
	mv -f "$CONF.new" "$CONF"
}
target() { # NAME URL [KEY = VALUE lines...]
	local name=$1 url=$2
	shift 2
	printf 'report %s {\n\turl = "%s"\n' "$name" "$url"
	printf '\t%s\n' "$@"
	printf '}\n'
}

# rj [run options] -- CMD: jobrun run with this file's conf; result in $RES, status in $RC, MS
rj() {
	local t0
	rm -f "$RES"
	t0=$(date +%s%N)
	timeout -k 2 "$JR_TIMEOUT" "$JOBRUN" run --config "$CONF" --result "$RES" "$@" \
		>"$JOUT" 2>"$JERR" </dev/null
	RC=$?
	MS=$((($(date +%s%N) - t0) / 1000000))
	keep_result "$RES"
}
rid() { jq -r .id "$RES" 2>/dev/null; }

# ---- the binary that runs every job links no libcurl ----
if readelf -d "$JOBRUN" 2>/dev/null | grep -q 'libcurl'; then
	not_ok "jobrun does not link libcurl" "$(readelf -d "$JOBRUN" | grep NEEDED)"
else
	c=$(grep -c 'curl_easy_perform\|curl_multi_socket_action' "$JOBRUN")
	is "$c" 0 "jobrun links no libcurl (jobrun-report alone does: start-up cost)"
fi
check "jobrun-report links libcurl" sh -c "readelf -d '$REPORTER' | grep -q libcurl"

# ---- jobrun.conf: report sections are checked, errors name file:line:key ----
conf_err() { # DESCRIPTION ERE SECTION...
	local d=$1 ere=$2
	shift 2
	write_conf "$@"
	rj -- /bin/true
	if [ "$RC" -eq 2 ] && grep -Eq "$ere" "$JERR"; then
		ok "$d"
	else
		not_ok "$d" "rc=$RC" "$(head -3 "$JERR")"
	fi
}
conf_err "a report section without url is refused" "jobrun.conf:[0-9]+: report r: url = .* is missing" \
	'report r {' '	timeout = 5s' '}'
conf_err "a url that is not http(s) is refused" "jobrun.conf:[0-9]+: report r: url = \"?ftp://x/\"? must start with https:// or http://" \
	"$(target r ftp://x/)"
conf_err "a url with credentials is refused" "report r: url = .* holds credentials" \
	"$(target r https://u:p@127.0.0.1/)"
conf_err "tls_verify must be yes or no" "jobrun.conf:[0-9]+: report r: tls_verify = \"?maybe\"?: must be" \
	"$(target r https://127.0.0.1/ 'tls_verify = maybe')"
conf_err "a bad duration names the key" "jobrun.conf:[0-9]+: report r: timeout = \"?soon\"?: must be a duration" \
	"$(target r https://127.0.0.1/ 'timeout = soon')"
conf_err "an unknown key in a report section is refused" "jobrun.conf:[0-9]+: unknown key 'urll' in section report" \
	"$(target r https://127.0.0.1/ 'urll = x')"
conf_err "two report sections of one name are refused" "jobrun.conf:[0-9]+: a section titled 'r' is given twice" \
	"$(target r https://127.0.0.1/)" "$(target r https://127.0.0.2/)"

# ---- a job chooses a target by name only ----
start_rx rx1
P1=$RXPORT
echo "s3cret-token" >"$T/token"
chmod 0600 "$T/token"
write_conf "$(target rx1 "http://127.0.0.1:$P1/results" 'retry_min = 200ms' 'retry_max = 1s' \
	"bearer_token_file = \"$T/token\"")"

rj --report nope -- /bin/true
is "$RC" 2 "--report naming no target: a usage error (exit 2), like any bad option"
like "$(cat "$JERR")" "command line: report = \"?nope\"?: no such report target in $CONF" \
	"... and the message names the option and jobrun.conf"
check "... and nothing goes to the outbox" outbox_empty

printf 'command = {"/bin/true"}\nreport = "elsewhere"\n' >"$T/bad.conf"
rj --job-conf "$T/bad.conf"
like "$(jq -r '.verdict + " " + .message' "$RES" 2>/dev/null)" "^RJ --job-conf $T/bad.conf:2: report = \"?elsewhere\"?: no such report target" \
	"a job config's report naming no target: RJ with file:line"
printf 'command = {"/bin/true"}\nreport = "https://evil.example/"\n' >"$T/url.conf"
rj --job-conf "$T/url.conf"
like "$(jq -r '.verdict + " " + .message' "$RES" 2>/dev/null)" "^RJ .*url.conf:2: report" \
	"a job config cannot give a URL as its report target: RJ"
check "... and nothing goes to the outbox" outbox_empty

rj --report rx1 -- /bin/echo hello
ID1=$(rid)
is "$RC $(jq -r .verdict "$RES")" "0 OK" "a job with --report rx1 ends OK at once"
if wait_for $((10 * SLOW)) posts_are rx1 "$ID1" 1 200; then
	ok "its result is POSTed to rx1 with Idempotency-Key = the job id"
else
	not_ok "its result is POSTed to rx1 with Idempotency-Key = the job id" "$(cat "$T/rx1.log" 2>/dev/null)" "$(cat "$OUTBOX/report.log" 2>/dev/null)"
fi
line=$(jq -c --arg k "$ID1" 'select(.idempotency_key == $k)' "$T/rx1.log" | head -1)
is "$(jq -r .authorization <<<"$line")" "Bearer s3cret-token" "... with the bearer token read from bearer_token_file"
is "$(jq -r .content_type <<<"$line")" "application/json" "... as application/json"
want=$(sha256sum <"$RES" | cut -d' ' -f1)
is "$(jq -r .body_sha256 <<<"$line")" "$want" "... and the body is the result file, byte for byte"
check "the outbox is empty after the 2xx" wait_for 5 outbox_empty
check "the reporter that jobrun run started exits once the outbox is empty" wait_for $((5 * SLOW)) eval '! reporter_alive'

# the job config chooses it
printf 'command = {"/bin/echo", "x"}\nreport = "rx1"\n' >"$T/good.conf"
rj --job-conf "$T/good.conf"
ID=$(rid)
check "a job config's report = \"rx1\" is delivered too" wait_for $((10 * SLOW)) posts_are rx1 "$ID" 1 200

# ---- 500, 500, 500, then 200: the fourth try, with growing gaps ----
start_rx rx5 --responses 500,500,500,200
write_conf "$(target rx5 "http://127.0.0.1:$RXPORT/r" 'retry_min = 400ms' 'retry_max = 10s')"
rj --report rx5 -- /bin/true
ID=$(rid)
if wait_for $((15 * SLOW)) posts_are rx5 "$ID" 1 200; then
	ok "answered 500 three times then 200: delivered"
else
	not_ok "answered 500 three times then 200: delivered" "$(cat "$T/rx5.log")" "$(tail -5 "$OUTBOX/report.log")"
fi
is "$(posts rx5 "$ID")" 4 "... on the fourth try, no fifth"
# (no process substitution: the VM lane has no /dev/fd)
jq -r --arg k "$ID" 'select(.idempotency_key == $k) | .t' "$T/rx5.log" >"$T/rx5.times"
mapfile -t ts <"$T/rx5.times"
if [ "${#ts[@]}" -eq 4 ]; then
	gaps=$(awk -v a="${ts[0]}" -v b="${ts[1]}" -v c="${ts[2]}" -v d="${ts[3]}" \
		'BEGIN { printf "%d %d %d", (b - a) * 1000, (c - b) * 1000, (d - c) * 1000 }')
	read -r g1 g2 g3 <<<"$gaps"
	# gap k is drawn from [2^(k-1) * 400ms / 2, 2^(k-1) * 400ms): the ranges do not overlap
	if [ "$g1" -ge 150 ] && [ "$g2" -gt $((g1 - 30)) ] && [ "$g3" -gt $((g2 - 30)) ] && [ "$g3" -gt "$g1" ]; then
		ok "... with growing gaps ($g1, $g2, $g3 ms)"
	else
		not_ok "... with growing gaps" "gaps: $g1 $g2 $g3 ms"
	fi
else
	not_ok "... with growing gaps" "attempts seen: ${#ts[@]}"
fi

# ---- receiver down when the job ends, up 5 s later: exactly once ----
PD=$(free_port)
write_conf "$(target down "http://127.0.0.1:$PD/r" 'retry_min = 300ms' 'retry_max = 1s')"
rj --report down -- /bin/echo later
ID=$(rid)
is "$RC" 0 "receiver down: the job is not held up (exit 0 in ${MS} ms)"
is "$(outbox_entries)" 1 "... its result waits in the outbox"
f=$(find "$OUTBOX" -maxdepth 1 -name 'down@*.json' | head -1)
is "$(jq -r .id "$f" 2>/dev/null)" "$ID" "... as the result itself (the outbox file is the result)"
is "$(stat -c %a "$f" 2>/dev/null)" 600 "... readable by root only"
sleep 5
start_rx down --port "$PD"
check "up 5 s later: delivered" wait_for $((10 * SLOW)) posts_are down "$ID" 1 200
sleep 2
is "$(posts down "$ID")" 1 "... exactly once"
check "... and the outbox is empty" outbox_empty
like "$(cat "$OUTBOX/report.log")" "job $ID to down: attempt 1 failed: .*(Connection refused|Couldn't connect)" \
	"the reporter's log says why the first attempts failed"

# ---- a receiver that accepts and never answers: timeout, retry, nothing stuck ----
start_rx hang --hang
PH=$RXPORT
write_conf "$(target hang "http://127.0.0.1:$PH/r" 'timeout = 1s' 'retry_min = 300ms' 'retry_max = 1s')"
rj -- /bin/true
base=$MS
rj --report hang -- /bin/true
ID=$(rid)
cmp_ok "$MS" -lt $((base + 2000 * SLOW)) "a hanging receiver does not hold the job up ($MS ms, $base ms without a report)"
check "... the attempt times out and is retried" wait_for $((10 * SLOW)) eval '[ "$(posts hang '"$ID"')" -ge 2 ]'
like "$(cat "$OUTBOX/report.log")" "job $ID to hang: attempt 1 failed: .*(timed out|Timeout)" \
	"... and the log says it timed out"
stop_rx hang
start_rx hang --port "$PH"
check "... delivered once the receiver answers again" wait_for $((10 * SLOW)) posts_are hang "$ID" 1 200
check "... and the outbox is empty" wait_for 5 outbox_empty

# ---- permanent refusals and give_up: the dead-letter directory ----
start_rx rx400 --responses 400
PD2=$(free_port)
write_conf "$(target rx400 "http://127.0.0.1:$RXPORT/r")" \
	"$(target gone "http://127.0.0.1:$PD2/r" 'retry_min = 200ms' 'retry_max = 500ms' 'give_up = 2s')"
rj --report rx400 -- /bin/true
ID=$(rid)
check "a 400 answer is not retried: the result goes to the dead-letter directory" \
	wait_for $((10 * SLOW)) eval 'ls '"$DEAD"'/rx400@*.json >/dev/null 2>&1'
is "$(posts rx400 "$ID")" 1 "... after one attempt"
like "$(cat "$DEAD"/rx400@*.json.why 2>/dev/null)" "answered HTTP 400" "... with the reason beside it"
rj --report gone -- /bin/true
ID=$(rid)
check "a receiver down for longer than give_up: dead-letter" \
	wait_for $((10 * SLOW)) eval 'ls '"$DEAD"'/gone@*.json >/dev/null 2>&1'
like "$(cat "$DEAD"/gone@*.json.why 2>/dev/null)" "older than give_up \(2 s\)" "... saying why"
like "$(cat "$OUTBOX/report.log")" "gave up on job $ID for gone after [0-9]+ attempt" "... and the log says so"
is "$(jq -r .id "$DEAD"/gone@*.json 2>/dev/null)" "$ID" "... and the result is kept there whole"
check "... and the outbox is empty" outbox_empty

# ---- TLS: a CA and certificates made here ----
if command -v openssl >/dev/null; then
	test_ca "$T"
	test_cert "$T" srv "IP:127.0.0.1,DNS:localhost" localhost
	test_cert "$T" wrong "DNS:wrong.example" wrong.example
	test_cert "$T" client "DNS:client" jobrun-client
	start_rx tls --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
	PT=$RXPORT
	start_rx tlsw --tls-cert "$T/wrong.pem" --tls-key "$T/wrong.key"
	PW=$RXPORT
	start_rx tlsc --tls-cert "$T/srv.pem" --tls-key "$T/srv.key" --client-ca "$T/ca.pem"
	PC=$RXPORT
	write_conf "$(target tls "https://127.0.0.1:$PT/r" "ca_file = \"$T/ca.pem\"")" \
		"$(target tlsw "https://127.0.0.1:$PW/r" "ca_file = \"$T/ca.pem\"" 'retry_min = 200ms' 'give_up = 1500ms')" \
		"$(target noca "https://127.0.0.1:$PT/r" 'retry_min = 200ms' 'give_up = 1500ms')" \
		"$(target tlsc "https://127.0.0.1:$PC/r" "ca_file = \"$T/ca.pem\"" "client_cert = \"$T/client.pem\"" "client_key = \"$T/client.key\"")"
	rj --report tls -- /bin/true
	ID=$(rid)
	check "https with the test CA: delivered" wait_for $((10 * SLOW)) posts_are tls "$ID" 1 200
	rj --report tlsw -- /bin/true
	ID=$(rid)
	check "https to a certificate for another name: not delivered (dead-letter after give_up)" \
		wait_for $((10 * SLOW)) eval 'ls '"$DEAD"'/tlsw@*.json >/dev/null 2>&1'
	is "$(posts tlsw "$ID")" 0 "... the receiver never got the result"
	like "$(grep "job $ID" "$OUTBOX/report.log")" "(no alternative certificate subject name matches|does not match|certificate subject name)" \
		"... and the log says the name does not match"
	rj --report noca -- /bin/true
	ID=$(rid)
	check "https signed by a CA the target does not trust: not delivered" \
		wait_for $((10 * SLOW)) eval 'ls '"$DEAD"'/noca@*.json >/dev/null 2>&1'
	like "$(grep "job $ID" "$OUTBOX/report.log")" "(certificate|SSL)" "... and the log says why"
	rj --report tlsc -- /bin/true
	ID=$(rid)
	check "https with a client certificate: delivered" wait_for $((10 * SLOW)) posts_are tlsc "$ID" 1 200
	is "$(jq -r --arg k "$ID" 'select(.idempotency_key == $k) | .client_cert' "$T/tlsc.log" | head -1)" \
		jobrun-client "... and the receiver saw the client certificate"
else
	skip "TLS delivery" "openssl is not installed (make deps)"
fi
kill_reporter

# ---- jobrun serve: killed with undelivered results, restarted: all delivered ----
start_serve() {
	"$JOBRUN" serve --config "$CONF" --socket "$SOCK" >>"$T/serve.log" 2>&1 </dev/null &
	SERVE_PID=$!
	wait_for $((10 * SLOW)) test -S "$SOCK" &&
		wait_for $((10 * SLOW)) eval '"$JOBRUN" status >/dev/null 2>&1'
}
stop_serve() {
	[ -n "$SERVE_PID" ] || return 0
	kill -TERM "$SERVE_PID" 2>/dev/null
	wait_for $((20 * SLOW)) eval '! kill -0 '"$SERVE_PID"' 2>/dev/null' || kill -KILL "$SERVE_PID"
	wait "$SERVE_PID" 2>/dev/null
	SERVE_PID=
}
submit() { timeout -k 2 $((60 * SLOW)) "$JOBRUN" submit "$@"; }

PS=$(free_port)
write_conf "$(target srx "http://127.0.0.1:$PS/r" 'retry_min = 300ms' 'retry_max = 1s')"
start_serve || echo "# serve did not start: $(tail -3 "$T/serve.log")"
check "jobrun serve keeps a jobrun-report running" wait_for $((5 * SLOW)) reporter_alive
RPID=$(reporter_pid)
IDS=()
for i in 1 2 3 4 5; do
	submit --wait --report srx --result "$T/s$i.json" -- /bin/echo "$i" >/dev/null 2>&1
	IDS+=("$(jq -r .id "$T/s$i.json" 2>/dev/null)")
done
is "$(jq -s -r 'map(.verdict) | join(" ")' "$T"/s[1-5].json)" "OK OK OK OK OK" \
	"5 jobs through serve with --report: their results come back at once (receiver down)"
is "$(outbox_entries)" 5 "... and the 5 results wait in the outbox"
# the meta file through serve: jobrun submit --wait --meta writes it from the result it gets
submit --wait --meta "$T/s.meta" --result "$T/s6.json" -- /bin/sh -c 'exit 3' >/dev/null 2>&1
is "$(grep -E '^(exitcode|status|message):' "$T/s.meta" 2>/dev/null | tr '\n' ' ')" \
	"exitcode:3 status:RE message:Exited with error status 3 " \
	"jobrun submit --wait --meta: isolate's meta file of the job (exit 3: RE)"
keep_result "$T/s6.json"
kill -KILL "$SERVE_PID" "$RPID" 2>/dev/null
wait "$SERVE_PID" 2>/dev/null
SERVE_PID=
wait_for 5 eval '! kill -0 '"$RPID"' 2>/dev/null'
start_rx srx --port "$PS" --bodies "$T"
start_serve
n=0
for id in "${IDS[@]}"; do
	wait_for $((15 * SLOW)) posts_are srx "$id" 1 200 && n=$((n + 1))
done
is "$n" 5 "serve and its reporter killed -9, receiver up, serve started again: all 5 delivered"
dup=$(jq -s '[.[] | select(.method == "POST" and .status == 200) | .idempotency_key] | group_by(.) | map(select(length > 1)) | length' "$T/srx.log")
is "$dup" 0 "... each exactly once"
check "... and the outbox is empty" outbox_empty
body=$(ls "$T"/[0-9]*.json 2>/dev/null | head -1)
keep_result "$T"/[0-9]*.json "$T"/s[1-5].json
watch_results "$DEAD"
is "$(jq -r '.submitter.uid' "$body" 2>/dev/null)" 0 "... and a POSTed body is serve's result (with its submitter)"

# ---- 100 jobs finishing at once, a slow receiver: all delivered, jobs not held up ----
# The receiver takes 10 s to answer each POST. If reporting held jobs (a slot, the loop, the
# result), 100 jobs in 4 slots would take 250 s more: they must take about what the same 100
# jobs take without a report target.
stop_rx srx
start_rx slow --delay 10
write_conf "$(target slow "http://127.0.0.1:$RXPORT/r" 'retry_min = 300ms' 'timeout = 60s')"
kill -HUP "$SERVE_PID"
sleep 0.5
N=100
hundred() { # TAG [submit options]: N jobs at once through serve, wait for all; their time in MS
	local tag=$1 t0 i subs=()
	shift
	t0=$(date +%s%N)
	for i in $(seq 1 $N); do
		submit "$@" --id "$tag-$$-$i" -- /bin/true >/dev/null 2>&1 &
		subs+=($!)
	done
	wait "${subs[@]}"
	for i in $(seq 1 $N); do
		timeout $((120 * SLOW)) "$JOBRUN" wait "$tag-$$-$i" >/dev/null 2>&1
	done
	MS=$((($(date +%s%N) - t0) / 1000000))
}
delivered_many() { # (0 while the log is missing or a line is being written)
	local n
	n=$(jq -s --arg p "many-$$-" '[.[] | select(.method == "POST" and .status == 200 and (.idempotency_key | startswith($p)))] | length' "$T/slow.log" 2>/dev/null)
	case $n in '' | *[!0-9]*) echo 0 ;; *) echo "$n" ;; esac
}
hundred plain
plain_ms=$MS
hundred many --report slow
many_ms=$MS
cmp_ok "$many_ms" -lt $((plain_ms * 2 + 5000 * SLOW)) \
	"100 jobs with a receiver that answers in 10 s take what 100 without a report take ($many_ms ms, $plain_ms ms)"
check "... then all 100 are delivered" wait_for $((90 * SLOW)) eval '[ "$(delivered_many)" -eq '"$N"' ]'
dup=$(jq -s '[.[] | select(.method == "POST" and .status == 200) | .idempotency_key] | group_by(.) | map(select(length > 1)) | length' "$T/slow.log")
is "$dup" 0 "... each once"
stop_serve
check "stopping serve stops its reporter" wait_for $((5 * SLOW)) eval '! reporter_alive'

final_checks
done_testing
