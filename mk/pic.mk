# Position-independent copies of the library objects, in build/obj-pic and
# build/lib-pic. Shared objects need them: the fio ioengines (mk/fio.mk) and
# the shared libraries (mk/public.mk). The ordinary archives stay non-PIC
# (the programs are executables, and the I/O path is tuned on that build),
# so these are compiled only when one of those is enabled.

ifneq ($(filter y,$(CONFIG_FIO) $(CONFIG_SHARED)),)
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
endif
