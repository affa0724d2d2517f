# 95-install.sh - `make install` into a PREFIX of its own (not the one the build was made for):
# the installed jobrun finds its helpers from its own executable and runs a tarball job; a moved
# install still works; `jobrun check` fails, naming the helper, when jobrun-unpack is missing
# (and a tarball job then fails clearly, verdict XX) or when the helper directory is writable by
# others. Also -V/--version, the man page and the bash completion of the install.
# Everything lives in $T (under /var/tmp: the VM lane's / is read-only), removed at the end.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=$(dirname "$JOBRUN")
BUILT_JOBRUN=$JOBRUN

if ! command -v make >/dev/null; then
	skip "make install into a fresh PREFIX" "make is not installed"
	done_testing
	exit
fi

# ---------------------------------------------------------------- make install
P=$(mktemp -d "$T/prefix.XXXXXX")
# The build dir run-all.sh was given, installed as it is: -o all builds nothing (a rebuild here
# would replace the jobrun under test, and take minutes in the VM lane).
if make -s -C "$SRC" BUILD="$BUILD_DIR" PREFIX="$P" -o all install >"$T/install.log" 2>&1; then
	ok "make install PREFIX=$P (build dir $BUILD_DIR)"
else
	not_ok "make install PREFIX=$P (build dir $BUILD_DIR)" "$(tail -n 20 "$T/install.log")"
fi
bad=""
for f in bin/jobrun libexec/jobrun/jobrun-init libexec/jobrun/jobrun-unpack libexec/jobrun/jobrun-report libexec/jobrun/jobrun-fetch; do
	[ -f "$P/$f" ] && [ "$(stat -c %a:%u "$P/$f")" = 755:0 ] || bad="$bad $f"
done
for f in share/man/man1/jobrun.1 share/bash-completion/completions/jobrun share/jobrun/result.schema.json; do
	[ -f "$P/$f" ] && [ "$(stat -c %a:%u "$P/$f")" = 644:0 ] || bad="$bad $f"
done
is "$bad" "" "installed: bin/jobrun, libexec/jobrun/{jobrun-init,jobrun-unpack,jobrun-report,jobrun-fetch} 0755, the man page, the bash completion and share/jobrun/result.schema.json 0644, root's"
check "the installed result schema is docs/result.schema.json" \
	cmp -s "$SRC/docs/result.schema.json" "$P/share/jobrun/result.schema.json"
check "the installed man page is packaging/man/jobrun.1" \
	cmp -s "$SRC/packaging/man/jobrun.1" "$P/share/man/man1/jobrun.1"

# ---------------------------------------------------------------- version
v=$("$BUILT_JOBRUN" version)
like "$v" '^jobrun [0-9]+\.[0-9]+' "jobrun version prints 'jobrun X.Y...'"
is "$("$P/bin/jobrun" -V)" "$v" "jobrun -V prints the version"
is "$("$P/bin/jobrun" --version)" "$v" "jobrun --version prints the version"

# ---------------------------------------------------------------- jobrun check
# The install must add no problem of its own: the same exit status as the build tree's jobrun.
"$BUILT_JOBRUN" check >"$T/check-built.out" 2>&1
built_rc=$?
"$P/bin/jobrun" check >"$T/check.out" 2>&1
rc=$?
is "$rc" "$built_rc" "the installed jobrun check exits as the build tree's does ($built_rc)"
like "$(grep '^helpers:' "$T/check.out")" "^helpers: +$P/libexec/jobrun\$" \
	"jobrun check: the helpers are taken from PREFIX/libexec/jobrun, not from the build's PREFIX"
like "$(grep '^jobrun-init:' "$T/check.out")" "^jobrun-init: +$P/libexec/jobrun/jobrun-init: .*executable, answers" \
	"jobrun check: jobrun-init found and its trial run passes"
like "$(grep '^jobrun-unpack:' "$T/check.out")" "^jobrun-unpack: +$P/libexec/jobrun/jobrun-unpack: .*executable, unpacks" \
	"jobrun check: jobrun-unpack found and its trial run passes"
like "$(grep '^jobrun-report:' "$T/check.out")" "^jobrun-report: +$P/libexec/jobrun/jobrun-report: .*executable, starts with its libcurl" \
	"jobrun check: jobrun-report found and its trial run passes"
like "$(grep '^jobrun-fetch:' "$T/check.out")" "^jobrun-fetch: +$P/libexec/jobrun/jobrun-fetch: .*executable, starts with its libcurl" \
	"jobrun check: jobrun-fetch found and its trial run passes"

# ---------------------------------------------------------------- a tarball job
# conf/examples/hello, the demo's job (its limits raised for the slow VM lane).
tar -C "$SRC/conf/examples/hello" -czf "$T/hello.tar.gz" run.sh job.conf
hello_job() { # JOBRUN: run the demo job with it, outputs in $T/out
	local saved=$JOBRUN
	rm -rf "$T/out"
	JOBRUN=$1
	jr --wall-time "$((10 * SLOW))s" --cpu-time "$((5 * SLOW))s" --output-dir "$T/out" \
		"$T/hello.tar.gz"
	JOBRUN=$saved
}
hello_job "$P/bin/jobrun"
verdict_is OK 0 "the installed jobrun runs the demo tarball job: OK"
like "$(cat "$T/out/answer.txt" 2>&1)" '^sum of 1\.\.100000 = 5000050000$' \
	"its output answer.txt is copied out"
like "$(cat "$OUT")" 'running as job \(uid [0-9]+\)' "the job ran as an unprivileged uid of its own"

# ---------------------------------------------------------------- relocated
mv "$P" "$P.moved"
P=$P.moved
"$P/bin/jobrun" check >"$T/check.out" 2>&1
like "$(grep '^helpers:' "$T/check.out")" "^helpers: +$P/libexec/jobrun\$" \
	"a moved install finds its helpers in its new place"
hello_job "$P/bin/jobrun"
verdict_is OK 0 "the moved install runs the demo tarball job: OK"

# ---------------------------------------------------------------- jobrun-unpack missing
rm -f "$P/libexec/jobrun/jobrun-unpack"
"$P/bin/jobrun" check >"$T/check.out" 2>&1
rc=$?
is "$rc" 1 "jobrun check exits 1 when jobrun-unpack is missing"
like "$(grep '^jobrun-unpack:' "$T/check.out")" \
	"^jobrun-unpack: +NO: open $P/libexec/jobrun/jobrun-unpack: No such file or directory\$" \
	"jobrun check names the missing helper"
like "$(grep '^verdict:' "$T/check.out")" 'CANNOT run jobs: a helper program is missing' \
	"jobrun check's verdict says jobs cannot run"
hello_job "$P/bin/jobrun"
verdict_is XX 2 "a tarball job without jobrun-unpack: verdict XX, exit status 2"
like "$(res .message)" "jobrun-unpack: No such file or directory" \
	"its message names the missing helper"
no_leftovers "nothing of the failed tarball job is left running"
saved=$JOBRUN
JOBRUN=$P/bin/jobrun
jr -- /bin/sh -c 'echo plain'
JOBRUN=$saved
verdict_is OK 0 "a plain command job (no jobrun-unpack needed) still runs"

# ---------------------------------------------------------------- untrusted helper directory
make -s -C "$SRC" BUILD="$BUILD_DIR" PREFIX="$P" -o all install >"$T/install.log" 2>&1
chmod 0777 "$P/libexec/jobrun"
"$P/bin/jobrun" check >"$T/check.out" 2>&1
rc=$?
chmod 0755 "$P/libexec/jobrun"
is "$rc" 1 "jobrun check exits 1 when the helper directory is writable by others"
like "$(grep '^helpers:' "$T/check.out")" "^helpers: +NO: jobrun's helper directory $P/libexec/jobrun is uid 0, mode 0777: it must be root's and writable only by root" \
	"jobrun check says why the helper directory is refused"

# ---------------------------------------------------------------- the bash completion
comp=$(bash -c 'source "$1" && COMP_WORDS=(jobrun run --wall-t) COMP_CWORD=2 && _jobrun &&
	echo "${COMPREPLY[*]}"' sh "$P/share/bash-completion/completions/jobrun" 2>&1)
is "$comp" "--wall-time" "the installed bash completion completes jobrun run --wall-t"
comp=$(bash -c 'source "$1" && COMP_WORDS=(jobrun "") COMP_CWORD=1 && _jobrun &&
	echo "${COMPREPLY[*]}"' sh "$P/share/bash-completion/completions/jobrun" 2>&1)
like "$comp" '^run serve submit status list wait cancel drain metrics check isolate version help' \
	"the installed bash completion completes the subcommands"
comp=$(bash -c 'source "$1" && COMP_WORDS=(jobrun isolate -b 3 --cg-m) COMP_CWORD=4 && _jobrun &&
	echo "${COMPREPLY[*]}"' sh "$P/share/bash-completion/completions/jobrun" 2>&1)
is "$comp" "--cg-mem" "the installed bash completion completes jobrun isolate's options"
comp=$(bash -c 'source "$1" && COMP_WORDS=(jobrun isolate --run -- /bin/tr) COMP_CWORD=4 &&
	_jobrun && echo "${COMPREPLY[*]}"' sh "$P/share/bash-completion/completions/jobrun" 2>&1)
like "$comp" "(^| )/bin/true( |$)" "... and, after --, the command to run"

# ---------------------------------------------------------------- the systemd unit
is "$(sed -n 's/^ExecStart=//p' "$P/lib/systemd/system/jobrun.service" 2>&1)" "$P/bin/jobrun serve" \
	"the systemd unit is installed and starts this PREFIX's jobrun serve"
is "$(grep -c '^Delegate=yes$' "$P/lib/systemd/system/jobrun.service" 2>&1)" 1 \
	"the systemd unit has Delegate=yes (job cgroups inside what systemd delegates)"

final_checks
done_testing
