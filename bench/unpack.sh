#!/bin/sh
# bench/unpack.sh - jobrun-unpack against GNU tar and bsdtar on the same archives, into tmpfs.
#
#   sh bench/unpack.sh [BUILD_DIR]      (POSIX sh; BUILD_DIR holds jobrun-unpack; default build)
#
# Archives, made in a fresh directory on tmpfs (/dev/shm, or TMPFS): 20,000 files of 1-4 KiB in
# 200 directories as .tar, .tar.gz (gzip -6) and .tar.zst (zstd -3); one 512 MiB file of random
# bytes as .tar. Each tool unpacks each archive into an empty directory on the same tmpfs
# (emptied by hyperfine's --prepare, outside the timing). As root, every tool runs as uid 65534
# (setpriv), as jobrun runs the helper under the job's uid: no tool restores owners. For the
# compressed archives the bare decompressors (zcat, zstdcat, and bsdcat: libarchive's own
# zlib/zstd path) to /dev/null are timed too. hyperfine (shell mode), RUNS runs per tool in each
# of ROUNDS rounds, the tool order reversed every other round; medians over the pooled runs.
# The floor, with a C compiler: a program (written out and built here) that makes the same
# number of files of the same sizes in as many directories, with the system calls any safe
# unpacker needs and nothing else (openat2 O_CREAT|O_EXCL beneath a directory fd, write,
# futimens, close; no archive to read): what the kernel alone costs for the small files.
# Prints a markdown table (stdout) with µs per file, GB/s of file data, the ratio to GNU tar,
# and the distance to the decompressor, then the targets (<= 8 µs a small file, within 15 % of
# the decompressor, >= 2 GB/s for the large file), each met or NOT met. Raw hyperfine exports
# go to bench/out/unpack-<date>/. Needs hyperfine, jq, GNU tar, gzip, zstd; bsdtar optional.
#
# Knobs (environment): RUNS (10), BIG_RUNS (5), ROUNDS (2), WARMUP (1), NFILES (20000),
# BIG_MIB (512), TMPFS (/dev/shm), OUT (output directory), CC (cc).
set -eu
export LC_ALL=C

BUILD=${1:-build}
RUNS=${RUNS:-10}
BIG_RUNS=${BIG_RUNS:-5}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-1}
NFILES=${NFILES:-20000}
BIG_MIB=${BIG_MIB:-512}
TMPFS=${TMPFS:-/dev/shm}
CC=${CC:-cc}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/out/unpack-$(date +%Y%m%d-%H%M%S)}

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

for t in hyperfine jq tar gzip zstd zcat zstdcat awk base64; do
    command -v "$t" >/dev/null 2>&1 || die "$t is not installed"
done
tar --version 2>/dev/null | head -1 | grep -q 'GNU tar' || die "tar is not GNU tar"
UNPACK=$BUILD/jobrun-unpack
[ -x "$UNPACK" ] || die "$UNPACK is not built"
UNPACK=$(cd "$(dirname "$UNPACK")" && pwd)/jobrun-unpack
HAVE_BSDTAR=0
command -v bsdtar >/dev/null 2>&1 && HAVE_BSDTAR=1
[ $HAVE_BSDTAR = 1 ] || say "bench: SKIP bsdtar: not installed (apt-get install libarchive-tools)"
HAVE_BSDCAT=0
command -v bsdcat >/dev/null 2>&1 && HAVE_BSDCAT=1

mkdir -p "$OUT"
W=$(mktemp -d "$TMPFS/jobrun-bench-unpack.XXXXXX") || die "cannot make a directory in $TMPFS"
cleanup() { [ -n "$W" ] && rm -rf "$W"; W=""; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
chmod 0755 "$W"
[ "$(stat -f -c %T "$W")" = tmpfs ] || say "bench: note: $W is not on tmpfs ($(stat -f -c %T "$W"))"

# As root, every tool runs as uid 65534 in a directory it owns.
RUNAS=""
OWN=""
if [ "$(id -u)" = 0 ]; then
    command -v setpriv >/dev/null 2>&1 || die "setpriv is not installed (util-linux)"
    RUNAS="setpriv --reuid=65534 --regid=65534 --clear-groups"
    OWN="&& chown 65534:65534 $W/o"
fi
PREP="rm -rf $W/o && mkdir $W/o $OWN"

# ---------------------------------------------------------------- the archives
say "bench: making $NFILES files of 1-4 KiB and a $BIG_MIB MiB file in $W"
mkdir "$W/src" "$W/a"
head -c 3000000 /dev/urandom | base64 -w 76 >"$W/pool.txt"
ndirs=$(( (NFILES + 99) / 100 ))
(cd "$W/src" && i=0 && while [ $i -lt $ndirs ]; do printf 'd%03d\n' $i; i=$((i + 1)); done | xargs mkdir)
(cd "$W/src" && awk -v n="$NFILES" -v nd="$ndirs" 'BEGIN {
    srand(42); RS = "\001"; getline pool < "../pool.txt"; plen = length(pool)
    for (i = 0; i < n; i++) {
        f = sprintf("d%03d/f%05d.txt", i % nd, i)
        len = 1024 + int(rand() * 3073); off = 1 + int(rand() * (plen - len))
        printf "%s", substr(pool, off, len) > f; close(f)
    } }')
SMALL_BYTES=$(find "$W/src" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
tar -cf "$W/a/small.tar" -C "$W/src" .
gzip -6 -c "$W/a/small.tar" >"$W/a/small.tar.gz"
zstd -q -3 -c "$W/a/small.tar" >"$W/a/small.tar.zst"
rm -rf "$W/src" "$W/pool.txt"
mkdir "$W/big"
head -c $((BIG_MIB * 1048576)) /dev/urandom >"$W/big/big.bin"
BIG_BYTES=$((BIG_MIB * 1048576))
tar -cf "$W/a/big.tar" -C "$W/big" big.bin
rm -rf "$W/big"

# The floor: the same files (names, sizes, directories: the sizes list comes from the tar),
# made with the bare system calls.
tar -tvf "$W/a/small.tar" | awk '$1 ~ /^-/ { print $3, $6 }' >"$W/sizes.txt"
HAVE_FLOOR=0
cat >"$OUT/floor.c" <<'EOF_C'
/* floor.c (written by bench/unpack.sh): make the files listed on stdin ("SIZE NAME" lines,
 * NAME "./dNNN/fNNNNN.txt") beneath the directory given, with openat2 beneath a cached
 * directory fd, write, futimens, close: the system calls of a safe unpacker, no archive. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int xopen(int dir, const char *name, unsigned long long flags, unsigned mode)
{
	struct open_how how = { .flags = flags, .mode = mode,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
	return (int)syscall(SYS_openat2, dir, name, &how, sizeof(how));
}

int main(int argc, char **argv)
{
	static char buf[65536];
	char line[4096], name[4096], dir[4096] = "", *slash;
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1000000000, 0 } };
	unsigned long size;
	int root, dfd = -1, fd;

	if (argc != 2 || (root = open(argv[1], O_RDONLY | O_DIRECTORY)) < 0)
		return 2;
	memset(buf, 'x', sizeof(buf));
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "%lu %4095s", &size, name) != 2 || size > sizeof(buf))
			return 2;
		slash = strrchr(name, '/');
		*slash = '\0';
		if (strcmp(name, dir)) {
			if (dfd >= 0)
				close(dfd);
			mkdirat(root, name + 2, 0755);
			if ((dfd = xopen(root, name + 2, O_PATH | O_DIRECTORY, 0)) < 0)
				return 3;
			strcpy(dir, name);
		}
		fd = xopen(dfd, slash + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, buf, size) != (ssize_t)size)
			return 4;
		futimens(fd, ts);
		close(fd);
	}
	return 0;
}
EOF_C
if command -v "$CC" >/dev/null 2>&1 && "$CC" -O2 -o "$OUT/floor" "$OUT/floor.c" 2>"$OUT/floor-cc.err"; then
    HAVE_FLOOR=1
else
    say "bench: SKIP the floor: no C compiler ($CC) or it failed (see $OUT/floor-cc.err)"
fi

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "host: $(uname -srm), $(nproc) CPUs, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "jobrun-unpack: $UNPACK"
    echo "GNU tar: $(tar --version | head -1)"
    [ $HAVE_BSDTAR = 1 ] && echo "bsdtar: $(bsdtar --version | head -1)"
    echo "hyperfine: $(hyperfine --version)"
    echo "tmpfs: $W ($(stat -f -c %T "$W"))"
    echo "run as: ${RUNAS:-$(id -un)}"
    echo "files: $NFILES ($SMALL_BYTES bytes of data); big file: $BIG_BYTES bytes"
    ls -l "$W/a" | awk 'NR > 1 { print "archive: " $NF " " $5 " bytes" }'
} >"$OUT/meta.txt"

# ---------------------------------------------------------------- the tools
# name|command, per archive; a tool that fails its trial run is left out with a line saying so.
cmd_for() { # TOOL ARCHIVE
    case $1 in
    jobrun-unpack) echo "$RUNAS $UNPACK --max-entries 100000000 --max-bytes 1099511627776 <$2 3<$W/o 4>/dev/null" ;;
    "GNU tar") echo "$RUNAS tar -xf $2 -C $W/o" ;;
    bsdtar) echo "$RUNAS bsdtar -xf $2 -C $W/o" ;;
    zcat) echo "zcat $2 >/dev/null" ;;
    zstdcat) echo "zstdcat $2 >/dev/null" ;;
    floor) echo "$RUNAS $OUT/floor $W/o <$W/sizes.txt" ;;
    bsdcat) echo "bsdcat $2 >/dev/null" ;;
    esac
}

# Did the trial leave what the archive holds? (files and bytes)
trial_ok() { # ARCHIVE
    case $1 in
    *big.tar) [ "$(find "$W/o" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')" = "$BIG_BYTES" ] ;;
    *) [ "$(find "$W/o" -type f | wc -l)" -eq "$NFILES" ] ;;
    esac
}

# measure LABEL ARCHIVE RUNS TOOLS: TOOLS is a '|'-separated list. A trial run of each tool
# first (a tool that fails, or leaves the wrong output, is skipped with a line saying so), then
# ROUNDS hyperfine runs of all of them, the order reversed every other round.
measure() {
    label=$1 arch=$2 runs=$3 tools=$4
    list=""
    oldifs=$IFS
    IFS='|'
    for tool in $tools; do
        IFS=$oldifs
        sh -c "$PREP"
        c=$(cmd_for "$tool" "$arch")
        if ! sh -c "$c" >/dev/null 2>"$OUT/trial.err"; then
            say "bench: SKIP $tool on $label: it failed: $(head -c 300 "$OUT/trial.err")"
            continue
        fi
        case $tool in
        zcat|zstdcat|bsdcat) ;;
        floor) [ "$(find "$W/o" -type f | wc -l)" -eq "$NFILES" ] ||
            { say "bench: SKIP the floor: wrong output"; continue; } ;;
        *) if ! trial_ok "$arch"; then say "bench: SKIP $tool on $label: wrong output"; continue; fi ;;
        esac
        list="$list|$tool"
    done
    IFS=$oldifs
    r=1
    while [ "$r" -le "$ROUNDS" ]; do
        say "bench: $label, round $r of $ROUNDS"
        order=$list
        if [ $((r % 2)) = 0 ]; then
            order=$(printf '%s\n' "$list" | tr '|' '\n' | sed '/^$/d' |
                awk '{ a[NR] = $0 } END { for (i = NR; i >= 1; i--) printf "|%s", a[i] }')
        fi
        set --
        IFS='|'
        for tool in $order; do
            [ -n "$tool" ] || continue
            set -- "$@" -n "$tool" "$(cmd_for "$tool" "$arch")"
        done
        IFS=$oldifs
        hyperfine --style none --runs "$runs" --warmup "$WARMUP" --prepare "$PREP" \
            --export-json "$OUT/$label-$r.json" "$@" >>"$OUT/hyperfine.log" 2>&1 ||
            die "hyperfine failed on $label (see $OUT/hyperfine.log)"
        r=$((r + 1))
    done
    sh -c "$PREP"
}

median_ms() { # LABEL TOOL: the median over every round's runs, in ms, or "" when not measured
    jq -s -r --arg n "$2" '[.[].results[] | select(.command == $n) | .times[]] | sort |
        if length == 0 then "" elif length % 2 == 1 then .[length / 2 | floor] * 1000
        else (.[length / 2 - 1] + .[length / 2]) * 500 end' "$OUT/$1"-*.json
}

TOOLS="jobrun-unpack|GNU tar"
[ $HAVE_BSDTAR = 1 ] && TOOLS="$TOOLS|bsdtar"
FLOOR=""
[ $HAVE_FLOOR = 1 ] && FLOOR="|floor"
DC_GZ="zcat"
DC_ZST="zstdcat"
[ $HAVE_BSDCAT = 1 ] && DC_GZ="zcat|bsdcat" && DC_ZST="zstdcat|bsdcat"
measure small.tar "$W/a/small.tar" "$RUNS" "$TOOLS$FLOOR"
measure small.tar.gz "$W/a/small.tar.gz" "$RUNS" "$TOOLS|$DC_GZ"
measure small.tar.zst "$W/a/small.tar.zst" "$RUNS" "$TOOLS|$DC_ZST"
measure big.tar "$W/a/big.tar" "$BIG_RUNS" "$TOOLS"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"

# ---------------------------------------------------------------- the table
TABLE=$OUT/table.md
{
    echo "| archive | tool | median ms | µs/file | GB/s (file data) | / GNU tar |"
    echo "|---|---|---:|---:|---:|---:|"
    for l in small.tar small.tar.gz small.tar.zst big.tar; do
        g=$(median_ms "$l" "GNU tar")
        for tool in jobrun-unpack "GNU tar" bsdtar floor zcat zstdcat bsdcat; do
            m=$(median_ms "$l" "$tool")
            [ -n "$m" ] || continue
            awk -v l="$l" -v t="$tool" -v m="$m" -v g="$g" -v n="$NFILES" -v sb="$SMALL_BYTES" \
                -v bb="$BIG_BYTES" 'BEGIN {
                big = (l == "big.tar"); bytes = big ? bb : sb
                dc = (t == "zcat" || t == "zstdcat" || t == "bsdcat")
                name = dc ? t " (decompressor alone, to /dev/null)" : t
                if (t == "floor") name = "floor: the same files, bare openat2+write+futimens+close"
                upf = (big || dc) ? "" : sprintf("%.2f", m * 1000 / n)
                r = (g != "" && !dc) ? sprintf("%.2f", m / g) : ""
                printf "| %s | %s | %.1f | %s | %.2f | %s |\n", l, name, m, upf, bytes / (m / 1000) / 1e9, r
            }'
        done
    done
    echo
    for l in small.tar.gz small.tar.zst; do
        u=$(median_ms "$l" jobrun-unpack)
        for d in zcat zstdcat bsdcat; do
            m=$(median_ms "$l" "$d")
            [ -n "$m" ] && [ -n "$u" ] || continue
            awk -v l="$l" -v d="$d" -v u="$u" -v m="$m" 'BEGIN {
                p = (u / m - 1) * 100; side = "above"
                if (p < 0) { p = -p; side = "below" }
                printf "- %s: jobrun-unpack %.1f ms, %s alone %.1f ms: %.0f %% %s the bare decompressor\n",
                    l, u, d, m, p, side
            }'
        done
    done
    u_small=$(median_ms small.tar jobrun-unpack)
    f_small=$(median_ms small.tar floor)
    if [ -n "$f_small" ]; then
        awk -v u="$u_small" -v f="$f_small" -v n="$NFILES" 'BEGIN {
            printf "- small.tar: jobrun-unpack %.2f µs a file, the floor %.2f µs: %.2f µs (%.0f %%) above what the kernel alone costs\n",
                u * 1000 / n, f * 1000 / n, (u - f) * 1000 / n, (u / f - 1) * 100 }'
    fi
    u_big=$(median_ms big.tar jobrun-unpack)
    u_gz=$(median_ms small.tar.gz jobrun-unpack)
    u_zst=$(median_ms small.tar.zst jobrun-unpack)
    d_gz=$(median_ms small.tar.gz zcat)
    d_zst=$(median_ms small.tar.zst zstdcat)
    echo
    echo "Targets:"
    awk -v u="$u_small" -v n="$NFILES" 'BEGIN { x = u * 1000 / n
        v = "NOT met"; if (x <= 8) v = "met"
        printf "- at most 8 µs a small file (.tar): %.2f µs: %s\n", x, v }'
    awk -v u="$u_gz" -v d="$d_gz" 'BEGIN { p = (u / d - 1) * 100
        v = "NOT met"; if (p <= 15) v = "met"
        printf "- .tar.gz within 15 %% of zcat: %+.0f %%: %s\n", p, v }'
    awk -v u="$u_zst" -v d="$d_zst" 'BEGIN { p = (u / d - 1) * 100
        v = "NOT met"; if (p <= 15) v = "met"
        printf "- .tar.zst within 15 %% of zstdcat: %+.0f %%: %s\n", p, v }'
    awk -v u="$u_big" -v b="$BIG_BYTES" 'BEGIN { g = b / (u / 1000) / 1e9
        v = "NOT met"; if (g >= 2) v = "met"
        printf "- at least 2 GB/s for the large file: %.2f GB/s: %s\n", g, v }'
} >"$TABLE"
cat "$OUT/meta.txt" >&2
cat "$TABLE"
say "bench: raw outputs in $OUT"
