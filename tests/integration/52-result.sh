# 52-result.sh - the result contract (docs/result.md): isolate's meta file (--meta) for OK, RE,
# SG, TO (wall and CPU), ML, OL and RJ jobs reads as isolate's would (keys present and absent,
# values equal to the JSON result's), --meta is refused like --result, and the schema check
# that lib.sh runs on every result of every test file can fail: broken results are caught.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

M=$T/meta
mv_() { # KEY: the meta file's value for KEY, or <absent>
	awk -v k="$1" 'index($0, k ":") == 1 { print substr($0, length(k) + 2); f = 1; exit }
		END { if (!f) print "<absent>" }' "$M" 2>/dev/null || echo "<no meta>"
}
keys() { # the meta file's keys, in order, space-separated
	cut -d: -f1 "$M" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'
}
# the keys every job that ran has: time, time-wall, max-rss, the switches, cg-mem where the
# memory cgroup gave a peak
base_keys() {
	local k="time time-wall max-rss csw-voluntary csw-forced"
	[ "$(res .memory.peak_bytes)" != null ] && k="$k cg-mem"
	echo "$k"
}
# The figures agree with the JSON result (3 decimals; KiB).
figures_agree() { # WHAT
	local want_time want_wall want_rss want_mem got
	want_time=$(res '.cpu.seconds // (.rusage.user_seconds + .rusage.system_seconds)')
	want_wall=$(res .wall_seconds)
	want_rss=$(res '.rusage.max_rss_bytes / 1024 | floor')
	want_mem=$(res 'if .memory.peak_bytes == null then "<absent>" else (.memory.peak_bytes / 1024 | floor) end')
	got="$(mv_ time) $(mv_ time-wall) $(mv_ max-rss) $(mv_ cg-mem) $(mv_ csw-voluntary) $(mv_ csw-forced)"
	if awk -v t="$(mv_ time)" -v wt="$want_time" -v w="$(mv_ time-wall)" -v ww="$want_wall" \
		'BEGIN { d1 = t - wt; d2 = w - ww; exit !(d1 < 0.0015 && d1 > -0.0015 && d2 < 0.0015 && d2 > -0.0015) }' &&
		[ "$(mv_ max-rss)" = "$want_rss" ] && [ "$(mv_ cg-mem)" = "$want_mem" ] &&
		[ "$(mv_ csw-voluntary)" = "$(res .rusage.voluntary_context_switches)" ] &&
		[ "$(mv_ csw-forced)" = "$(res .rusage.involuntary_context_switches)" ] &&
		[[ "$(mv_ time)" =~ ^[0-9]+\.[0-9]{3}$ ]] && [[ "$(mv_ time-wall)" =~ ^[0-9]+\.[0-9]{3}$ ]]; then
		ok "$1: time, time-wall (3 decimals), max-rss, cg-mem (KiB), csw-* are the JSON result's"
	else
		not_ok "$1: time, time-wall (3 decimals), max-rss, cg-mem (KiB), csw-* are the JSON result's" \
			"meta: $got" "json: $want_time $want_wall $want_rss $want_mem $(res .rusage.voluntary_context_switches) $(res .rusage.involuntary_context_switches)" \
			"$(cat "$M")"
	fi
}
jm() { # jobrun options -- probe args: jrwo with --meta $M
	rm -f "$M"
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	jrwo --meta "$M" "${opts[@]}" "$@"
}

# ---------------------------------------------------------------- OK
jm -- exit 0
verdict_is OK 0 "OK job"
is "$(keys)" "$(base_keys) exitcode" "OK: the meta file has exactly the figures and exitcode (no status, message, killed)"
is "$(mv_ exitcode)" 0 "OK: exitcode:0"
figures_agree OK
is "$(stat -c %a:%u "$M")" 644:0 "the meta file is a regular file of root's (written like --result)"

# ---------------------------------------------------------------- RE
jm -- exit 3
verdict_is RE 1 "RE job (exit 3)"
is "$(keys)" "$(base_keys) exitcode status message" "RE: exitcode, status, message; no exitsig, no killed"
is "$(mv_ exitcode):$(mv_ status):$(mv_ message)" "3:RE:Exited with error status 3" "RE: exitcode:3 status:RE and isolate's message"
figures_agree RE

# ---------------------------------------------------------------- SG
jm -- segv
verdict_is SG 1 "SG job (SIGSEGV)"
is "$(keys)" "$(base_keys) exitsig status message" "SG: exitsig, status, message; no exitcode, no killed"
is "$(mv_ exitsig):$(mv_ status)" "11:SG" "SG: exitsig:11 status:SG"
is "$(mv_ message)" "Caught fatal signal 11" "SG: isolate's message"

# ---------------------------------------------------------------- TO
jm --wall-time 500ms -- sleep 100
verdict_is TO 1 "TO job (wall clock)"
is "$(keys)" "$(base_keys) killed status message" "TO (wall): killed, status, message; no exitcode, no exitsig"
is "$(mv_ killed):$(mv_ status)" "1:TO" "TO (wall): killed:1 status:TO"
is "$(mv_ message)" "Time limit exceeded (wall clock)" "TO (wall): isolate's message, which CMS matches"
like "$(mv_ time-wall)" '^[0-9]+\.[0-9]{3}$' "TO (wall): time-wall $(mv_ time-wall)"
awk -v w="$(mv_ time-wall)" 'BEGIN { exit !(w >= 0.5) }' && ok "TO (wall): time-wall >= the 0.5 s limit" ||
	not_ok "TO (wall): time-wall >= the 0.5 s limit" "time-wall:$(mv_ time-wall)"
figures_agree "TO (wall)"

jm --cpu-time 500ms --wall-time "$((10 * SLOW))s" -- burn 0
verdict_is TO 1 "TO job (CPU time)"
is "$(res .limit)" cpu "... limit cpu"
is "$(keys)" "$(base_keys) killed status message" "TO (cpu): killed, status, message"
is "$(mv_ killed):$(mv_ status)" "1:TO" "TO (cpu): killed:1 status:TO"
is "$(mv_ message)" "Time limit exceeded" "TO (cpu): isolate's message"
awk -v t="$(mv_ time)" 'BEGIN { exit !(t >= 0.5) }' && ok "TO (cpu): time >= the 0.5 s limit ($(mv_ time))" ||
	not_ok "TO (cpu): time >= the 0.5 s limit" "time:$(mv_ time)"
figures_agree "TO (cpu)"

# ---------------------------------------------------------------- ML
jm --memory 64M -- mem 256M
verdict_is ML 1 "ML job (256M in 64M)"
is "$(keys)" "$(base_keys) cg-oom-killed exitsig killed status message" \
	"ML: cg-oom-killed, exitsig, killed, status, message; no exitcode"
is "$(mv_ cg-oom-killed):$(mv_ exitsig):$(mv_ killed):$(mv_ status)" "1:9:1:SG" \
	"ML reads as isolate's OOM kill: cg-oom-killed:1 exitsig:9 (killed:1) status:SG"
if [ "$(res .memory.peak_bytes)" != null ]; then
	cmp_ok "$(mv_ cg-mem)" -ge 60000 "ML: cg-mem is about the 64M limit, in KiB ($(mv_ cg-mem))"
else
	skip "ML: cg-mem is about the 64M limit" "no memory peak counter here"
fi
figures_agree ML

# ---------------------------------------------------------------- OL, RJ
jm --output-limit 1K -- flood 100000
verdict_is OL 1 "OL job"
is "$(mv_ status):$(mv_ exitcode)" "RE:0" "OL: status:RE (isolate has no output limit), the job's own exitcode:0"
is "$(mv_ message)" "$(res .message)" "OL: the message says which output"

rm -f "$M"
fresh
jr --dir "$W" --meta "$M" -- /job/nonexistent
verdict_is RJ 1 "RJ job (no such command)"
is "$(mv_ status)" XX "RJ: status:XX (isolate's verdict when it cannot run the program)"
unlike "$(keys)" 'exitcode|exitsig|killed' "RJ: no exitcode, exitsig or killed"
is "$(mv_ message)" 'execve("/job/nonexistent"): No such file or directory' \
	"RJ: the message is isolate's execve text (Judge0 matches it), from the result's"

# ---------------------------------------------------------------- the caller-path rule
mkdir -p "$T/pub"
chmod 0777 "$T/pub"
setpriv --reuid=65534 --regid=65534 --clear-groups ln -s /etc/hostname "$T/pub/m"
before=$(cat /etc/hostname)
rm -f "$M"
fresh
jr --dir "$W" --meta "$T/pub/m" -- /job/probe exit 0
is "$RC" 2 "--meta at another user's symlink: refused, exit status 2"
like "$(cat "$JERR")" '--meta' "... naming --meta"
is "$(cat /etc/hostname)" "$before" "... and the symlink's target is untouched"
jr --meta "" -- /bin/true
is "$RC" 2 "--meta '' is a usage error"

# ---------------------------------------------------------------- the schema check can fail
fresh
jr --dir "$W" -- /job/probe exit 0
good=$T/good.json
cp "$RES" "$good"
# the broken copies live where lib.sh's end-of-file sweep does not take them for results
mkdir -p "$T/not-results"
jq '.wall_seconds = "1.5"' "$good" >"$T/not-results/bad-type.json"
jq '.verdict = "OKAY"' "$good" >"$T/not-results/bad-enum.json"
jq 'del(.rusage)' "$good" >"$T/not-results/bad-missing.json"
jq '.extra = 1' "$good" >"$T/not-results/bad-extra.json"
jq '.verdict = "TO" | .limit = "memory"' "$good" >"$T/not-results/bad-rule.json"
printf '{"version": 1,' >"$T/not-results/bad-json.json"
out=$(/usr/bin/python3 "$RESULT_VALIDATOR" "$good" 2>&1)
is "$?:$out" "0:" "the validator passes a real result"
for b in type enum missing extra rule json; do
	out=$(/usr/bin/python3 "$RESULT_VALIDATOR" "$T/not-results/bad-$b.json" 2>&1)
	rc=$?
	like "$rc:$out" "^1:.*bad-$b\\.json: " "the validator fails a result with a $b error, naming the file"
done
like "$(/usr/bin/python3 "$RESULT_VALIDATOR" "$T/not-results/bad-type.json" 2>&1)" "wall_seconds: '1.5' is not of type 'number'" \
	"... and the key and what is wrong with it"
out=$( (TESTS=0 FAILURES=0; validate_results "hook" "$good" "$T/not-results/bad-type.json") )
like "$out" "^not ok 1 - hook" "lib.sh's validate_results fails when one result of several is bad"
like "$out" "bad-type\\.json: wall_seconds" "... listing the bad file and the validator's error"
# (each in a scratch area of its own, as a test file's T)
bad=$T/not-results/bad-enum.json
out=$( (TESTS=0 FAILURES=0; T=$T/hook; RESULTS_D=$T/results.d; mkdir -p "$RESULTS_D" "$T/hookdir"
	RESULT_DIRS=("$T/hookdir"); cp "$bad" "$T/hookdir/x.json"
	results_validate) )
like "$out" "^not ok 1 - results validate against docs/result.schema.json \\(1 results\\)" \
	"a bad result in a watched directory (serve's STATE_DIR/serve) fails the end-of-file check"
out=$( (TESTS=0 FAILURES=0; T=$T/hook2; RESULTS_D=$T/results.d; mkdir -p "$RESULTS_D" "$T/a/b"
	RESULT_DIRS=(); cp "$bad" "$T/a/b/r.json"; echo '{"x": 1}' >"$T/a/other.json"
	results_validate) )
like "$out" "^not ok 1 - results validate against docs/result.schema.json \\(1 results\\)" \
	"a bad result anywhere in the test's scratch area, never registered, fails it too (other JSON is not taken for a result)"
rm -rf "$T/hook" "$T/hook2"

final_checks
done_testing
