# Brisk's SQLite VFS (lib/sqlite), built two ways from the same sources:
#   build/lib/libbrisk_sqlite.a   for programs that link SQLite themselves
#                                 (app/sqlite_bench, SQLite's testfixture and
#                                 speedtest1 built by test/common/sqlite_build.sh)
#   build/lib/libbrisk_sqlite.so  a SQLite loadable extension (the shell's
#                                 .load, Python's load_extension): calls SQLite
#                                 through the routines table it is handed, and
#                                 carries the -fPIC Brisk archives inside.
# lib/sqlite is not in LIB_NAMES: every program links every archive whole,
# and only these targets may depend on SQLite.

SQLITE_SRCS := $(wildcard lib/sqlite/*.c)
SQLITE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(SQLITE_SRCS))
SQLITE_EXT_OBJS := $(patsubst %.c,$(BUILD)/obj-sqlite-ext/%.o,$(SQLITE_SRCS))
# Below the VFS: blobfs and everything beside it (bdev modules for the
# config's bdev, the event framework for loading it).
SQLITE_PIC_LIBS := $(call pic_libs,$(ALL_LIB_NAMES))

$(BUILD)/lib/libbrisk_sqlite.a: $(SQLITE_OBJS)
	@mkdir -p $(dir $@)
	@echo "  AR    $@"
	$(Q)rm -f $@ && ar crs $@ $^

$(BUILD)/obj-sqlite-ext/%.o: %.c mk/config.mk
	@mkdir -p $(dir $@)
	@echo "  CC    $< (sqlite extension)"
	$(Q)$(CC) $(CFLAGS) -fPIC -DBRISK_SQLITE_EXTENSION -MMD -MP -c -o $@ $<

# Only the entry points are exported: Brisk's symbols stay inside, so
# nothing clashes with the host program's.
$(BUILD)/lib/libbrisk_sqlite.so: $(SQLITE_EXT_OBJS) $(SQLITE_PIC_LIBS) lib/sqlite/extension.map
	@mkdir -p $(dir $@)
	@echo "  LINK  $@"
	$(Q)$(CC) $(LDFLAGS) -shared -fPIC -Wl,--version-script=lib/sqlite/extension.map \
		-o $@ $(SQLITE_EXT_OBJS) -Wl,--whole-archive $(SQLITE_PIC_LIBS) \
		-Wl,--no-whole-archive $(SYS_LIBS)

# app/sqlite_bench links SQLite and the static VFS (its recipe in
# mk/rules.mk expands this variable when it runs).
app/sqlite_bench_EXTRA_LIBS += $(BUILD)/lib/libbrisk_sqlite.a -lsqlite3
$(BUILD)/bin/sqlite_bench: $(BUILD)/lib/libbrisk_sqlite.a

.PHONY: sqlite
sqlite: $(BUILD)/lib/libbrisk_sqlite.a $(BUILD)/lib/libbrisk_sqlite.so
all: sqlite

-include $(SQLITE_OBJS:.o=.d) $(SQLITE_EXT_OBJS:.o=.d)

# SQLite's test harness (testfixture) and benchmark (speedtest1) with the
# VFS linked in: `make sqlite-harness SQLITE_SRC=<dir from scripts/sqlite_src.sh>`.
# Built by SQLite's own Makefile in its source tree (the harness finds its
# test/ folder there), then copied to build/sqlite/. The hook registers
# "brisk" at every sqlite3_initialize (the default VFS with
# BRISK_SQLITE_DEFAULT=1), so one binary runs the suite on both VFSes.
# SQLite's Makefile links through libtool, which drops --whole-archive (and
# with it the bdev modules and RPC methods the config needs): the VFS and
# every Brisk archive go in as one relocatable object instead.
SQLITE_HARNESS_OBJ := $(BUILD)/sqlite/brisk_vfs.o
SQLITE_HARNESS_LIBS = $(abspath $(SQLITE_HARNESS_OBJ)) $(SYS_LIBS) -pthread

$(SQLITE_HARNESS_OBJ): $(BUILD)/lib/libbrisk_sqlite.a $(LIB_FILES)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	$(Q)$(CC) -r -nostdlib -fno-lto -o $@ -Wl,--whole-archive $^ -Wl,--no-whole-archive
SQLITE_HARNESS_OPTS := -DSQLITE_EXTRA_INIT=brisk_sqlite_extra_init

.PHONY: sqlite-harness
sqlite-harness: $(BUILD)/sqlite/testfixture $(BUILD)/sqlite/speedtest1

sqlite_src_check = @test -n "$(SQLITE_SRC)" -a -f "$(SQLITE_SRC)/sqlite3.c" || \
	{ echo "sqlite-harness: SQLITE_SRC=<dir> from scripts/sqlite_src.sh" >&2; exit 1; }
SQLITE_HARNESS_DEPS := $(SQLITE_HARNESS_OBJ) \
	$(wildcard $(SQLITE_SRC)/sqlite3.c $(SQLITE_SRC)/.brisk-pkgver)

# $(1): testfixture or speedtest1, built by SQLite's Makefile.
define SQLITE_HARNESS_template
$(BUILD)/sqlite/$(1): $(SQLITE_HARNESS_DEPS)
	$$(sqlite_src_check)
	@mkdir -p $$(dir $$@)
	@echo "  LINK  $$@"
	$(Q)rm -f $(SQLITE_SRC)/$(1)
	$(Q)$(MAKE) -s -C $(SQLITE_SRC) $(1) OPTS="$(SQLITE_HARNESS_OPTS)" \
		LIBS="$(SQLITE_HARNESS_LIBS)" >/dev/null
	$(Q)cp $(SQLITE_SRC)/$(1) $$@
endef
$(eval $(call SQLITE_HARNESS_template,testfixture))
$(eval $(call SQLITE_HARNESS_template,speedtest1))
