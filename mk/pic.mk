# Position-independent builds of the Brisk archives, for the shared objects
# that embed Brisk (fio's ioengines in mk/fio.mk, the SQLite extension in
# mk/sqlite.mk). The ordinary archives are built without -fPIC (the programs
# are executables, and the I/O path is tuned on that build), so a shared
# object links a second set: build/obj-pic and build/lib-pic, built only when
# something asks for them.

$(BUILD)/obj-pic/%.o: %.c mk/config.mk
	@mkdir -p $(dir $@)
	@echo "  CC    $< (PIC)"
	$(Q)$(CC) $(CFLAGS) -fPIC -MMD -MP -c -o $@ $<

define PIC_LIB_template
$(1)_PIC_OBJS := $$(patsubst $(BUILD)/obj/%,$(BUILD)/obj-pic/%,$$($(1)_OBJS))
$(BUILD)/lib-pic/libbrisk_$(1).a: $$($(1)_PIC_OBJS)
	@mkdir -p $$(dir $$@)
	@echo "  AR    $$@"
	$(Q)rm -f $$@ && ar crs $$@ $$^
PIC_OBJS += $$($(1)_PIC_OBJS)
endef
$(foreach l,$(ALL_LIB_NAMES),$(eval $(call PIC_LIB_template,$(l))))
pic_libs = $(foreach l,$(1),$(BUILD)/lib-pic/libbrisk_$(l).a)

-include $(PIC_OBJS:.o=.d)
