#!/bin/sh
# Install every package jobrun needs to build, test and benchmark on Debian or Ubuntu, and
# nothing that is already there. Run as root (`make deps` in a root shell, or `sudo make deps`).
set -eu

# build: compiler, static libc (jobrun-init and the probe are static), the hot binary's libraries
#        (libuv, jansson, libconfuse; libseccomp at build time only), jobrun-unpack's (libarchive
#        and the static archives of its compressors), jobrun-report's and jobrun-fetch's
#        (libcurl, OpenSSL flavour)
# test:  cmocka (unit), jq (reading results), util-linux/mount/procps (unshare, setpriv, findmnt,
#        losetup, pgrep), strace (80-unpack: no open by path), archivers to
#        make hostile archives (bsdtar, zstd, xz, bzip2), clang + libFuzzer (make fuzz),
#        e2fsprogs + quota (an ext4 with user quotas for --scratch: mkfs.ext4, tune2fs; repquota
#        and quotaon -p read the job's quota back)
# bench: hyperfine, bubblewrap (a peer measured side by side), libcap-dev (bench/isolate.sh
#        builds ioi/isolate from source)
# tests: python3 + python3-jsonschema (tests/helpers/validate-result.py checks every result the
#        integration tests produce against docs/result.schema.json; run with /usr/bin/python3);
#        openssl (87-report, 82-fetch: a CA and server certificates made at test time)
PKGS="gcc make libc6-dev pkg-config libuv1-dev libjansson-dev libseccomp-dev libconfuse-dev
libcurl4-openssl-dev libarchive-dev nettle-dev zlib1g-dev libbz2-dev liblzma-dev libzstd-dev libcmocka-dev
jq util-linux mount procps strace libarchive-tools zstd xz-utils bzip2 clang libclang-rt-14-dev e2fsprogs quota
hyperfine bubblewrap libcap-dev
python3 python3-jsonschema openssl"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "deps: all installed"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing:$missing; run as root to install them (make deps in a root shell, or" \
		"sudo make deps)" >&2
	exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
