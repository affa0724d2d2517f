# jobrun - a plain Makefile with pkg-config. `make help` lists the targets.
VERSION     := 0.1.0
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBEXECDIR  ?= $(PREFIX)/libexec/jobrun
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DATADIR     ?= $(PREFIX)/share/jobrun
SYSTEMDDIR  ?= $(PREFIX)/lib/systemd/system
BUILD       ?= build
CC          ?= cc

# The hot binary links only what it needs at start-up (see README: start-up cost). libseccomp
# is a build-time dependency only: seccomp-gen compiles the filter into $(BUILD)/seccomp-bpf.h.
PKGS        := libuv jansson libconfuse
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
SECCOMP_PKG := libseccomp
# LINK=static (the default): jobrun is one static-pie executable, with no dynamic loader and no
# shared library to map and relocate at every job's start (bench/README.md: ~0.5 ms a job).
# LINK=dynamic: the usual shared libraries (make asan uses it: sanitizers need them). Static
# archives come from `pkg-config --static --libs $(PKGS)`, so a package added to PKGS links the
# same way; Debian names libuv's static archive libuv_a.a, hence the substitution. The linker
# warns that getpwnam/getpwuid_r need glibc's NSS modules at run time: libuv's uv_os_get_passwd
# and libconfuse's "~user" expansion of a config path use them; jobrun calls neither.
LINK        ?= static
ifeq ($(LINK),static)
JR_LINK     := -static-pie
JR_LIBS     := $(patsubst -luv,-l:libuv_a.a,$(shell pkg-config --static --libs $(PKGS) 2>/dev/null))
else
JR_LINK     := -pie
JR_LIBS     := $(PKG_LIBS)
endif

WARNINGS    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Wswitch-enum -Wformat=2 -Werror -Wno-format-truncation
# (messages are built in fixed buffers on purpose: truncating one is not a bug)
OPT         ?= -O2 -g
HARDEN      ?= -D_FORTIFY_SOURCE=3 -fstack-protector-strong
# jobrun and the unit tests only (make asan sets them); jobrun-init and the probe always get
# OPT and HARDEN, never sanitizers.
JR_OPT      ?= $(OPT)
JR_HARDEN   ?= $(HARDEN)
SAN         ?=
BASE_CFLAGS := -std=gnu11 $(WARNINGS) -DJR_VERSION='"$(VERSION)"'
CFLAGS_JR   := $(BASE_CFLAGS) $(JR_OPT) $(JR_HARDEN) $(SAN) -fPIE $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_JR  := $(JR_LINK) -Wl,-z,relro,-z,now $(SAN) $(LDFLAGS)
# the unit tests link the shared libraries (and cmocka) whatever LINK says
LDFLAGS_UT  := -pie -Wl,-z,relro,-z,now $(SAN) $(LDFLAGS)
# jobrun-init and the probe are static: they run inside a root that may have no libc (nor a
# sanitizer runtime).
CFLAGS_ST   := $(BASE_CFLAGS) $(OPT) $(HARDEN) -fPIE $(CFLAGS)
LDFLAGS_ST  := -static-pie -Wl,-z,relro,-z,now $(LDFLAGS)
# jobrun-init, which every job execs, has no C library on x86-64 (init.c: start-up cost):
# INIT_NOLIBC=yes there by default; INIT_NOLIBC= builds it with glibc like the probe.
INIT_NOLIBC ?= $(if $(filter x86_64-%,$(filter-out %x32,$(shell $(CC) -dumpmachine 2>/dev/null))),yes)
ifeq ($(INIT_NOLIBC),yes)
# (no loop turned into a call of memset, strlen and the like: there is no library to call;
# the GCC flag that stops it, when the compiler knows it)
NO_LDIST    := $(shell $(CC) -Werror -fno-tree-loop-distribute-patterns -E -x c /dev/null >/dev/null 2>&1 && echo -fno-tree-loop-distribute-patterns)
CFLAGS_INIT := $(CFLAGS_ST) -DJR_INIT_NOLIBC -ffreestanding $(NO_LDIST)
LDFLAGS_INIT:= -static-pie -nostdlib -Wl,-z,relro,-z,now $(LDFLAGS)
else
CFLAGS_INIT := $(CFLAGS_ST)
LDFLAGS_INIT:= $(LDFLAGS_ST)
endif

# Quiet by default: one "  CC build/job.o" line a step. V=1 prints the full command lines,
# make -s nothing.
V           ?= 0
ifeq ($(V),1)
Q           :=
say         :=
else ifneq ($(findstring s,$(firstword -$(MAKEFLAGS))),)
Q           := @
say         := @
else
Q           := @
say          = @printf '  %-4s %s\n' '$(1)' '$(2)';
endif

# make asan: jobrun and the unit tests built with ASan and UBSan in build-asan/, then every
# test under them. Reports are written to files (a test that ignores jobrun's stderr or exit
# status cannot hide one) and fail the target; exit status 86/87 makes the test that ran into
# one fail too. detect_stack_use_after_return also catches pointers into dead stack frames
# that the clone child would use.
ASAN_DIR    := build-asan
ASAN_SAN    := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_LOGS   := $(CURDIR)/$(ASAN_DIR)/sanitizer
ASAN_ENV    := ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_string_checks=1:exitcode=86:log_path=$(ASAN_LOGS)/asan \
               UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87:log_path=$(ASAN_LOGS)/ubsan

LIB_SRCS    := err.c log.c units.c spec.c plan.c child.c seccomp.c uidpool.c result.c pump.c \
               job.c run.c proto.c acct.c cgroup.c cgroup-v1.c cgroup-v2.c cgroup-job.c check.c scratch.c quota.c helper.c workspace.c collect.c stage.c \
               jobreq.c cfgparse.c jobconf.c conf.c job-stage.c cgroup-update.c pathcheck.c callerpath.c
LIB_SRCS    += serve.c sproto.c client.c
LIB_SRCS    += sweep.c outbox.c
LIB_SRCS    += job-fetch.c isolate.c
LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_TESTS  := test_units test_result test_run_parse test_plan test_pump test_acct test_cgroup \
               test_jobreq test_conf test_pathcheck test_collect test_callerpath test_options \
               test_sweep test_sproto
UNIT_BINS   := $(UNIT_TESTS:%=$(BUILD)/tests/%)

.PHONY: all deps demo check check-unit check-root check-vm asan bench soak fuzz install clean help FORCE

all: $(BUILD)/jobrun $(BUILD)/jobrun-init $(BUILD)/jobrun-unpack $(BUILD)/jobrun-report $(BUILD)/jobrun-fetch $(BUILD)/probe $(BUILD)/manyjobs $(BUILD)/serveclient

help:
	@echo "make            build $(BUILD)/jobrun, jobrun-init, jobrun-unpack and the probe"
	@echo "make deps       apt-get install every build and test dependency that is missing"
	@echo "make demo       deps + build + run the example job and print its result (as root)"
	@echo "make check      unit tests, then integration tests (as root); one summary line"
	@echo "make check-vm   the integration tests again in a cgroup-v2 VM (../shared/tools)"
	@echo "make asan       ASan+UBSan build in build-asan/, then the tests under it; fails on"
	@echo "                any sanitizer report (build-asan/sanitizer/)"
	@echo "V=1             print full command lines instead of \"  CC build/x.o\""
	@echo "make bench      side-by-side benchmarks (bench/README.md)"
	@echo "make soak       10,000 jobs through jobrun serve: nothing may leak"
	@echo "make install    install into PREFIX=$(PREFIX): bin/jobrun, libexec/jobrun/ (its"
	@echo "                helpers, found from bin/jobrun wherever PREFIX is), the man page,"
	@echo "                the bash completion, share/jobrun/result.schema.json; then run"
	@echo "                PREFIX/bin/jobrun check (as root)"

$(BUILD)/%.o: jobrun/%.c jobrun/*.h | $(BUILD)
	$(call say,CC,$@)$(CC) $(CFLAGS_JR) -c -o $@ $<

# jobrun finds jobrun-init and jobrun-unpack from its own executable (/proc/self/exe, helper.c)
# at LIBEXECDIR as seen from BINDIR: ../libexec/jobrun whatever PREFIX is, so `make install
# PREFIX=...` needs no other build. Another layout (LIBEXECDIR=/usr/lib/jobrun) changes the stamp,
# which rebuilds helper.o.
LIBEXEC_REL := $(shell realpath -m -s --relative-to='$(BINDIR)' '$(LIBEXECDIR)')
$(BUILD)/libexec-rel.stamp: FORCE | $(BUILD)
	$(Q)echo '$(LIBEXEC_REL)' | cmp -s - $@ || echo '$(LIBEXEC_REL)' >$@
$(BUILD)/helper.o: jobrun/helper.c jobrun/*.h $(BUILD)/libexec-rel.stamp | $(BUILD)
	$(call say,CC,$@)$(CC) $(CFLAGS_JR) -DJR_LIBEXEC_REL='"$(LIBEXEC_REL)"' -c -o $@ $<
FORCE:

$(BUILD)/jobrun: $(BUILD)/main.o $(LIB_OBJS)
	$(call say,LD,$@)$(CC) -o $@ $^ $(LDFLAGS_JR) $(JR_LIBS)

# The seccomp filter, compiled at build time for the build machine's architecture (seccomp.c
# refuses another target). The generator is a build tool: no sanitizer, nothing installed.
$(BUILD)/seccomp-gen: jobrun/seccomp-gen.c | $(BUILD)
	$(call say,CCLD,$@)$(CC) $(BASE_CFLAGS) $(OPT) $(shell pkg-config --cflags $(SECCOMP_PKG) 2>/dev/null) \
		-o $@ $< $(shell pkg-config --libs $(SECCOMP_PKG) 2>/dev/null || echo -lseccomp)

$(BUILD)/seccomp-bpf.h: $(BUILD)/seccomp-gen
	$(call say,GEN,$@)$(BUILD)/seccomp-gen $@

$(BUILD)/seccomp.o: jobrun/seccomp.c jobrun/*.h $(BUILD)/seccomp-bpf.h | $(BUILD)
	$(call say,CC,$@)$(CC) $(CFLAGS_JR) -iquote $(BUILD) -c -o $@ $<

# Without a C library nothing relocates the program at start: it must need no relocation.
$(BUILD)/jobrun-init: jobrun/init.c jobrun/proto.c jobrun/proto.h | $(BUILD)
	$(call say,CCLD,$@)$(CC) $(CFLAGS_INIT) -o $@ jobrun/init.c jobrun/proto.c $(LDFLAGS_INIT)
	$(Q)if [ "$(INIT_NOLIBC)" = yes ] && LC_ALL=C readelf -rW $@ | grep -q '^ *[0-9a-f]\{8,\} '; then \
		echo "$@: has relocations, which nothing applies without a C library" >&2; rm -f $@; exit 1; fi

# jobrun-unpack: the only program that links libarchive (the hot binary must not: start-up
# cost). It parses the job config too (-DJR_UNPACK_PARSE_JOBCONF): untrusted input is never
# parsed by root.
# Linked statically but for zstd (Debian ships no libzstd.a): the shared libarchive drags in
# libxml2, ICU and libstdc++, ~2 ms of loading on every tarball job (bench/README.md).
UNPACK_PKGS := libarchive jansson libconfuse
UNPACK_SRCS := unpack.c extract.c pathcheck.c err.c jobconf.c cfgparse.c jobreq.c spec.c
UNPACK_LIBS ?= -Wl,-Bstatic -larchive -lnettle -lz -lbz2 -llzma -ljansson -lconfuse \
               -Wl,-Bdynamic -l:libzstd.so.1 -lpthread
$(BUILD)/jobrun-unpack: $(UNPACK_SRCS:%=jobrun/%) jobrun/*.h | $(BUILD)
	$(call say,CCLD,$@)$(CC) $(BASE_CFLAGS) $(OPT) $(HARDEN) -fPIE -DJR_UNPACK_PARSE_JOBCONF \
		$(shell pkg-config --cflags $(UNPACK_PKGS)) -o $@ $(UNPACK_SRCS:%=jobrun/%) \
		-pie -Wl,-z,relro,-z,now $(UNPACK_LIBS)

# jobrun-report: delivers the outbox (outbox.h) with libcurl, which no other program of
# jobrun links (start-up cost: ~5 ms an exec here). Dynamic: it starts once, not every job.
REPORT_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)
REPORT_LIBS   := $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
$(BUILD)/jobrun-report: jobrun/report.c $(LIB_OBJS) | $(BUILD)
	$(call say,CCLD,$@)$(CC) $(CFLAGS_JR) $(REPORT_CFLAGS) -o $@ jobrun/report.c $(LIB_OBJS) \
		$(LDFLAGS_UT) $(PKG_LIBS) $(REPORT_LIBS)

# jobrun-fetch: downloads a job tarball by URL (fetch-proto.h) with libcurl, as the job's uid;
# jobrun starts it only for a URL, so `jobrun run` with a file never loads libcurl. Dynamic, and
# nothing of jobrun's library: it shares only the protocol header.
$(BUILD)/jobrun-fetch: jobrun/fetch.c jobrun/fetch-proto.h | $(BUILD)
	$(call say,CCLD,$@)$(CC) $(BASE_CFLAGS) $(OPT) $(HARDEN) -fPIE $(REPORT_CFLAGS) -o $@ \
		jobrun/fetch.c -pie -Wl,-z,relro,-z,now $(REPORT_LIBS)

# Fuzz targets (libFuzzer, clang): `make fuzz` builds them and runs each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 20
FUZZ_CC     ?= clang
FUZZ_FLAGS  := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Ijobrun
FUZZ_CONF   := jobconf.c cfgparse.c jobreq.c conf.c plan.c err.c spec.c units.c callerpath.c
FUZZ_BINS   := $(BUILD)/fuzz/fuzz_jobconf $(BUILD)/fuzz/fuzz_units $(BUILD)/fuzz/fuzz_jobreq_json \
               $(BUILD)/fuzz/fuzz_pathcheck $(BUILD)/fuzz/fuzz_sproto
$(BUILD)/fuzz/fuzz_jobconf $(BUILD)/fuzz/fuzz_units: $(BUILD)/fuzz/%: tests/fuzz/%.c jobrun/*.c jobrun/*.h
	@mkdir -p $(BUILD)/fuzz
	$(call say,FUZZ,$@)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_CONF:%=jobrun/%) $(shell pkg-config --libs libconfuse jansson)
$(BUILD)/fuzz/fuzz_jobreq_json: tests/fuzz/fuzz_jobreq_json.c jobrun/*.c jobrun/*.h
	@mkdir -p $(BUILD)/fuzz
	$(call say,FUZZ,$@)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< jobrun/jobreq.c jobrun/err.c jobrun/spec.c $(shell pkg-config --libs jansson)
$(BUILD)/fuzz/fuzz_pathcheck: tests/fuzz/fuzz_pathcheck.c jobrun/pathcheck.c jobrun/pathcheck.h
	@mkdir -p $(BUILD)/fuzz
	$(call say,FUZZ,$@)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< jobrun/pathcheck.c
$(BUILD)/fuzz/fuzz_sproto: tests/fuzz/fuzz_sproto.c jobrun/*.c jobrun/*.h
	@mkdir -p $(BUILD)/fuzz
	$(call say,FUZZ,$@)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< jobrun/sproto.c jobrun/jobreq.c jobrun/err.c jobrun/spec.c $(shell pkg-config --libs jansson)
fuzz: $(FUZZ_BINS)
	@sh tests/fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECONDS)

# N jobs at once on one loop through the job lifecycle (tests/integration/70-many.sh)
$(BUILD)/manyjobs: tests/helpers/manyjobs.c $(LIB_OBJS) | $(BUILD)
	@mkdir -p $(BUILD)/tests
	$(call say,CCLD,$@)$(CC) $(CFLAGS_JR) -Ijobrun -o $@ $< $(LIB_OBJS) $(LDFLAGS_JR) $(JR_LIBS)

# a raw client of jobrun serve's socket: bad requests, descriptors, idle connections (85-serve.sh)
$(BUILD)/serveclient: tests/helpers/serveclient.c | $(BUILD)
	$(call say,CCLD,$@)$(CC) $(CFLAGS_ST) -Wno-missing-prototypes -o $@ $< $(LDFLAGS_ST)

$(BUILD)/probe: tests/helpers/probe.c | $(BUILD)
	$(call say,CCLD,$@)$(CC) $(CFLAGS_ST) -Wno-missing-prototypes -o $@ $< $(LDFLAGS_ST) -lpthread

# test_options is a shell script run like the cmocka tests: every long option of run.c's
# options[] is in the bash completion and the man page.
$(BUILD)/tests/test_options: tests/unit/test_options.sh | $(BUILD)
	@mkdir -p $(BUILD)/tests
	$(call say,GEN,$@)printf '#!/bin/sh\nexec sh "%s/tests/unit/test_options.sh" "%s"\n' \
		'$(CURDIR)' '$(CURDIR)' >$@ && chmod 0755 $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)
	@mkdir -p $(BUILD)/tests
	$(call say,CCLD,$@)$(CC) $(CFLAGS_JR) -Ijobrun -o $@ $< $(LIB_OBJS) $(LDFLAGS_UT) $(PKG_LIBS) -lcmocka

$(BUILD):
	$(Q)mkdir -p $(BUILD)

deps:
	@sh packaging/install-deps.sh

check: all $(UNIT_BINS)
	@sh tests/run-all.sh $(BUILD)

check-unit: $(UNIT_BINS)
	@sh tests/run-all.sh --unit-only $(BUILD)

check-root: all
	@sh tests/run-all.sh --root-only $(BUILD)

# The same integration tests inside a throw-away VM with pure cgroup v2 (a test tool beside
# the project, not part of it).
check-vm: all
	@if [ -x ../shared/tools/cgroup-vm ]; then \
	  ../shared/tools/cgroup-vm --timeout 2700 --disk 64M --disk-fs ext4 --share "$(CURDIR)" -- sh "$(CURDIR)/tests/run-all.sh" --root-only --lane vm "$(CURDIR)/$(BUILD)"; \
	else echo "check-vm: ../shared/tools/cgroup-vm not found: skipped"; fi

demo: deps all
	@sh conf/examples/demo.sh $(BUILD)

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=$(ASAN_DIR) JR_OPT="-O1 -g" JR_HARDEN= SAN="$(ASAN_SAN)" LINK=dynamic \
		all $(UNIT_TESTS:%=$(ASAN_DIR)/tests/%)
	$(Q)rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	$(Q){ $(ASAN_ENV) sh tests/run-all.sh --lane asan $(ASAN_DIR); echo $$? >$(ASAN_DIR)/tests.rc; } | \
		tee $(ASAN_DIR)/tests.log; \
	rc=$$(cat $(ASAN_DIR)/tests.rc); \
	sum=$$(grep -E '^asan: [0-9]+ passed' $(ASAN_DIR)/tests.log | tail -n 1); \
	n=$$(find $(ASAN_LOGS) -type f | wc -l); \
	for f in $$(find $(ASAN_LOGS) -type f | sort); do \
		echo "# --- sanitizer report $$f"; head -n 40 "$$f" | sed 's/^/#   /'; done; \
	echo "$${sum:-asan: no test summary}; sanitizer reports: $$n$$([ $$n -gt 0 ] && echo " (in $(ASAN_LOGS))")"; \
	[ "$$rc" = 0 ] && [ "$$n" = 0 ]

# N (10000) short jobs through one jobrun serve: descriptors, mounts, cgroups and RSS before and
# after (minutes; not part of check).
soak: all
	@bash tests/soak/serve-soak.sh $(BUILD)

bench: all
	@sh bench/run.sh $(BUILD)
	@sh bench/serve.sh $(BUILD)
	@sh bench/isolate.sh $(BUILD)

# jobrun runs its helpers only from a directory of root's that only root can write (helper.h):
# install as root, or have the package make them root's.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BUILD)/jobrun $(DESTDIR)$(BINDIR)/jobrun
	install -m 0755 $(BUILD)/jobrun-init $(DESTDIR)$(LIBEXECDIR)/jobrun-init
	install -m 0755 $(BUILD)/jobrun-unpack $(DESTDIR)$(LIBEXECDIR)/jobrun-unpack
	install -m 0755 $(BUILD)/jobrun-report $(DESTDIR)$(LIBEXECDIR)/jobrun-report
	install -m 0755 $(BUILD)/jobrun-fetch $(DESTDIR)$(LIBEXECDIR)/jobrun-fetch
	install -m 0644 packaging/man/jobrun.1 $(DESTDIR)$(MANDIR)/man1/jobrun.1
	install -m 0644 packaging/bash-completion/jobrun $(DESTDIR)$(BASHCOMPDIR)/jobrun
	install -d $(DESTDIR)$(DATADIR)
	install -m 0644 docs/result.schema.json $(DESTDIR)$(DATADIR)/result.schema.json
	install -d $(DESTDIR)$(SYSTEMDDIR)
	sed 's|/usr/local/bin/jobrun|$(BINDIR)/jobrun|' packaging/systemd/jobrun.service \
		> $(DESTDIR)$(SYSTEMDDIR)/jobrun.service

clean:
	rm -rf build build-asan
