# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# kvmcmo build.  Native on arm64; cross from x86-64 with `make ARCH=arm64`
# (CROSS_COMPILE defaults to aarch64-linux-gnu-, libraries from the arm64
# Debian packages that scripts/fetch-arm64-deps.sh unpacks into SYSROOT).
# STATIC=1 links fully static binaries (what the test images need).
# V=1 shows full commands.  Output goes to $(OUTPUT), never beside sources.

HOST_ARCH := $(shell uname -m | sed -e 's/aarch64/arm64/' -e 's/x86_64/x86/')
ARCH ?= $(HOST_ARCH)
ifeq ($(filter $(ARCH),arm64 x86),)
$(error unsupported ARCH '$(ARCH)': kvmcmo builds for arm64 (and x86 for host tests))
endif

ifeq ($(ARCH),$(HOST_ARCH))
CROSS_COMPILE ?=
else ifeq ($(ARCH),arm64)
CROSS_COMPILE ?= aarch64-linux-gnu-
KVMCMO_CACHE ?= $(HOME)/.cache/kvmcmo
SYSROOT ?= $(KVMCMO_CACHE)/sysroot-arm64
else
$(error cross-building for $(ARCH) is not supported: build on the host itself)
endif

OUTPUT ?= .output/$(ARCH)$(if $(STATIC),-static)
CC := $(CROSS_COMPILE)gcc
AR := $(CROSS_COMPILE)ar
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

prefix ?= /usr/local
bindir ?= $(prefix)/sbin
mandir ?= $(prefix)/share/man
datadir ?= $(prefix)/share/kvmcmo
unitdir ?= $(prefix)/lib/systemd/system
DESTDIR ?=

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-missing-field-initializers \
	  -MMD -MP -I$(OUTPUT) -Ibpf -Iuser -Itools/kvmcmo
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_arm64 -Wall -Werror -I. -Ibpf

LIBS := -lbpf -lelf -lz -ljansson
ifneq ($(SYSROOT),)
CFLAGS += -I$(SYSROOT)/usr/include
LDFLAGS += -L$(SYSROOT)/usr/lib/aarch64-linux-gnu
endif
ifneq ($(STATIC),)
LDFLAGS += -static
LIBS += -lzstd
endif

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.PHONY: all clean install check check-all test-unit test-vm demo bpf

BPF_OBJS := $(OUTPUT)/kvmcmo.bpf.o $(OUTPUT)/probe.bpf.o
SKELS := $(BPF_OBJS:.bpf.o=.skel.h)
LIB_SRCS := $(wildcard user/*.c)
LIB_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst %.c,$(OUTPUT)/%,$(UNIT_SRCS))
MANS := $(wildcard man/*.[0-9])

# Every tools/<tool>/ (the front ends) and user/<daemon>/ (kvmcmod, beside
# the library it aggregates with) holding C files is one binary: main.c has
# its entry point, the rest also goes into lib<tool>.a for the unit tests.
# Its build.mk may set <tool>_LIBS (its extra libraries, before the shared
# ones) and <tool>_CFLAGS.
TOOL_DIRS := $(patsubst %/,%,$(sort $(dir $(wildcard tools/*/*.c user/*/*.c))))
TOOLS := $(sort $(notdir $(TOOL_DIRS)))
$(foreach d,$(TOOL_DIRS),$(eval $(notdir $(d))_DIR := $(d)))
-include $(wildcard tools/*/build.mk user/*/build.mk)

define tool_rules
$(1)_OBJS := $$(patsubst %.c,$$(OUTPUT)/%.o,$$(wildcard $$($(1)_DIR)/*.c))
$(1)_LIBOBJS := $$(filter-out $$(OUTPUT)/$$($(1)_DIR)/main.o,$$($(1)_OBJS))

$$(OUTPUT)/$$($(1)_DIR)/%.o: CFLAGS += -I$$($(1)_DIR) $$($(1)_CFLAGS)

$$(OUTPUT)/tools/lib$(1).a: $$($(1)_LIBOBJS)
	$$(call msg,AR,$$@)
	$$(Q)rm -f $$@ && $$(AR) rcs $$@ $$^

$$(OUTPUT)/$(1): $$(OUTPUT)/$$($(1)_DIR)/main.o $$(OUTPUT)/tools/lib$(1).a $$(OUTPUT)/libkvmcmo.a
	$$(call msg,LINK,$$@)
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$($(1)_LIBS) $$(LIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rules,$(t))))

TOOL_BINS := $(addprefix $(OUTPUT)/,$(TOOLS))
TOOL_ARCHIVES := $(foreach t,$(TOOLS),$(OUTPUT)/tools/lib$(t).a)
TOOL_LIBS := $(foreach t,$(TOOLS),$($(t)_LIBS))

all: $(TOOL_BINS)

bpf: $(SKELS)

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# every C object may include a skeleton (through user/attach.c's headers)
$(OUTPUT)/%.o: %.c $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUTPUT)/libkvmcmo.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# a unit test links what it uses from the tools' archives and the library
$(OUTPUT)/tests/unit/test_%: $(OUTPUT)/tests/unit/test_%.o $(TOOL_ARCHIVES) $(OUTPUT)/libkvmcmo.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(TOOL_LIBS) $(LIBS)

$(OUTPUT):
	$(Q)mkdir -p $@

test-unit: $(UNIT_BINS)
	$(Q)tests/run-unit.sh $(UNIT_BINS)

# the four-kernel matrix on emulated arm64 KVM (tests/vm/README)
test-vm:
	$(Q)tests/vm/matrix.sh

check:
	$(Q)tests/check.sh

# every VM suite, beyond what CI's time budget holds (tests/vm/CI_SUITES)
check-all:
	$(Q)KVMCMO_SUITES=all tests/check.sh

demo:
	$(Q)tests/vm/demo.sh $(KERNEL)

install: $(TOOL_BINS)
	$(call msg,INSTALL,$(DESTDIR)$(bindir))
	$(Q)install -d $(DESTDIR)$(bindir) $(DESTDIR)$(mandir)/man8
	$(Q)install -m 0755 $(TOOL_BINS) $(DESTDIR)$(bindir)/
	$(Q)install -m 0755 $(wildcard tools/*.bt) $(DESTDIR)$(bindir)/
	$(Q)$(if $(MANS),install -m 0644 $(MANS) $(DESTDIR)$(mandir)/man8/)
	$(call msg,INSTALL,$(DESTDIR)$(unitdir)/kvmcmod.service)
	$(Q)install -d $(DESTDIR)$(unitdir) $(DESTDIR)$(datadir)/grafana
	$(Q)sed 's|/usr/local/sbin/|$(bindir)/|' tools/kvmcmod.service > $(DESTDIR)$(unitdir)/kvmcmod.service
	$(Q)chmod 0644 $(DESTDIR)$(unitdir)/kvmcmod.service
	$(Q)install -m 0644 tools/grafana/kvmcmo.json $(DESTDIR)$(datadir)/grafana/

clean:
	$(call msg,CLEAN,.output)
	$(Q)rm -rf .output

-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)
