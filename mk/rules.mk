# Generic build rules; see the layout comment at the top of the Makefile.

ALL_LIB_NAMES := $(addprefix bdev_,$(MODULE_NAMES)) $(LIB_NAMES)
LIB_FILES := $(foreach l,$(ALL_LIB_NAMES),$(BUILD)/lib/libbrisk_$(l).a)

# Source folder of a library name: bdev_<x> is module/bdev/<x>, a name with
# a lib/ folder is that, any other <kind>_<x> is module/<kind>/<x>.
lib_src_dir = $(if $(filter bdev_%,$(1)),module/bdev/$(patsubst bdev_%,%,$(1)),$(if $(wildcard lib/$(1)),lib/$(1),module/$(subst _,/,$(1))))

define LIB_template
$(1)_SRCS := $$(wildcard $$(call lib_src_dir,$(1))/*.c)
$(1)_OBJS := $$(patsubst %.c,$(BUILD)/obj/%.o,$$($(1)_SRCS))
$(BUILD)/lib/libbrisk_$(1).a: $$($(1)_OBJS)
	@mkdir -p $$(dir $$@)
	@echo "  AR    $$@"
	$(Q)rm -f $$@ && ar crs $$@ $$^
ALL_OBJS += $$($(1)_OBJS)
endef
$(foreach l,$(ALL_LIB_NAMES),$(eval $(call LIB_template,$(l))))

# Every Brisk archive is linked whole so that constructor-registered pieces
# (log flags, subsystems, RPC methods, bdev modules) are never dropped.
BRISK_LINK := -Wl,--whole-archive $(LIB_FILES) -Wl,--no-whole-archive $(SYS_LIBS)

# Programs: app/<name> and test/bench/<name>.
# Only folders with C sources: scripts such as test/bench/bdev_bench.sh are not programs.
APP_DIRS := $(sort $(patsubst %/,%,$(dir $(wildcard app/*/*.c) $(wildcard test/bench/*/*.c) $(wildcard test/nvme/*/*.c))))
define APP_template
$(1)_NAME := $(notdir $(1))
$(1)_ALL_SRCS := $$(wildcard $(1)/*.c)
ifeq ($(CONFIG_DPDK_COMPARE),y)
$(1)_SRCS := $$($(1)_ALL_SRCS)
$(1)_EXTRA_LIBS := $$(if $$(filter %_dpdk.c,$$($(1)_SRCS)),$$(DPDK_LIBS))
else
$(1)_SRCS := $$(filter-out %_dpdk.c,$$($(1)_ALL_SRCS))
$(1)_EXTRA_LIBS :=
endif
$(1)_OBJS := $$(patsubst %.c,$(BUILD)/obj/%.o,$$($(1)_SRCS))
$(BUILD)/bin/$$($(1)_NAME): $$($(1)_OBJS) $(LIB_FILES)
	@mkdir -p $$(dir $$@)
	@echo "  LINK  $$@"
	$(Q)$(CC) $(LDFLAGS) -o $$@ $$($(1)_OBJS) $(BRISK_LINK) $$($(1)_EXTRA_LIBS)
ALL_OBJS += $$($(1)_OBJS)
PROGRAMS += $(BUILD)/bin/$$($(1)_NAME)
endef
$(foreach d,$(APP_DIRS),$(eval $(call APP_template,$(d))))

# Examples: one program per .c file.
EXAMPLE_SRCS := $(wildcard examples/*/*.c)
define ONE_FILE_PROGRAM
$(2): $(BUILD)/obj/$(1:.c=.o) $(LIB_FILES)
	@mkdir -p $$(dir $$@)
	@echo "  LINK  $$@"
	$(Q)$(CC) $(LDFLAGS) -o $$@ $$< $(BRISK_LINK) $(3)
ALL_OBJS += $(BUILD)/obj/$(1:.c=.o)
endef
$(foreach s,$(EXAMPLE_SRCS),$(eval $(call ONE_FILE_PROGRAM,$(s),$(BUILD)/examples/$(notdir $(s:.c=)),)))
EXAMPLES := $(foreach s,$(EXAMPLE_SRCS),$(BUILD)/examples/$(notdir $(s:.c=)))

# Unit tests: one CUnit program per test/unit/<lib>/<x>_ut.c, linked with
# <lib> and the libraries below it only (so a lower layer's tests build and
# run while a higher layer is being changed). Other folders link everything.
UT_SRCS := $(wildcard test/unit/*/*_ut.c)
ut_dir = $(notdir $(patsubst %/,%,$(dir $(1))))
ut_bin = $(BUILD)/test/unit/$(call ut_dir,$(1))/$(notdir $(1:.c=))
ut_libs = $(if $(filter $(1),$(LIB_NAMES)),$(foreach l,$(wordlist $(shell i=0; for l in $(LIB_NAMES); do i=$$((i+1)); [ $$l = $(1) ] && echo $$i; done),$(words $(LIB_NAMES)),$(LIB_NAMES)),$(BUILD)/lib/libbrisk_$(l).a),$(LIB_FILES))
# Unit tests that bring their own mock of the NVMe driver (brisk/nvme.h):
# linked with every library but lib/nvme.
UT_NVME_MOCK := test/unit/bdev_modules/bdev_nvme_ut.c
ut_link_libs = $(if $(filter $(1),$(UT_NVME_MOCK)),$(filter-out $(BUILD)/lib/libbrisk_nvme.a,$(call ut_libs,$(call ut_dir,$(1)))),$(call ut_libs,$(call ut_dir,$(1))))
# Every test file has no main() of its own: the shared runner
# test/common/ut_main.c (flags, env start, leftover-thread check) is linked in.
UT_MAIN_OBJ := $(BUILD)/obj/test/common/ut_main.o
ALL_OBJS += $(UT_MAIN_OBJ)
# Helpers only some tests use, in an archive so that a test links only those
# it calls (the allocation-failure loop needs lib/env, which lib/util's tests
# do not link).
UT_COMMON_OBJS := $(BUILD)/obj/test/common/ut_alloc_fail.o
UT_COMMON_LIB := $(BUILD)/obj/test/common/libbrisk_ut_common.a
ALL_OBJS += $(UT_COMMON_OBJS)
$(UT_COMMON_LIB): $(UT_COMMON_OBJS)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
define UT_template
$(call ut_bin,$(1)): $(BUILD)/obj/$(1:.c=.o) $(UT_MAIN_OBJ) $(UT_COMMON_LIB) $(call ut_link_libs,$(1))
	@mkdir -p $$(dir $$@)
	@echo "  LINK  $$@"
	$(Q)$(CC) $(LDFLAGS) $(UT_NO_LTO) -o $$@ $$< $(UT_MAIN_OBJ) $(UT_COMMON_LIB) -Wl,--whole-archive $(call ut_link_libs,$(1)) -Wl,--no-whole-archive $(SYS_LIBS) $(CUNIT_LIBS)
ALL_OBJS += $(BUILD)/obj/$(1:.c=.o)
endef
$(foreach s,$(UT_SRCS),$(eval $(call UT_template,$(s))))
UNIT_TESTS := $(foreach s,$(UT_SRCS),$(call ut_bin,$(s)))

# Every object depends on the configuration: re-running ./configure with
# other options (debug, sanitizers, LTO) rebuilds everything.
$(BUILD)/obj/%_dpdk.o: %_dpdk.c mk/config.mk
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) $(DPDK_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/%.o: %.c mk/config.mk
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

.DEFAULT_GOAL := all
.PHONY: all libs programs unit examples test install uninstall clean help pc
all: libs programs examples unit
libs: $(LIB_FILES)
programs: $(PROGRAMS)
examples: $(EXAMPLES)
unit: $(UNIT_TESTS)

test: all
	test/run_tests.sh

# The pkg-config file, written afresh each time (CONFIG_PREFIX may be given
# on the command line). A sanitizer build's flags go in it: the archives call
# into the sanitizer runtimes, so a program linking them needs -fsanitize too.
pc:
	@mkdir -p $(BUILD)
	$(Q)scripts/gen_pc.sh "$(CONFIG_PREFIX)" "$(ALL_LIB_NAMES)" "$(SYS_LIBS)" "$(SAN_FLAGS)" > $(BUILD)/brisk.pc
	$(Q)$(if $(SHARED_LIB_FILES),scripts/gen_pc.sh "$(CONFIG_PREFIX)" "$(ALL_LIB_NAMES)" "$(SYS_LIBS)" "$(SAN_FLAGS)" shared > $(BUILD)/brisk-shared.pc)

install: all pc
	@echo "  INSTALL $(DESTDIR)$(CONFIG_PREFIX)"
	$(Q)install -d $(DESTDIR)$(CONFIG_PREFIX)/include/brisk $(DESTDIR)$(CONFIG_PREFIX)/lib/pkgconfig $(DESTDIR)$(CONFIG_PREFIX)/bin
	$(Q)install -m 644 include/brisk/*.h $(DESTDIR)$(CONFIG_PREFIX)/include/brisk/
	$(Q)install -m 644 $(PUBLIC_LIB_FILES) $(DESTDIR)$(CONFIG_PREFIX)/lib/
	$(Q)$(if $(SHARED_LIB_FILES),cp -P $(foreach f,$(SHARED_LIB_FILES),$(f) $(f).*) $(DESTDIR)$(CONFIG_PREFIX)/lib/)
	$(Q)install -m 755 $(PROGRAMS) $(DESTDIR)$(CONFIG_PREFIX)/bin/
	$(Q)install -m 644 $(BUILD)/brisk.pc $(DESTDIR)$(CONFIG_PREFIX)/lib/pkgconfig/
	$(Q)$(if $(SHARED_LIB_FILES),install -m 644 $(BUILD)/brisk-shared.pc $(DESTDIR)$(CONFIG_PREFIX)/lib/pkgconfig/)

uninstall:
	rm -rf $(DESTDIR)$(CONFIG_PREFIX)/include/brisk $(DESTDIR)$(CONFIG_PREFIX)/lib/pkgconfig/brisk.pc
	rm -f $(DESTDIR)$(CONFIG_PREFIX)/lib/pkgconfig/brisk-shared.pc
	rm -f $(foreach l,$(ALL_LIB_NAMES),$(DESTDIR)$(CONFIG_PREFIX)/lib/libbrisk_$(l).a $(DESTDIR)$(CONFIG_PREFIX)/lib/libbrisk_$(l).so*)
	rm -f $(foreach p,$(PROGRAMS),$(DESTDIR)$(CONFIG_PREFIX)/bin/$(notdir $(p)))

clean:
	rm -rf $(BUILD)

help:
	@echo "make [all|libs|programs|examples|unit|test|pc|install|uninstall|clean] [V=1]"

-include $(ALL_OBJS:.o=.d)
