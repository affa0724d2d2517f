#!/bin/sh
# test_options - jobrun/run.c's fixed_options[] and the option column of jobreq.c's
# jr_limit_defs[] (one option a limit) are the one definition of `jobrun run`'s long options.
# Every one of them must be in the bash completion (packaging/bash-completion/jobrun: in its list
# of options, and, when it takes a value, in the case that completes the value) and be an item
# of the man page's OPTIONS section (packaging/man/jobrun.1), a row of README's options table and
# a line of `jobrun run --help`; none may offer an option that run.c does not have. TAP on stdout, like the cmocka tests: the Makefile makes
# BUILD/tests/test_options run this file, so tests/run-all.sh runs it with the unit tests.
#   sh tests/unit/test_options.sh [SOURCE_DIR]
set -u
src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
run_c=$src/jobrun/run.c
isolate_c=$src/jobrun/isolate.c
jobreq_c=$src/jobrun/jobreq.c
comp=$src/packaging/bash-completion/jobrun
man=$src/packaging/man/jobrun.1
n=0
failed=0

ok() { # CONDITION_STATUS DESCRIPTION [DIAGNOSTIC]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
}

# missing WORDS FILE_TEXT: the words that are not an option "--word" in the text
missing() {
	for o in $1; do
		printf '%s\n' "$2" | grep -Eq -- "--$o([^a-z0-9-]|\$)" || printf '%s ' "--$o"
	done
}

# extra TEXT: the "--word" tokens of the text that are not options of run.c (nor ALSO)
extra() { # TEXT ALSO
	for o in $(printf '%s\n' "$1" | grep -Eo -- '--[a-z][a-z0-9-]*' | sort -u); do
		case " $opts $2 " in
		*" ${o#--} "*) ;;
		*) printf '%s ' "$o" ;;
		esac
	done
}

for f in "$run_c" "$isolate_c" "$jobreq_c" "$comp" "$man"; do
	if [ ! -r "$f" ]; then
		echo "Bail out! $f is missing"
		exit 1
	fi
done

# fixed_options[]: the lines `{ "name", required_argument|no_argument, NULL, ... },`;
# jr_limit_defs[]: the lines `[JR_L_X] = { "name", "option", ...` (every limit takes a value)
table=$(sed -n '/^static const struct option fixed_options\[\] = {/,/^};/p' "$run_c")
limits=$(sed -n '/^const struct jr_limit_def jr_limit_defs\[JR_L_N\] = {/,/^};/p' "$jobreq_c" |
	sed -n 's/^[[:space:]]*\[JR_L_[A-Z_]*\] = { "[a-z_]*", "\([a-z][a-z0-9-]*\)",.*/\1/p' | tr '\n' ' ')
opts="$(printf '%s\n' "$table" | sed -n 's/^[[:space:]]*{ "\([a-z][a-z0-9-]*\)",.*/\1/p' | tr '\n' ' ')$limits"
valued="$(printf '%s\n' "$table" |
	sed -n 's/^[[:space:]]*{ "\([a-z][a-z0-9-]*\)", required_argument,.*/\1/p' | tr '\n' ' ')$limits"
count=$(echo $opts | wc -w)
[ "$count" -ge 30 ] && [ -n "$valued" ]
ok $? "run.c's options[] read: $count long options" "got: '$opts'"

# the completion: its option list, the value case, and nothing more
list=$(sed -n '/^_jobrun_run_opts="/,/"$/p' "$comp")
m=$(missing "$opts" "$list")
ok "$([ -z "$m" ]; echo $?)" "the bash completion offers every option of run.c" "missing: $m"
cases=$(sed -n '/case \$prev in/,/esac/p' "$comp")
m=$(missing "$valued" "$cases")
ok "$([ -z "$m" ]; echo $?)" "the bash completion knows what value each option that takes one wants" \
	"not in its 'case \$prev in': $m"
# jobrun isolate's long options (isolate.c's iso_options[]): all in the completion's isolate
# list, and in the man page's JOBRUN ISOLATE section; neither offers one isolate.c lacks
iso_opts=$(sed -n '/^static const struct option iso_options\[\] = {/,/^};/p' "$isolate_c" |
	sed -n 's/^[[:space:]]*{ "\([a-z][a-z0-9-]*\)",.*/\1/p' | tr '\n' ' ')
[ "$(echo $iso_opts | wc -w)" -ge 30 ]
ok $? "isolate.c's iso_options[] read: $(echo $iso_opts | wc -w) long options" "got: '$iso_opts'"
ilist=$(sed -n '/^_jobrun_isolate_opts="/,/"$/p' "$comp")
m=$(missing "$iso_opts" "$ilist")
ok "$([ -z "$m" ]; echo $?)" "the bash completion offers every option of jobrun isolate" "missing: $m"
x=$(opts=$iso_opts extra "$ilist" "")
ok "$([ -z "$x" ]; echo $?)" "the bash completion's isolate list has no option isolate.c lacks" \
	"not in isolate.c's iso_options[]: $x"
isec=$(sed 's/\\-/-/g' "$man" | sed -n '/^\.SH JOBRUN ISOLATE/,/^\.SH /p' | sed '$d')
m=$(missing "$iso_opts" "$isec")
ok "$([ -z "$m" ]; echo $?)" "the man page's JOBRUN ISOLATE names every option of jobrun isolate" \
	"missing: $m"
x=$(opts=$iso_opts extra "$isec" "")
ok "$([ -z "$x" ]; echo $?)" "the man page's JOBRUN ISOLATE names no option isolate.c lacks" \
	"not in isolate.c's iso_options[]: $x"

# (besides run's and isolate's options: those of serve, its clients and check --clean)
x=$(extra "$(grep -v '^[[:space:]]*#' "$comp")" \
	"version wait priority socket slots quiet json all exit clean $iso_opts")
ok "$([ -z "$x" ]; echo $?)" "the bash completion offers no option that run.c does not have" \
	"not in run.c's options[]: $x"

# the man page: an item (.BI/.BR line) of OPTIONS for each, no other option in that section
section=$(sed 's/\\-/-/g' "$man" | sed -n '/^\.SH OPTIONS/,/^\.SH /p' | sed '$d')
items=$(printf '%s\n' "$section" | grep -E '^\.B[IR]? ')
m=$(missing "$opts" "$items")
ok "$([ -z "$m" ]; echo $?)" "the man page's OPTIONS has an item for every option of run.c" \
	"missing: $m"
x=$(extra "$section" "")
ok "$([ -z "$x" ]; echo $?)" "the man page's OPTIONS describes no option that run.c does not have" \
	"not in run.c's options[]: $x"

# README's options table (rows "| `--opt ...` | ... |") and `jobrun run --help` (run.c's usage
# text): a row / a line for each option, none for an option run.c does not have
readme=$src/README.md
rows=$(sed -n '/^| option | meaning | default |$/,/^$/p' "$readme" | grep '^| `-')
m=$(missing "$opts" "$rows")
ok "$([ -z "$m" ]; echo $?)" "README's options table has a row for every option of run.c" "missing: $m"
x=$(extra "$(printf '%s\n' "$rows" | cut -d'|' -f2)" "")
ok "$([ -z "$x" ]; echo $?)" "README's options table has no option that run.c does not have" \
	"not in run.c's options[]: $x"
help=$(sed -n '/^static const char usage\[\] =/,/;$/p' "$run_c")
m=$(missing "$opts" "$help")
ok "$([ -z "$m" ]; echo $?)" "jobrun run --help lists every option of run.c" "missing: $m"

echo "1..$n"
[ "$failed" -eq 0 ]
