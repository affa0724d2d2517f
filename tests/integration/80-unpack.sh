#!/bin/bash
# 80-unpack: jobrun-unpack, the archive helper, run directly as an unprivileged uid with an empty
# environment: fd 0 the archive, fd 3 a fresh workspace directory owned by that uid, fd 4 the
# report. Hostile archives are made here, at test time, with GNU tar and bsdtar: each must be
# refused (exit 1, ok:false) naming the right entry and reason, and a probe must show that
# nothing appeared outside the workspace. The escape target is always a sibling directory of
# the workspace (canary/), owned by the same uid, so that a broken helper *could* write there:
# nothing on the host outside this file's scratch area is ever at risk.
# The helper is $UNPACK, else jobrun-unpack beside $JOBRUN. Built with or without the job config
# parser (-DJR_UNPACK_PARSE_JOBCONF): the job_conf tests accept the text or the parsed form,
# and the parse-only tests run when the helper parses. Needs GNU tar, bsdtar
# (libarchive-tools), gzip, bzip2, xz, zstd; strace is optional (one test).
. "$(dirname "$0")/lib.sh"

UNPACK=${UNPACK:-$(dirname "$JOBRUN")/jobrun-unpack}
if [ ! -x "$UNPACK" ]; then
	echo "Bail out! $UNPACK is not built"
	exit 1
fi
for tool in tar bsdtar gzip bzip2 xz zstd mknod; do
	if ! command -v "$tool" >/dev/null; then
		echo "Bail out! $tool is not installed (bsdtar: apt-get install libarchive-tools)"
		exit 1
	fi
done

NOBODY=65534
# A sanitizer build (make asan) reads /proc for itself and needs a thread of its own for its
# leak check: the strace and no-thread tests do not apply to it.
SANITIZED=""
ldd "$UNPACK" 2>/dev/null | grep -q 'lib[at]san' && SANITIZED=yes
ST=$T/stage       # trees the archives are made from (root's)
A=$T/arch         # the archives
R=$T/run          # one run: R/ws (the workspace), R/canary (the escape target), R/report.json
WS=$R/ws
CAN=$R/canary
REP=$R/report.json
mkdir -p "$ST" "$A"
URC=0
UMS=0
U_DESC=

# ---------------------------------------------------------------- running the helper
# A snapshot of everything in T but the workspace and the run's own output files: the paths,
# types, sizes and mtimes (a directory's mtime changes when anything is made or removed in it).
snapshot() {
	find "$T" \( -path "$WS" -o -path "$REP" -o -path "$R/stderr" \) -prune -o \
		-printf '%p|%y|%s|%T@\n' | sort
}

# un ARCHIVE [jobrun-unpack options...]: a fresh R, then the helper as NOBODY with env -i, the
# archive on fd 0 (a file), the workspace on fd 3, the report on fd 4. Sets URC, UMS, and
# SNAP_BEFORE/SNAP_AFTER. With PIPE=1 the archive comes through a pipe instead.
# UID_RUN (default NOBODY) and PRLIMIT (prlimit options) change how it runs.
un() {
	local arch=$1 t0 uid=${UID_RUN:-$NOBODY}
	shift
	rm -rf "$R"
	mkdir -p "$WS" "$CAN"
	chown "$uid:$uid" "$R" "$WS" "$CAN"
	chmod 0755 "$R" "$WS" "$CAN"
	: >"$REP"
	: >"$R/stderr"
	SNAP_BEFORE=$(snapshot)
	U_DESC="jobrun-unpack $* < $(basename "$arch")"
	t0=$(date +%s%N)
	if [ -n "${PIPE:-}" ]; then
		cat "$arch" | timeout -k 2 60 ${PRLIMIT:+prlimit $PRLIMIT --} env -i \
			setpriv --reuid "$uid" --regid "$uid" --clear-groups --no-new-privs \
			"$UNPACK" "$@" 3<"$WS" 4>"$REP" 2>"$R/stderr"
		URC=${PIPESTATUS[1]}
	else
		timeout -k 2 60 ${PRLIMIT:+prlimit $PRLIMIT --} env -i \
			setpriv --reuid "$uid" --regid "$uid" --clear-groups --no-new-privs \
			"$UNPACK" "$@" <"$arch" 3<"$WS" 4>"$REP" 2>"$R/stderr"
		URC=$?
	fi
	UMS=$((($(date +%s%N) - t0) / 1000000))
	SNAP_AFTER=$(snapshot)
}

rep() { # JQ_FILTER: a value of the report (raw)
	if [ -s "$REP" ]; then
		jq -r "$1" "$REP" 2>/dev/null || echo "<bad json>"
	else
		echo "<no report>"
	fi
}

u_diag() {
	echo "#   ran: $U_DESC"
	echo "#   exit status $URC after $UMS ms"
	echo "#   report: $(head -c 1500 "$REP")"
	[ -s "$R/stderr" ] && head -c 1000 "$R/stderr" | sed 's/^/#   stderr: /'
	return 0
}

# Nothing but the workspace changed, and the canary (the sibling escape target) is empty.
nothing_outside() { # DESCRIPTION
	local left
	left=$(find "$CAN" -mindepth 1 | head -5)
	if [ "$SNAP_BEFORE" = "$SNAP_AFTER" ] && [ -z "$left" ]; then
		ok "$1"
	else
		not_ok "$1" "in the canary: $left" \
			"changed outside the workspace:" \
			"$(diff <(echo "$SNAP_BEFORE") <(echo "$SNAP_AFTER") | head -20)"
		u_diag
	fi
}

# refused DESCRIPTION ENTRY REASON_ERE: exit 1, ok:false, this entry, this reason, one JSON
# object, nothing outside the workspace. Three tests.
refused() {
	local desc=$1 entry=$2 why=$3 got_entry got_why lines
	lines=$(jq -c . "$REP" 2>/dev/null | wc -l)
	if [ "$URC" -eq 1 ] && [ "$(rep .ok)" = false ] && [ "$lines" -eq 1 ]; then
		ok "$desc: refused (exit 1, ok:false, one JSON report)"
	else
		not_ok "$desc: refused (exit 1, ok:false, one JSON report)" "got exit $URC, $lines JSON lines"
		u_diag
	fi
	got_entry=$(rep '.entry // "<null>"')
	got_why=$(rep .reason)
	if [ "$got_entry" = "$entry" ] && printf '%s' "$got_why" | grep -Eq -- "$why"; then
		ok "$desc: entry '$entry', reason /$why/"
	else
		not_ok "$desc: entry '$entry', reason /$why/" "got entry '$got_entry'" "got reason '$got_why'"
		u_diag
	fi
	nothing_outside "$desc: nothing appeared outside the workspace"
}

file_bytes() { # the sizes of the workspace's files, summed
	find "$WS" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'
}

# The report's job_conf is the job config's text, or, in a helper built with
# -DJR_UNPACK_PARSE_JOBCONF (unpack.c's hook), the parsed request (jobreq.h's JSON form).
# conf_is TEXT JQ: "true" when job_conf is the string TEXT, or an object for which JQ is true.
conf_is() {
	jq -r --arg t "$1" "if (.job_conf | type) == \"string\" then .job_conf == \$t
		elif (.job_conf | type) == \"object\" then (.job_conf | $2) else false end" "$REP" 2>&1
}

accepted() { # DESCRIPTION: exit 0, ok:true
	if [ "$URC" -eq 0 ] && [ "$(rep .ok)" = true ]; then
		ok "$1"
	else
		not_ok "$1" "got exit $URC"
		u_diag
	fi
}

# A tree in ST/NAME, made fresh.
stage() { # NAME
	rm -rf "${ST:?}/$1"
	mkdir -p "$ST/$1"
	echo "$ST/$1"
}

# ================================================================ a good archive
S=$(stage good)
mkdir -p "$S/src/lib/deep/er" "$S/ro" "$S/data"
printf 'int main(void) { return 0; }\n' >"$S/src/main.c"
printf 'deep\n' >"$S/src/lib/deep/er/file.txt"
head -c 70000 /dev/urandom >"$S/data/blob.bin"
ln -s lib/deep/er/file.txt "$S/src/link"
ln -s ../src/main.c "$S/data/up"
ln "$S/src/main.c" "$S/data/hard.c"
printf 'read only\n' >"$S/ro/f"
chmod 0555 "$S/ro"
chmod 0640 "$S/src/main.c"
chmod 0750 "$S/src/lib"
: >"$S/empty"
printf 'profile = "grader"\ncommand = {"./a.out", "x y"}\n# ${HOME} stays text\n' >"$S/job.conf"
touch -d '2001-02-03 04:05:06 UTC' "$S/src/lib/deep/er/file.txt" "$S/src/lib"
GOOD_CONF=$(cat "$S/job.conf"; echo x)
GOOD_CONF=${GOOD_CONF%x}
GOOD_PARSED='.file == "job.conf" and .profile.value == "grader" and .command.value == ["./a.out", "x y"] and .command.line == 2'

tar -cf "$A/good.tar" -C "$S" .
gzip -c "$A/good.tar" >"$A/good.tar.gz"
bzip2 -c "$A/good.tar" >"$A/good.tar.bz2"
xz -c "$A/good.tar" >"$A/good.tar.xz"
zstd -q -c "$A/good.tar" >"$A/good.tar.zst"
bsdtar --format zip -cf "$A/good.zip" -C "$S" .
# GNU tar's order (dirs first) and reversed, as `tar -T` lists it: files before their dirs
(cd "$S" && find . -mindepth 1 | sort -r) >"$T/list"
tar -cf "$A/good-rev.tar" -C "$S" --no-recursion -T "$T/list"
chmod 0755 "$S/ro"

check_good() { # LABEL ENTRIES: the good tree, in WS
	local label=$1 entries=$2 ino1 ino2 bad=""
	accepted "$label: accepted"
	is "$(rep '[.entries, .bytes, .stripped_setid] | @json')" "[$entries,$((29 + 5 + 70000 + 10 + 0 + ${#GOOD_CONF})),0]" \
		"$label: entries, bytes and stripped_setid counted"
	is "$(conf_is "$GOOD_CONF" "$GOOD_PARSED")" true "$label: the report carries job.conf (its text, or parsed)"
	is "$(rep .job_conf_from)" archive "$label: job_conf_from says archive"
	cmp -s "$S/data/blob.bin" "$WS/data/blob.bin" || bad="$bad blob"
	cmp -s "$S/src/lib/deep/er/file.txt" "$WS/src/lib/deep/er/file.txt" || bad="$bad deep"
	[ "$(readlink "$WS/src/link")" = lib/deep/er/file.txt ] || bad="$bad link"
	[ "$(readlink "$WS/data/up")" = ../src/main.c ] || bad="$bad up"
	[ -f "$WS/empty" ] && [ ! -s "$WS/empty" ] || bad="$bad empty"
	ino1=$(stat -c %i "$WS/src/main.c" 2>/dev/null)
	ino2=$(stat -c %i "$WS/data/hard.c" 2>/dev/null)
	[ -n "$ino1" ] && [ "$ino1" = "$ino2" ] || bad="$bad hardlink"
	is "$bad" "" "$label: contents, symlinks (as written) and the hardlink (one inode) are right"
	is "$(stat -c %a "$WS/src/main.c" "$WS/src/lib" "$WS/ro" "$WS/ro/f" "$WS" | xargs)" \
		"640 750 555 644 755" "$label: modes kept (a read-only dir filled before its mode was set)"
	is "$(find "$WS" ! -user $NOBODY | head -3)" "" "$label: everything belongs to the helper's uid"
	is "$(stat -c %Y "$WS/src/lib/deep/er/file.txt")" 981173106 "$label: a file's mtime is set"
}

for f in good.tar good.tar.gz good.tar.bz2 good.tar.xz good.tar.zst good-rev.tar; do
	un "$A/$f"
	n=16
	[ "$f" = good-rev.tar ] && n=15   # no "./" entry
	check_good "$f" "$n"
done
is "$(stat -c %Y "$WS/src/lib")" 981173106 "good-rev.tar: a directory's mtime is set after its files"

un "$A/good.zip"
accepted "good.zip: accepted"
is "$(conf_is "$GOOD_CONF" "$GOOD_PARSED")" true "good.zip: job.conf (its text, or parsed)"
if cmp -s "$S/data/blob.bin" "$WS/data/blob.bin" && [ "$(readlink "$WS/src/link")" = lib/deep/er/file.txt ]; then
	ok "good.zip: contents and symlink"
else
	not_ok "good.zip: contents and symlink"
	u_diag
fi
nothing_outside "good.zip: nothing appeared outside the workspace"

PIPE=1 un "$A/good.zip"
accepted "good.zip through a pipe (streamed, no central directory): accepted"
PIPE=1 un "$A/good.tar.zst"
accepted "good.tar.zst through a pipe: accepted"
cmp_ok "$(find "$WS" -type f | wc -l)" -eq 7 "... with all its files"

un "$A/good.tar.xz" --no-thread
accepted "good.tar.xz with --no-thread: accepted"
check "... and right" cmp -s "$S/data/blob.bin" "$WS/data/blob.bin"

# With no thread to be had (RLIMIT_NPROC 1 for a uid of its own), one thread does it all.
if [ -z "$SANITIZED" ]; then
	UID_RUN=$((1999000000 + $$ % 100000)) PRLIMIT="--nproc=1:1" un "$A/good.tar.gz"
	accepted "good.tar.gz with RLIMIT_NPROC=1 (no inflater thread): accepted"
	check "... and right" cmp -s "$S/data/blob.bin" "$WS/data/blob.bin"
else
	skip "good.tar.gz with RLIMIT_NPROC=1" "a sanitizer build needs a thread for itself"
	skip "... and right" "a sanitizer build"
fi

# ./ names, explicit --job-conf names, and a job config on fd 5 (it wins)
un "$A/good.tar" --job-conf ''
is "$(rep '[.ok, .job_conf, .job_conf_from] | @json')" '[true,null,null]' "--job-conf '': no job config looked for"
un "$A/good.tar" --job-conf empty
is "$(conf_is "" '.file == "empty" and (has("command") | not)')|$(rep .job_conf_from)" "true|archive" \
	"--job-conf empty: that file (empty) is the job config"
PARSED=$(rep '.job_conf | type == "object"')
printf 'shell = "make"\n' >"$T/fd5.conf"
rm -rf "$R"; mkdir -p "$WS" "$CAN"; chown $NOBODY:$NOBODY "$R" "$WS" "$CAN"
env -i setpriv --reuid $NOBODY --regid $NOBODY --clear-groups "$UNPACK" <"$A/good.tar" 3<"$WS" 4>"$REP" 5<"$T/fd5.conf"
URC=$?
is "$URC $(conf_is 'shell = "make"
' '.shell.value == "make"') $(rep .job_conf_from)" "0 true fd5" \
	"a job config on fd 5 wins over the archive's"
check "... and the archive's job.conf is unpacked as a file" cmp -s "$S/job.conf" "$WS/job.conf"

# Built to parse the job config (the hook): a config that does not parse refuses the archive,
# naming file:line; "${HOME}" is never expanded, whatever the environment holds.
if [ "$PARSED" = true ]; then
	S=$(stage badconf)
	printf 'command = {"./x"}\nbogus = 1\n' >"$S/job.conf"
	tar -cf "$A/badconf.tar" -C "$S" job.conf
	un "$A/badconf.tar"
	refused "a job.conf with an unknown key (parsed in the helper)" "job.conf" "^job\\.conf:2: .*bogus"
	printf 'command = {"${HOME}/x"}\n' >"$S/job.conf"
	tar -cf "$A/homeconf.tar" -C "$S" job.conf
	rm -rf "$R"; mkdir -p "$WS"; chown $NOBODY:$NOBODY "$R" "$WS"
	env -i HOME=/root setpriv --reuid $NOBODY --regid $NOBODY --clear-groups "$UNPACK" \
		<"$A/homeconf.tar" 3<"$WS" 4>"$REP"
	is "$(rep '.job_conf.command.value[0]')" '${HOME}/x' "\${HOME} in a job config stays as written (HOME=/root in the helper's environment)"
else
	skip "a job.conf that does not parse" "this helper reports the text (built without -DJR_UNPACK_PARSE_JOBCONF)"
	skip "\${HOME} in a job config" "this helper reports the text (built without -DJR_UNPACK_PARSE_JOBCONF)"
fi

# ================================================================ hostile archives
S=$(stage pwn)
echo pwned >"$S/pwn"

# absolute names (tar -P keeps them), to the canary's real path
tar -P --transform "s,^,$CAN/," -cf "$A/abs.tar" -C "$S" pwn
un "$A/abs.tar"
refused "an absolute name (tar -P)" "$CAN/pwn" '^absolute name$'

# ".." (tar -P with --transform)
tar -P --transform 's,^,../canary/,' -cf "$A/dotdot.tar" -C "$S" pwn
un "$A/dotdot.tar"
refused "a '..' name" "../canary/pwn" "'\\.\\.' component"
tar -P --transform 's,^,sub/../../canary/,' -cf "$A/dotdot2.tar" -C "$S" pwn
un "$A/dotdot2.tar"
refused "a '..' in the middle of a name" "sub/../../canary/pwn" "'\\.\\.' component"
gzip -c "$A/dotdot.tar" >"$A/dotdot.tar.gz"
un "$A/dotdot.tar.gz"
refused "a '..' name, gzip'd" "../canary/pwn" "'\\.\\.' component"

# zip with "../" and with an absolute name (bsdtar -P -s)
bsdtar --format zip -P -s ',^,../canary/,' -cf "$A/dotdot.zip" -C "$S" pwn
un "$A/dotdot.zip"
refused "a zip entry '../canary/pwn'" "../canary/pwn" "'\\.\\.' component"
PIPE=1 un "$A/dotdot.zip"
refused "the same zip through a pipe" "../canary/pwn" "'\\.\\.' component"
bsdtar --format zip -P -s ",^,$CAN/," -cf "$A/abs.zip" -C "$S" pwn
un "$A/abs.zip"
refused "a zip entry with an absolute name" "$CAN/pwn" "absolute name"

# a symlink to an absolute path (the canary standing for /etc), then a file through it
S=$(stage sl-abs)
mkdir -p "$S/a" "$S/b/l"
ln -s "$CAN" "$S/a/l"
echo pwned >"$S/b/l/passwd"
tar -cf "$A/sl-abs.tar" -C "$S/a" l
tar -rf "$A/sl-abs.tar" -C "$S/b" l/passwd
un "$A/sl-abs.tar"
refused "a symlink to an absolute path" "l" "symlink to '$CAN': absolute link target"
check "... and the symlink was not made" [ ! -L "$WS/l" ]

# a symlink escaping with ".." (from the root, from a subdirectory, ".." after a name)
S=$(stage sl-up)
mkdir -p "$S/d/e" "$S/x"
ln -s ../canary "$S/up"
ln -s ../../canary/f "$S/d/up2"
ln -s e/../../../canary "$S/d/up3"
ln -s ../x "$S/d/ok"
tar -cf "$A/sl-up.tar" -C "$S" up
un "$A/sl-up.tar"
refused "a symlink ../canary at the root" "up" "leaves the workspace"
tar -cf "$A/sl-up2.tar" -C "$S" d/ok d/up2
un "$A/sl-up2.tar"
refused "a symlink d/up2 -> ../../canary/f" "d/up2" "leaves the workspace"
check "... after d/ok -> ../x, which stays inside and was made" [ "$(readlink "$WS/d/ok")" = ../x ]
bsdtar --format zip -cf "$A/sl-up.zip" -C "$S" up
un "$A/sl-up.zip"
refused "a zip symlink ../canary" "up" "leaves the workspace"
tar -cf "$A/sl-up3.tar" -C "$S" d/up3
un "$A/sl-up3.tar"
refused "a symlink d/up3 -> e/../../../canary" "d/up3" "'\\.\\.' after a name"

# a symlink that stays inside, then an entry written through it: ELOOP, nothing written
S=$(stage sl-through)
mkdir -p "$S/a/d" "$S/b/l"
ln -s d "$S/a/l"
echo pwned >"$S/b/l/x"
tar -cf "$A/sl-through.tar" -C "$S/a" d l
tar -rf "$A/sl-through.tar" -C "$S/b" l/x
un "$A/sl-through.tar"
refused "a file written through a symlink made by an earlier entry" "l/x" \
	"'l' is a symlink .*ELOOP"
is "$(find "$WS" -mindepth 1 | sort | tr '\n' ' ')" "$WS/d $WS/l " \
	"... nothing landed where the symlink points (d/ is empty)"
# the same through a symlink to ".", with a directory entry
S=$(stage sl-dot)
mkdir -p "$S/a" "$S/b/l/sub"
ln -s . "$S/a/l"
tar -cf "$A/sl-dot.tar" -C "$S/a" l
tar -rf "$A/sl-dot.tar" -C "$S/b" l/sub
un "$A/sl-dot.tar"
refused "a directory made through a symlink to '.'" "l/sub/" "'l' is a symlink .*ELOOP"

# hardlinks: to /etc/shadow, escaping with "..", to a symlink, to nothing earlier
SHADOW_BEFORE=$(stat -c '%h %Y %s' /etc/shadow 2>/dev/null)
S=$(stage hl)
echo s >"$S/secret"
ln "$S/secret" "$S/h"
tar -P --transform 's,^secret$,/etc/shadow,RS' -cf "$A/hl-shadow.tar" -C "$S" secret h
un "$A/hl-shadow.tar"
refused "a hardlink to /etc/shadow" "h" "hardlink to '/etc/shadow': absolute name"
is "$(stat -c '%h %Y %s' /etc/shadow 2>/dev/null)" "$SHADOW_BEFORE" "... /etc/shadow is untouched (links, mtime, size)"
check "... and no 'h' in the workspace" [ ! -e "$WS/h" ]
tar -P --transform 's,^secret$,../canary/secret,RS' -cf "$A/hl-up.tar" -C "$S" secret h
un "$A/hl-up.tar"
refused "a hardlink to ../canary/secret" "h" "hardlink to '../canary/secret': '\\.\\.' component"
tar -P --transform 's,^secret$,nothere,RS' -cf "$A/hl-none.tar" -C "$S" secret h
un "$A/hl-none.tar"
refused "a hardlink to no earlier entry" "h" "hardlink to 'nothere', which is not an earlier regular file"
S=$(stage hl-sym)
mkdir -p "$S/a" "$S/b"
ln -s x "$S/a/sym"
echo y >"$S/b/f"
ln "$S/b/f" "$S/b/h"
tar -cf "$A/hl-sym.tar" -C "$S/a" sym
tar -P --transform 's,^f$,sym,RS' -rf "$A/hl-sym.tar" -C "$S/b" f h
un "$A/hl-sym.tar"
refused "a hardlink to an earlier symlink" "h" "hardlink to 'sym', which is not an earlier regular file \\(a symlink\\)"

# device nodes and FIFOs (made as root in the staging tree)
S=$(stage dev)
mknod "$S/null2" c 1 3
mknod "$S/loop9" b 7 9
mkfifo "$S/fifo"
tar -cf "$A/chr.tar" -C "$S" null2
tar -cf "$A/blk.tar" -C "$S" loop9
tar -cf "$A/fifo.tar" -C "$S" fifo
un "$A/chr.tar"
refused "a character device" "null2" "character device"
un "$A/blk.tar"
refused "a block device" "loop9" "block device"
un "$A/fifo.tar"
refused "a FIFO" "fifo" "FIFO"
bsdtar --format zip -cf "$A/fifo.zip" -C "$S" fifo 2>/dev/null
if [ -s "$A/fifo.zip" ] && bsdtar -tvf "$A/fifo.zip" 2>/dev/null | grep -q '^p'; then
	un "$A/fifo.zip"
	refused "a FIFO in a zip" "fifo" "FIFO"
fi

# setuid, setgid, sticky: stripped and counted; group/other write dropped
S=$(stage setid)
mkdir -p "$S/sgid" "$S/sticky"
printf '#!/bin/sh\n' >"$S/suid"
chmod 4755 "$S/suid"
chmod 2775 "$S/sgid"
chmod 1777 "$S/sticky"
printf x >"$S/gw"
chmod 0666 "$S/gw"
tar -cf "$A/setid.tar" -C "$S" suid sgid sticky gw
un "$A/setid.tar"
accepted "setuid/setgid/sticky entries: accepted"
is "$(rep .stripped_setid)" 3 "... stripped_setid counts the three"
is "$(stat -c %a "$WS/suid" "$WS/sgid" "$WS/sticky" "$WS/gw" | xargs)" "755 755 755 644" \
	"... their modes are 0755 (and 0666 became 0644)"

# too many entries, too many bytes
S=$(stage many)
for i in 1 2 3 4 5 6 7 8 9 10; do echo "$i" >"$S/f$i"; done
tar -cf "$A/many.tar" -C "$S" f1 f2 f3 f4 f5 f6 f7 f8 f9 f10
un "$A/many.tar" --max-entries 5
refused "10 entries with --max-entries 5" "f6" "more than --max-entries \\(5\\)"
check "... the first five were written, the sixth not" test -f "$WS/f5" -a ! -e "$WS/f6"
un "$A/many.tar" --max-entries 10
accepted "10 entries with --max-entries 10: accepted"

S=$(stage bytes)
for f in a b c; do head -c 1000 /dev/zero >"$S/$f"; done
tar -cf "$A/bytes.tar" -C "$S" a b c
un "$A/bytes.tar" --max-bytes 2500
refused "3000 bytes with --max-bytes 2500" "c" "more than the 500 left of --max-bytes \\(2500\\)"
cmp_ok "$(file_bytes)" -le 2500 "... at most 2500 bytes of data written"
un "$A/bytes.tar" --max-bytes 3000
accepted "3000 bytes with --max-bytes 3000: accepted"

# a gzip bomb: 1 GiB of zeros in a tar, 4.6 MB compressed (gzip members of 64 MiB of zeros,
# concatenated: a valid gzip stream, made in a second instead of eight)
S=$(stage bomb)
truncate -s 1G "$S/zeros"
tar -cf - -C "$S" zeros | head -c 512 >"$T/hdr"
{ cat "$T/hdr"; head -c $((64 * 1048576 - 512)) /dev/zero; } | gzip -1 >"$A/bomb.tar.gz"
head -c $((64 * 1048576)) /dev/zero | gzip -1 >"$T/z64.gz"
for i in $(seq 15); do cat "$T/z64.gz"; done >>"$A/bomb.tar.gz"
head -c 4096 /dev/zero | gzip -1 >>"$A/bomb.tar.gz"
is "$(gzip -dc "$A/bomb.tar.gz" 2>/dev/null | head -c 10240 | tar -tvf - 2>/dev/null | awk '{print $3, $6}')" \
	"1073741824 zeros" "the gzip bomb holds a 1 GiB file"
un "$A/bomb.tar.gz" --max-bytes $((16 << 20))
refused "a gzip bomb (1 GiB of zeros) with --max-bytes 16M" "zeros" "more than .*--max-bytes \\(16777216\\)"
cmp_ok "$UMS" -lt $((1500 * SLOW)) "... refused quickly ($UMS ms), not inflated"
cmp_ok "$(file_bytes)" -le $((16 << 20)) "... no more than 16 MiB written"
# the same data with its size hidden: a zip written to a pipe (sizes in a data descriptor after
# the data), its local header's uncompressed size then zeroed by hand (bsdtar puts it there when
# it knows it), read through a pipe (no central directory): the helper can only count while it
# inflates, and must stop at the limit
bsdtar --format zip -cf - -C "$S" zeros | cat >"$A/bomb.zip"
rm -f "$S/zeros"
is "$(od -An -tx1 -N8 "$A/bomb.zip" | tr -d ' ')" 504b030414000800 \
	"the zip bomb starts with a local header with a data descriptor (flag bit 3), deflated"
printf '\0\0\0\0' | dd of="$A/bomb.zip" bs=1 seek=22 conv=notrunc status=none
PIPE=1 un "$A/bomb.zip" --max-bytes $((16 << 20))
refused "a zip bomb (1 GiB, sizes hidden) through a pipe" "zeros" "more than --max-bytes \\(16777216\\) of file data: stopped"
cmp_ok "$UMS" -lt $((1500 * SLOW)) "... stopped quickly ($UMS ms), not inflated to the end"
cmp_ok "$(file_bytes)" -le $((16 << 20)) "... no more than 16 MiB written"
un "$A/bomb.zip" --max-bytes $((16 << 20))
refused "the zip bomb from a file (central directory: sizes known)" "zeros" "more than the .* left of --max-bytes"

# a bomb of metadata: 100 empty files, each with a pax header of 120 kB ("comment:=" is per
# file), 12 MB inflated from 25 kB: no file data to count, the stream's cap stops it
S=$(stage metabomb)
for i in $(seq 100); do : >"$S/e$i"; done
tar --format=pax --pax-option="comment:=$(head -c 120000 /dev/zero | tr '\0' x)" -cf - -C "$S" . |
	gzip -9 >"$A/metabomb.tar.gz"
for opt in "" --no-thread; do
	un "$A/metabomb.tar.gz" --max-bytes 1000000 $opt
	refused "a bomb of pax headers (12 MB inflated) with --max-bytes 1000000 ${opt:-(inflater thread)}" \
		"<null>" "inflates to more than --max-bytes \\(1000000\\) of data plus its metadata allowance .*: stopped"
done
un "$A/metabomb.tar.gz" --max-bytes 100000000
accepted "the same with --max-bytes 100000000: accepted"

# long names: over --max-name, and a component over 255 bytes
S=$(stage long)
echo x >"$S/f"
LONG=$(printf 'n%.0s' $(seq 150))
tar --transform "s,^f\$,$LONG," -cf "$A/long.tar" -C "$S" f
un "$A/long.tar" --max-name 100
refused "a 150-byte name with --max-name 100" "$LONG" "a name of 150 bytes: longer than --max-name \\(100\\)"
un "$A/long.tar" --max-name 150
accepted "the same name with --max-name 150: accepted"
C256=$(printf 'c%.0s' $(seq 256))
tar --transform "s,^f\$,d/$C256," -cf "$A/longc.tar" -C "$S" f
un "$A/longc.tar"
refused "a 256-byte component" "d/$C256" "component longer than 255 bytes"

# duplicates: a file given twice is refused (never replaced); a directory twice is fine
S=$(stage dup)
mkdir -p "$S/d"
echo 1 >"$S/f"
tar -cf "$A/dup.tar" -C "$S" f d
tar -rf "$A/dup.tar" -C "$S" d f
un "$A/dup.tar"
refused "a file given twice" "f" "duplicate entry: it already exists \\(a regular file"
check "... the first copy is untouched" cmp -s "$S/f" "$WS/f"

# a directory given twice (its mode 0311: no read for anyone after the first pass): fine,
# the last entry's mode, once
S=$(stage dirtwice)
mkdir -p "$S/d"
echo 1 >"$S/d/f"
chmod 0311 "$S/d"
tar -cf "$A/dirtwice.tar" -C "$S" d
tar -rf "$A/dirtwice.tar" -C "$S" --no-recursion d
chmod 0755 "$S/d"
un "$A/dirtwice.tar"
accepted "a directory given twice, mode 0311: accepted"
is "$(stat -c %a "$WS/d")" 311 "... its mode is 0311"

# names that are control characters or not UTF-8
S=$(stage names)
echo x >"$S/f"
LC_ALL=C tar --transform "s,^f\$,$(printf 'bad\x1b[31mname')," -cf "$A/ctl.tar" -C "$S" f
un "$A/ctl.tar"
is "$URC $(rep .reason)" "1 control character in name" "a name with an escape character: refused"
like "$(rep .entry)" '^bad\\x1b\[31mname$' "... the report shows it escaped"
LC_ALL=C tar --transform "s,^f\$,$(printf 'caf\xe9')," -cf "$A/latin1.tar" -C "$S" f
un "$A/latin1.tar"
is "$URC $(rep .reason)" "1 name is not valid UTF-8" "a Latin-1 name: refused as not UTF-8"

# job.conf that is not a regular file, or too large
S=$(stage conf)
ln -s /etc/passwd "$S/job.conf"
tar -cf "$A/conf-sym.tar" -C "$S" job.conf
un "$A/conf-sym.tar"
refused "job.conf as a symlink" "job.conf" "must be a regular file"
rm "$S/job.conf"
head -c 70000 /dev/zero | tr '\0' '#' >"$S/job.conf"
tar -cf "$A/conf-big.tar" -C "$S" job.conf
un "$A/conf-big.tar"
refused "a job.conf of 70000 bytes" "job.conf" "larger than 65536 bytes"

# not an archive, or a format or compression that is not enabled
S=$(stage other)
echo hello >"$S/f"
printf 'just text\n' >"$A/text"
: >"$A/empty"
(cd "$S" && echo f | bsdtar --format cpio -cf "$A/f.cpio" -T -)
xz --format=lzma -c "$A/good.tar" >"$A/good.tar.lzma"
bsdtar --format 7zip -cf "$A/f.7z" -C "$S" f 2>/dev/null
un "$A/text"
refused "a text file" "<null>" "not a tar or zip archive"
un "$A/empty"
refused "empty input" "<null>" "empty input"
un "$A/f.cpio"
refused "a cpio archive (format not enabled)" "<null>" "not a tar or zip archive"
un "$A/good.tar.lzma"
refused "a .tar.lzma (filter not enabled)" "<null>" "not a tar or zip archive"
if [ -s "$A/f.7z" ]; then
	un "$A/f.7z"
	refused "a 7-Zip archive (format not enabled)" "<null>" "not a tar or zip archive"
fi
head -c 30000 "$A/good.tar.gz" >"$A/cut.tar.gz"
un "$A/cut.tar.gz"
is "$URC $(rep .ok)" "1 false" "a truncated .tar.gz: refused"

# ================================================================ the program's own contract
un "$A/good.tar" --max-bytes 12x
is "$URC $(rep .ok)" "2 false" "a bad option value: exit 2, a report all the same"
like "$(rep .reason)" "internal error: --max-bytes: '12x'" "... naming the option"
un "$A/good.tar" --frobnicate 1
is "$URC" 2 "an unknown option: exit 2"
rm -rf "$R"; mkdir -p "$R"; : >"$R/file"
env -i "$UNPACK" <"$A/good.tar" 3<"$R/file" 4>"$REP" 2>/dev/null
URC=$?
is "$URC $(rep .reason)" "2 internal error: fd 3 is not an open directory (the workspace)" \
	"fd 3 not a directory: exit 2, said in the report"
rm -rf "$R"; mkdir -p "$WS"
env -i "$UNPACK" <"$A/good.tar" 3<"$WS" 4>&- 2>"$T/e4"
URC=$?
is "$URC" 2 "no fd 4: exit 2"
like "$(cat "$T/e4")" "fd 4" "... said on stderr"
check "... and nothing was unpacked without a report" [ -z "$(ls -A "$WS")" ]

# It opens no path: the only opens by path are the loader's (ld.so.cache and libraries, before
# main); every file and directory is made with openat2/mkdirat/symlinkat/linkat relative to a
# directory fd (strace, run as the helper's uid, tracing the helper only).
if [ -n "$SANITIZED" ]; then
	skip "no open by path (strace)" "a sanitizer build opens /proc files of its own"
elif command -v strace >/dev/null; then
	for f in good.tar.gz good.zip; do
		rm -rf "$R"; mkdir -p "$WS"; chown $NOBODY:$NOBODY "$R" "$WS"
		env -i setpriv --reuid $NOBODY --regid $NOBODY --clear-groups \
			strace -f -qq -o "$R/strace" -e trace=open,openat,openat2,creat,mkdir,mkdirat,symlink,symlinkat,link,linkat,rename,renameat,renameat2,unlink,unlinkat,chdir,chroot,truncate \
			"$UNPACK" <"$A/$f" 3<"$WS" 4>"$REP"
		URC=$?
		bad=$(sed -E 's/^[0-9]+ +//' "$R/strace" | grep -v -E \
			-e '^openat\(AT_FDCWD, "(/etc/ld\.so\.cache|/(usr/)?lib[^"]*\.so[^"]*)", O_RDONLY\|O_CLOEXEC\) = ' \
			-e '^openat2\([0-9]+, "[^/"][^"]*", ' \
			-e '^mkdirat\([0-9]+, "[^/"][^"]*", ' \
			-e '^symlinkat\("[^"]*", [0-9]+, "[^/"][^"]*"\)' \
			-e '^linkat\([0-9]+, "[^/"][^"]*", [0-9]+, "[^/"][^"]*", 0\)' \
			-e '^\+\+\+ exited' | head -5)
		n=$(grep -c 'openat2(' "$R/strace")
		if [ "$URC" -eq 0 ] && [ -z "$bad" ] && [ "$n" -gt 5 ]; then
			ok "$f: no open by path, nothing made but beneath a directory fd (strace: $n openat2)"
		else
			not_ok "$f: no open by path, nothing made but beneath a directory fd (strace)" \
				"exit $URC, $n openat2 calls, unexpected calls:" "$bad"
		fi
	done
else
	skip "no open by path (strace)" "strace is not installed"
fi

rm -rf "$R"
done_testing
