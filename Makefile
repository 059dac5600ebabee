# ccunlock: plain GNU Makefile.
#
#   make            release build in build/ (hardened, warnings are errors)
#   make check      every test (unit, shell, integration, VM); ends "N passed, N failed"
#   make check-san  unit + integration tests under ASan+UBSan (build-san/)
#   make lint       cppcheck, clang-tidy, shellcheck
#   make fuzz       builds the libFuzzer targets (clang) and runs each briefly
#   make demo       the main job, end to end
#   make man        the man pages, from docs/*.8.md (go-md2man), in build/man/
#   make install    DESTDIR=... PREFIX=/usr
#
# Sources are found by wildcard: a new src/<part>/x.c joins its part, a new
# tests/unit/test_x.c becomes a test binary, tests/fuzz/fuzz_x.c a fuzz target.
# Test-only code lives in its own directories, src/testonly/ (the SEV-SNP
# simulator, the simulated evidence provider, the test binary's hooks; laid
# out by part, src/testonly/<part>/x.c, with its headers found through
# -Isrc/testonly) and src/tools/ (the test tools): release binaries never
# compile anything from them, whatever the file names. A simulator file
# (*_sim.c, sim*.c) anywhere else stops the build with an error: move it
# under src/testonly/<part>/ (git mv).

O        ?= build
MODE     ?= release
PREFIX   ?= /usr
DESTDIR  ?=
SBINDIR  ?= $(PREFIX)/sbin
LIBDIR   ?= $(PREFIX)/lib
DATADIR  ?= $(PREFIX)/share
SYSCONFDIR ?= /etc
UNITDIR  ?= $(LIBDIR)/systemd/system
DRACUTDIR ?= $(LIBDIR)/dracut/modules.d
ITDIR    ?= $(DATADIR)/initramfs-tools
MANDIR   ?= $(DATADIR)/man

# Warnings are errors in the tree's own builds (developers, CI: WERROR=1);
# a distribution build passes its own flags and WERROR=0 (debian/rules), so
# a newer compiler's new warning does not fail a package build.
WERROR ?= 1
# Lint lanes (clang-tidy files at once).
LINT_JOBS ?= $(shell nproc 2>/dev/null || echo 1)

# Build-time fail-closed action of the early-boot hooks: poweroff or reboot.
FAIL_ACTION ?= poweroff
# Build-time switch for a passphrase fallback prompt (off unless the image
# builder asks for it; see README).
FALLBACK_PROMPT ?= no

PKG_CONFIG ?= pkg-config
PKGS_CORE   := libcrypto jansson
PKGS_GUEST  := libcurl libssl libcryptsetup
PKGS_BROKER := sqlite3 libpq libevent libevent_openssl libevent_pthreads libssl libcurl
PKGS_TEST   := cmocka

pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1))
pc_libs   = $(shell $(PKG_CONFIG) --libs $(1))

WARN := -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -Wformat=2 -Werror=format-security -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
	-Wpointer-arith -Wcast-qual -Wwrite-strings -Wvla -Wundef \
	-Wimplicit-fallthrough -Wold-style-definition -Wredundant-decls \
	-Wnested-externs

BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Isrc -Isrc/testonly -fno-common -pipe -g

# Control-flow protection (CET) exists on x86 only; other architectures
# (arm64: -mbranch-protection) get none rather than a compiler error.
TARGET_ARCH_CC := $(shell $(CC) -dumpmachine 2>/dev/null)
CF_PROTECTION := $(if $(filter x86_64-% i386-% i486-% i586-% i686-%,$(TARGET_ARCH_CC)),-fcf-protection=full)

ifeq ($(MODE),release)
CC ?= cc
OPT_CFLAGS := -O2 -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3 -fstack-protector-strong \
	-fstack-clash-protection $(CF_PROTECTION) -fPIE
OPT_LDFLAGS := -pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack -Wl,--as-needed
else ifeq ($(MODE),san)
OPT_CFLAGS := -O1 -fPIE -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fstack-protector-strong
OPT_LDFLAGS := -pie -fsanitize=address,undefined -Wl,-z,relro -Wl,-z,now
else ifeq ($(MODE),fuzz)
CC := clang
OPT_CFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
	-DCCU_FUZZING=1
OPT_LDFLAGS := -fsanitize=address,undefined
else ifeq ($(MODE),debug)
# For valgrind: glibc's _FORTIFY_SOURCE=3 memmove reaches valgrind as
# __memcpy_chk and every overlapping move is reported; valgrind gets a
# build without fortification (the release build keeps it).
OPT_CFLAGS := -O1 -fPIE -fno-omit-frame-pointer -fstack-protector-strong
OPT_LDFLAGS := -pie -Wl,-z,relro -Wl,-z,now
else ifeq ($(MODE),cov)
OPT_CFLAGS := -O0 --coverage
OPT_LDFLAGS := --coverage
else
$(error unknown MODE '$(MODE)' (release, san, fuzz, debug, cov))
endif

ALL_CFLAGS = $(BASE_CFLAGS) $(OPT_CFLAGS) $(WARN) \
	$(call pc_cflags,$(PKGS_CORE) $(PKGS_GUEST) $(PKGS_BROKER)) $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(OPT_LDFLAGS) $(LDFLAGS)

LIBS_CORE   = $(call pc_libs,$(PKGS_CORE))
LIBS_GUEST  = $(call pc_libs,$(PKGS_GUEST)) $(LIBS_CORE)
LIBS_BROKER = $(call pc_libs,$(PKGS_BROKER)) $(LIBS_CORE) -lpthread
LIBS_ALL    = $(call pc_libs,$(PKGS_GUEST) $(PKGS_BROKER)) $(LIBS_CORE) -lpthread

TESTONLY_DIR := src/testonly
TEST_TOOLS_DIR := src/tools
# Release parts: src/<part>/*.c outside the test-only directories.
STRAY_SIM := $(filter-out $(TESTONLY_DIR)/% $(TEST_TOOLS_DIR)/%,\
	$(wildcard src/*/*_sim.c src/*/sim*.c src/*/*/*_sim.c src/*/*/sim*.c))
ifneq ($(STRAY_SIM),)
$(error simulator code outside $(TESTONLY_DIR)/: $(STRAY_SIM); move it to $(TESTONLY_DIR)/<part>/ (git mv))
endif

CORE_SRC   := $(wildcard src/common/*.c src/snp/*.c src/kbs/*.c src/measure/*.c)
CORE_REL   := $(CORE_SRC)
# The test binary's provider table; every other test-only file is in LIB_SIM.
GUEST_PROV_TEST := $(wildcard $(TESTONLY_DIR)/guest/providers_test.c)
SIM_SRC    := $(filter-out $(GUEST_PROV_TEST),$(wildcard $(TESTONLY_DIR)/*.c $(TESTONLY_DIR)/*/*.c))
GUEST_SRC  := $(wildcard src/guest/*.c)
CLI_SRC    := $(filter-out src/ccunlock/main.c,$(wildcard src/ccunlock/*.c))
BROKER_SRC := $(filter-out src/broker/main.c,$(wildcard src/broker/*.c))

obj = $(patsubst %.c,$(O)/obj/%.o,$(1))

LIB_CORE   := $(O)/libccu-core.a
LIB_SIM    := $(O)/libccu-sim.a
LIB_GUEST  := $(O)/libccu-guest.a
LIB_CLI    := $(O)/libccu-cli.a
LIB_BROKER := $(O)/libccu-broker.a

# The guest binary picks its evidence providers from a table; the release
# table (providers_release.c) has no simulator and no test hooks, the test
# table (src/testonly/guest/providers_test.c) adds them.
GUEST_PROV_REL  := $(wildcard src/guest/providers_release.c)
GUEST_SRC := $(filter-out $(GUEST_PROV_REL),$(GUEST_SRC))

BIN_GUEST      := $(O)/ccunlock
BIN_BROKER     := $(O)/ccunlock-kbs
BIN_GUEST_TEST := $(O)/test/ccunlock
BIN_SIM        := $(O)/test/ccunlock-sim
BIN_KBS_CLIENT := $(O)/test/kbs-sim-client
BIN_BENCH_VERIFY := $(O)/test/bench-verify

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))
# The KBS client flow of the simulated guest: shared by kbs-sim-client and tests.
KBS_FLOW_SRC := $(wildcard src/tools/kbs_flow_sim.c)
TEST_HELPER_SRC := $(wildcard tests/unit/helpers/*.c) $(KBS_FLOW_SRC)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(O)/fuzz/%,$(FUZZ_SRC))

HAVE_GUEST_MAIN  := $(wildcard src/ccunlock/main.c)
HAVE_BROKER_MAIN := $(wildcard src/broker/main.c)
HAVE_SIM_TOOL    := $(wildcard src/tools/ccunlock-sim.c)
HAVE_KBS_CLIENT  := $(wildcard src/tools/kbs-sim-client.c)

BINS := $(if $(HAVE_GUEST_MAIN),$(BIN_GUEST)) $(if $(HAVE_BROKER_MAIN),$(BIN_BROKER))
TEST_BINS := $(if $(HAVE_GUEST_MAIN),$(BIN_GUEST_TEST)) $(if $(HAVE_SIM_TOOL),$(BIN_SIM)) \
	$(if $(HAVE_KBS_CLIENT),$(BIN_KBS_CLIENT)) $(BIN_BENCH_VERIFY)

# Man pages: docs/NAME.SECTION.md -> $(O)/man/NAME.SECTION. The markdown's
# first line "# NAME(SECTION)" becomes go-md2man's title line.
MD2MAN  ?= go-md2man
MAN_SRC := $(wildcard docs/*.[1-8].md)
MAN_PAGES := $(patsubst docs/%.md,$(O)/man/%,$(MAN_SRC))

.PHONY: all test-bins check man check-san check-valgrind lint fuzz fuzz-build demo install \
	clean deps-check deps-demo unit bench

all: $(BINS)

# The fuzz targets are compiled (not linked: that needs clang's libFuzzer)
# with the test binaries, so a target that falls behind an interface fails
# `make check`, not only `make fuzz`.
FUZZ_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(FUZZ_SRC))

test-bins: all $(TEST_BINS) $(UNIT_BINS) $(FUZZ_OBJS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

.SECONDARY:

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB_CORE): $(call obj,$(CORE_REL))
$(LIB_SIM): $(call obj,$(SIM_SRC))
$(LIB_GUEST): $(call obj,$(GUEST_SRC))
$(LIB_CLI): $(call obj,$(CLI_SRC))
$(LIB_BROKER): $(call obj,$(BROKER_SRC))
$(O)/lib%.a:
	@mkdir -p $(dir $@)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

# ---------------------------------------------------------------- static guest
# The guest binaries (build/ccunlock and build/test/ccunlock) of a release
# build are one statically linked PIE each: the initramfs carries no library
# on their behalf. jansson, json-c, libargon2 and libuuid come from Debian's
# own static archives (lib*-dev); OpenSSL (no engines/DSO, no legacy
# algorithms), libcurl (HTTPS only), libdevmapper (no udev sync) and
# libcryptsetup (OpenSSL backend, no token plugins) are built once
# from Debian 12's pinned source packages into $(DEPS_DIR) by
# tools/static-deps.sh (tools/static-deps.lock; docs/DESIGN.md). A stamp file
# per dependency keeps `make` from rebuilding them; bumping the lock does.
# STATIC_GUEST=no links the guest dynamically (sanitizer, fuzz, debug and
# coverage builds always do).
STATIC_GUEST ?= $(if $(filter release,$(MODE)),yes,no)
DEPS_DIR     ?= build/deps
DEPS_PREFIX  := $(abspath $(DEPS_DIR))/prefix
DEPS_NAMES   := openssl curl lvm2 cryptsetup
DEPS_STAMPS  := $(addprefix $(DEPS_DIR)/stamp-,$(DEPS_NAMES))
STATIC_PC     = PKG_CONFIG_PATH=$(DEPS_PREFIX)/lib/pkgconfig $(PKG_CONFIG) --static

ifeq ($(STATIC_GUEST),yes)
GUEST_LINK_KIND := (static-pie)
GUEST_LINK_DEPS := $(DEPS_STAMPS)
# --gc-sections drops what the archives carry but the guest never calls.
GUEST_LDFLAGS    = -static-pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack -Wl,--gc-sections \
	$(LDFLAGS)
GUEST_LIBS       = -L$(DEPS_PREFIX)/lib \
	$(shell $(STATIC_PC) --libs $(PKGS_GUEST) $(PKGS_CORE) 2>/dev/null) -lpthread
else
GUEST_LINK_KIND :=
GUEST_LINK_DEPS :=
GUEST_LDFLAGS    = $(ALL_LDFLAGS)
GUEST_LIBS       = $(LIBS_GUEST)
endif

.PHONY: static-deps
static-deps: $(DEPS_STAMPS)

# Ordered: libcurl and libcryptsetup are configured against the OpenSSL and
# the libdevmapper built here.
$(DEPS_DIR)/stamp-curl: $(DEPS_DIR)/stamp-openssl
$(DEPS_DIR)/stamp-cryptsetup: $(DEPS_DIR)/stamp-lvm2 $(DEPS_DIR)/stamp-openssl
$(DEPS_DIR)/stamp-%: tools/static-deps.lock
	@rm -f $@
	DEPS=$(abspath $(DEPS_DIR)) JOBS=2 tools/static-deps.sh $*

# The guest link rules: the objects of each guest binary are listed once
# (GUEST_OBJS_*); GUEST_LDFLAGS and GUEST_LIBS link them statically or dynamically (see the
# static guest section above). A new guest part adds its library here.
GUEST_OBJS_REL  = $(call obj,src/ccunlock/main.c $(GUEST_PROV_REL)) $(LIB_CLI) $(LIB_GUEST) \
	$(LIB_CORE)
GUEST_OBJS_TEST = $(call obj,src/ccunlock/main.c $(GUEST_PROV_TEST)) $(LIB_CLI) $(LIB_SIM) \
	$(LIB_GUEST) $(LIB_CORE)

$(BIN_GUEST): $(GUEST_OBJS_REL) $(GUEST_LINK_DEPS)
	@$(if $(Q),echo "  LD      $@ $(GUEST_LINK_KIND)")
	$(Q)$(CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS_REL) $(GUEST_LIBS)

$(BIN_GUEST_TEST): $(GUEST_OBJS_TEST) $(GUEST_LINK_DEPS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@ $(GUEST_LINK_KIND)")
	$(Q)$(CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS_TEST) $(GUEST_LIBS)

$(BIN_BROKER): $(call obj,src/broker/main.c) $(LIB_BROKER) $(LIB_CORE)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_BROKER)

$(BIN_SIM): $(call obj,src/tools/ccunlock-sim.c) $(LIB_SIM) $(LIB_CORE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CORE)

$(BIN_KBS_CLIENT): $(call obj,src/tools/kbs-sim-client.c $(KBS_FLOW_SRC)) $(LIB_SIM) $(LIB_CORE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc_libs,libcurl libssl) $(LIBS_CORE) -lpthread

$(BIN_BENCH_VERIFY): $(call obj,src/tools/bench-verify.c) $(LIB_CORE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CORE)

TEST_LIBS := $(if $(BROKER_SRC),$(LIB_BROKER)) $(if $(CLI_SRC),$(LIB_CLI)) \
	$(if $(SIM_SRC),$(LIB_SIM)) $(if $(GUEST_SRC),$(LIB_GUEST)) $(LIB_CORE)

$(O)/tests/%: $(O)/obj/tests/unit/%.o $(call obj,$(TEST_HELPER_SRC)) $(TEST_LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_ALL) $(call pc_libs,$(PKGS_TEST))

$(O)/obj/tests/%.o: ALL_CFLAGS += $(call pc_cflags,$(PKGS_TEST)) -Itests/unit

# ---------------------------------------------------------------- checks
# Every check target first makes sure the Debian packages it needs are there.
deps-check:
	@tools/deps.sh check

deps-demo:
	@tools/deps.sh demo

check: deps-check
	$(MAKE) test-bins
	O=$(O) tests/run.sh

unit: test-bins
	O=$(O) tests/run.sh unit

check-san: deps-check
	$(MAKE) O=build-san MODE=san test-bins
	O=build-san CCU_SANITIZED=1 tests/run.sh unit integration

check-valgrind: deps-check
	$(MAKE) O=build-vg MODE=debug test-bins
	O=build-vg CCU_VALGRIND=1 tests/run.sh unit

# ---------------------------------------------------------------- fuzzing
FUZZ_SECONDS ?= 20
fuzz-build:
	$(MAKE) O=build-fuzz MODE=fuzz build-fuzz-targets

.PHONY: build-fuzz-targets
build-fuzz-targets: $(FUZZ_BINS)

$(O)/fuzz/%: $(O)/obj/tests/fuzz/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS_ALL)

fuzz: deps-check fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh build-fuzz/fuzz

# ---------------------------------------------------------------- lint
SHELL_FILES = $(shell tools/shell-files.sh)
lint: deps-check
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --std=c11 -D_GNU_SOURCE -Isrc -Isrc/testonly --suppress=missingIncludeSystem \
		src tests/unit tests/fuzz
	printf '%s\n' $(wildcard src/*/*.c src/testonly/*/*.c) | xargs -P $(LINT_JOBS) -n 4 \
		sh -c 'exec clang-tidy --quiet "$$@" -- $(BASE_CFLAGS) -Wno-unknown-warning-option \
		$(call pc_cflags,$(PKGS_CORE) $(PKGS_GUEST) $(PKGS_BROKER))' clang-tidy
	shellcheck $(SHELL_FILES)

# ---------------------------------------------------------------- demo, bench
demo: deps-demo
	$(MAKE) test-bins
	O=$(O) tools/demo.sh

bench: deps-check
	$(MAKE) test-bins
	O=$(O) bench/run-all.sh

# ---------------------------------------------------------------- man pages
man: $(MAN_PAGES)

$(O)/man/%: docs/%.md
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MAN     $@")
	$(Q)sed '1s/^# \([a-z-]*\)(\([0-9]\))$$/# \1 \2 "" "ccunlock" "System Administration"/' $< | \
		$(MD2MAN) >$@.tmp
	$(Q)grep -q '^\.TH [a-z-]* [0-9] ' $@.tmp || { echo "$<: first line must be '# NAME(SECTION)'" >&2; rm -f $@.tmp; exit 1; }
	$(Q)mv -f $@.tmp $@

# ---------------------------------------------------------------- install
install: all man
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(LIBDIR)/sysusers.d \
		$(DESTDIR)$(DATADIR)/ccunlock
	install -m 0755 $(BINS) $(DESTDIR)$(SBINDIR)/
	for m in $(MAN_PAGES); do \
		s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; \
	done
	sed 's|/usr/sbin/ccunlock-kbs|$(SBINDIR)/ccunlock-kbs|' packaging/ccunlock-kbs.service \
		>$(DESTDIR)$(UNITDIR)/ccunlock-kbs.service
	install -m 0644 packaging/ccunlock-kbs.sysusers $(DESTDIR)$(LIBDIR)/sysusers.d/ccunlock-kbs.conf
	install -m 0644 packaging/broker.conf.example $(DESTDIR)$(DATADIR)/ccunlock/
	O=$(O) DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) SBINDIR=$(SBINDIR) LIBDIR=$(LIBDIR) \
		DATADIR=$(DATADIR) SYSCONFDIR=$(SYSCONFDIR) UNITDIR=$(UNITDIR) \
		DRACUTDIR=$(DRACUTDIR) ITDIR=$(ITDIR) FAIL_ACTION=$(FAIL_ACTION) \
		FALLBACK_PROMPT=$(FALLBACK_PROMPT) tools/install-extra.sh

clean:
	rm -rf build build-san build-fuzz build-cov build-vg

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)
