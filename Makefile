# jobrun - a plain Makefile with pkg-config. `make help` lists the targets.
VERSION     := 0.1.0
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBEXECDIR  ?= $(PREFIX)/libexec/jobrun
MANDIR      ?= $(PREFIX)/share/man
BUILD       ?= build
CC          ?= cc

# The hot binary links only what it needs at start-up (see README: start-up cost).
PKGS        := libuv jansson libseccomp
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARNINGS    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Wswitch-enum -Wformat=2 -Werror -Wno-format-truncation
# (messages are built in fixed buffers on purpose: truncating one is not a bug)
OPT         ?= -O2 -g
HARDEN      ?= -D_FORTIFY_SOURCE=3 -fstack-protector-strong
SAN         ?=
BASE_CFLAGS := -std=gnu11 $(OPT) $(WARNINGS) $(HARDEN) -DJR_VERSION='"$(VERSION)"' \
               -DJR_LIBEXECDIR='"$(LIBEXECDIR)"'
CFLAGS_JR   := $(BASE_CFLAGS) $(SAN) -fPIE $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_JR  := -pie -Wl,-z,relro,-z,now $(SAN) $(LDFLAGS)
# jobrun-init and the probe are static: they run inside a root that may have no libc.
CFLAGS_ST   := $(BASE_CFLAGS) -fPIE $(CFLAGS)
LDFLAGS_ST  := -static-pie -Wl,-z,relro,-z,now $(LDFLAGS)

LIB_SRCS    := err.c log.c units.c spec.c plan.c child.c seccomp.c uidpool.c result.c pump.c \
               job.c run.c proto.c acct.c cgroup.c cgroup-v1.c cgroup-v2.c cgroup-job.c check.c scratch.c helper.c workspace.c collect.c stage.c
LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_TESTS  := test_units test_result test_run_parse test_plan test_pump test_acct test_cgroup
UNIT_BINS   := $(UNIT_TESTS:%=$(BUILD)/tests/%)

.PHONY: all deps demo check check-unit check-root check-vm asan bench install clean help

all: $(BUILD)/jobrun $(BUILD)/jobrun-init $(BUILD)/probe

help:
	@echo "make            build $(BUILD)/jobrun, $(BUILD)/jobrun-init, $(BUILD)/probe"
	@echo "make deps       apt-get install every build and test dependency that is missing"
	@echo "make demo       deps + build + run the example job and print its result (root)"
	@echo "make check      unit tests, then integration tests as root; one summary line"
	@echo "make check-vm   the integration tests again in a cgroup-v2 VM (../shared/tools)"
	@echo "make asan       ASan+UBSan build in build-asan/, then the tests under it"
	@echo "make bench      side-by-side benchmarks (bench/README.md)"
	@echo "make install    install into PREFIX=$(PREFIX)"

$(BUILD)/%.o: jobrun/%.c jobrun/*.h | $(BUILD)
	$(CC) $(CFLAGS_JR) -c -o $@ $<

$(BUILD)/jobrun: $(BUILD)/main.o $(LIB_OBJS)
	$(CC) -o $@ $^ $(LDFLAGS_JR) $(PKG_LIBS)

$(BUILD)/jobrun-init: jobrun/init.c jobrun/proto.c jobrun/proto.h | $(BUILD)
	$(CC) $(CFLAGS_ST) -o $@ jobrun/init.c jobrun/proto.c $(LDFLAGS_ST)

$(BUILD)/probe: tests/helpers/probe.c | $(BUILD)
	$(CC) $(CFLAGS_ST) -Wno-missing-prototypes -o $@ $< $(LDFLAGS_ST) -lpthread

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_JR) -Ijobrun -o $@ $< $(LIB_OBJS) $(LDFLAGS_JR) $(PKG_LIBS) -lcmocka

$(BUILD):
	mkdir -p $(BUILD)

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
	  ../shared/tools/cgroup-vm --share "$(CURDIR)" -- sh "$(CURDIR)/tests/run-all.sh" --root-only --lane vm "$(CURDIR)/$(BUILD)"; \
	else echo "check-vm: ../shared/tools/cgroup-vm not found: skipped"; fi

demo: deps all
	@sh conf/examples/demo.sh $(BUILD)

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g" HARDEN= SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" all $(UNIT_TESTS:%=build-asan/tests/%)
	ASAN_OPTIONS=detect_leaks=1 sh tests/run-all.sh build-asan

bench: all
	@sh bench/run.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BUILD)/jobrun $(DESTDIR)$(BINDIR)/jobrun
	install -m 0755 $(BUILD)/jobrun-init $(DESTDIR)$(LIBEXECDIR)/jobrun-init
	install -m 0644 packaging/man/jobrun.1 $(DESTDIR)$(MANDIR)/man1/jobrun.1

clean:
	rm -rf build build-asan
