# The libraries as installed: only the brisk_ API is visible outside them.
#
# build/lib/public/libbrisk_<name>.a: the library's objects linked into one
# relocatable object (ld -r), in which every global symbol that does not
# start with brisk_ is made local (objcopy), so a program's own lvol_free or
# g_bdev_mgr cannot clash with Brisk's. The LTO sections are dropped: their
# symbol table would still name the internal symbols as global. The tree's
# own programs and unit tests keep linking build/lib/libbrisk_<name>.a (unit
# tests reach internal functions, and the programs are built with LTO).
#
# With ./configure --enable-shared, also build/lib/shared/libbrisk_<name>.so:
# same export list (mk/brisk.map), a soname with the ABI major number, and
# linked with -z defs against the libraries below it in LIB_NAMES only, so
# a library that uses one above it (or a module above it) fails to link.

BRISK_SO_MAJOR := 0
BRISK_SO_VERSION := $(BRISK_SO_MAJOR).1.0
LD ?= ld
OBJCOPY ?= objcopy

define PUBLIC_LIB_template
$(BUILD)/lib/public/libbrisk_$(1).a: $$($(1)_OBJS)
	@mkdir -p $$(dir $$@)
	@echo "  AR    $$@ (brisk_ symbols only)"
	$(Q)rm -f $$@ $$(@:.a=.o) && $(LD) -r -o $$(@:.a=.tmp.o) $$^ && \
		$(OBJCOPY) --remove-section='.gnu.lto_*' --remove-section='.gnu.debuglto_*' \
			--wildcard --keep-global-symbol='brisk_*' $$(@:.a=.tmp.o) $$(@:.a=.o) && \
		rm -f $$(@:.a=.tmp.o) && ar crs $$@ $$(@:.a=.o) && rm -f $$(@:.a=.o)
PUBLIC_LIB_FILES += $(BUILD)/lib/public/libbrisk_$(1).a
endef
$(foreach l,$(ALL_LIB_NAMES),$(eval $(call PUBLIC_LIB_template,$(l))))

ifeq ($(CONFIG_SHARED),y)
# The libraries after $(1) in ALL_LIB_NAMES: the ones it may use.
libs_below = $(wordlist $(shell i=1; for l in $(ALL_LIB_NAMES); do i=$$((i+1)); [ $$l = $(1) ] && echo $$i; done),$(words $(ALL_LIB_NAMES)),$(ALL_LIB_NAMES))
so_file = $(BUILD)/lib/shared/libbrisk_$(1).so

define SHARED_LIB_template
$(call so_file,$(1)): $$($(1)_PIC_OBJS) $$(foreach l,$$(call libs_below,$(1)),$$(call so_file,$$(l))) mk/brisk.map
	@mkdir -p $$(dir $$@)
	@echo "  LINK  $$@"
	$(Q)$(CC) $(LDFLAGS) -shared -fPIC -Wl,-z,defs -Wl,--version-script=mk/brisk.map \
		-Wl,-soname,libbrisk_$(1).so.$(BRISK_SO_MAJOR) -o $$@.$(BRISK_SO_VERSION) \
		$$($(1)_PIC_OBJS) -L$(BUILD)/lib/shared -Wl,--as-needed \
		$$(foreach l,$$(call libs_below,$(1)),-lbrisk_$$(l)) $(SYS_LIBS)
	$(Q)ln -sf libbrisk_$(1).so.$(BRISK_SO_VERSION) $$@.$(BRISK_SO_MAJOR)
	$(Q)ln -sf libbrisk_$(1).so.$(BRISK_SO_VERSION) $$@
SHARED_LIB_FILES += $(call so_file,$(1))
endef
$(foreach l,$(ALL_LIB_NAMES),$(eval $(call SHARED_LIB_template,$(l))))
endif

.PHONY: public shared print-lib-names
public: $(PUBLIC_LIB_FILES)
shared: $(SHARED_LIB_FILES)
libs: public shared

# The layer order, highest first (test/functional/symbols_private.sh reads it).
print-lib-names:
	@echo $(ALL_LIB_NAMES)
