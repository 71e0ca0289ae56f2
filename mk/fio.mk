# fio ioengines (./configure --with-fio): build/fio/brisk_bdev.so and
# build/fio/brisk_nvme.so, loaded by fio with --ioengine=external:<path>.
#
# A shared object needs position-independent code: the engines link the
# -fPIC objects of build/obj-pic and build/lib-pic (mk/pic.mk).
# The engines' own files also see fio's source tree (its headers, and
# config-host.h from its ./configure, which they must be compiled with).

ifeq ($(CONFIG_FIO),y)
FIO_CFLAGS := -isystem $(CONFIG_FIO_SRC) -include $(CONFIG_FIO_SRC)/config-host.h -Iapp/fio/common

# More specific than mk/pic.mk's rule (shorter stem), so it wins for the engines.
$(BUILD)/obj-pic/app/fio/%.o: app/fio/%.c mk/config.mk
	@mkdir -p $(dir $@)
	@echo "  CC    $< (fio)"
	$(Q)$(CC) $(CFLAGS) $(FIO_CFLAGS) -fPIC -MMD -MP -c -o $@ $<

FIO_COMMON_OBJS := $(patsubst %.c,$(BUILD)/obj-pic/%.o,$(wildcard app/fio/common/*.c))
# $(1) engine (app/fio/$(1)), $(2) the Brisk libraries it links, higher layers first.
# Only `ioengine` is exported (engine.map): every Brisk symbol stays inside
# the engine, so nothing clashes with fio's own symbols. fio's functions the
# engine calls (log_err ...) are left undefined: the fio binary exports them.
define FIO_ENGINE_template
brisk_fio_$(1)_OBJS := $$(patsubst %.c,$(BUILD)/obj-pic/%.o,$$(wildcard app/fio/$(1)/*.c)) $(FIO_COMMON_OBJS)
$(BUILD)/fio/brisk_$(1).so: $$(brisk_fio_$(1)_OBJS) $$(call pic_libs,$(2)) app/fio/engine.map
	@mkdir -p $$(dir $$@)
	@echo "  LINK  $$@"
	$(Q)$(CC) $(LDFLAGS) -shared -fPIC -Wl,--version-script=app/fio/engine.map \
		-o $$@ $$(brisk_fio_$(1)_OBJS) -Wl,--whole-archive $$(call pic_libs,$(2)) \
		-Wl,--no-whole-archive $(SYS_LIBS)
FIO_PIC_OBJS += $$(brisk_fio_$(1)_OBJS)
FIO_ENGINES += $(BUILD)/fio/brisk_$(1).so
endef
$(eval $(call FIO_ENGINE_template,bdev,$(ALL_LIB_NAMES)))
$(eval $(call FIO_ENGINE_template,nvme,nvme env util))

.PHONY: fio
fio: $(FIO_ENGINES)
all: fio

-include $(FIO_PIC_OBJS:.o=.d) $(PIC_OBJS:.o=.d)
endif
