# Compiler and linker flags shared by every target.

CFLAGS := -std=gnu11 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wmissing-prototypes -Wstrict-prototypes \
	-fno-strict-aliasing -D_GNU_SOURCE -Iinclude -pthread
# Per compiler: gcc's -Wshadow=local has no clang spelling; clang's nearest is
# -Wshadow (which also flags shadowed globals, so it is not used).
ifneq ($(CONFIG_CC_KIND),clang)
CFLAGS += -Wshadow=local
endif
ifeq ($(CONFIG_ARCH),x86_64)
# Baseline x86-64-v2 (SSE4.2, POPCNT): the same binaries run in QEMU guests.
CFLAGS += -march=x86-64-v2 -mtune=generic
endif

ifeq ($(CONFIG_DEBUG),y)
CFLAGS += -O0 -DDEBUG
else
CFLAGS += -O2 -DNDEBUG
endif

SAN_FLAGS :=
ifeq ($(CONFIG_ASAN),y)
SAN_FLAGS += -fsanitize=address -fno-omit-frame-pointer
endif
ifeq ($(CONFIG_UBSAN),y)
SAN_FLAGS += -fsanitize=undefined -fno-sanitize-recover=undefined
endif
ifeq ($(CONFIG_TSAN),y)
SAN_FLAGS += -fsanitize=thread
# lib/env's memory at 64 GiB: TSan keeps its shadow where the usual base is.
CFLAGS += -DENV_BASE_VIRTADDR=0x1000000000ull
endif
CFLAGS += $(SAN_FLAGS)
# gcc warns that TSan does not model fences; lib/nvme's order doorbell (MMIO)
# writes after queue entries, memory no second thread of ours reads.
ifeq ($(CONFIG_TSAN)$(CONFIG_CC_KIND),ygcc)
CFLAGS += -Wno-tsan
endif
# Fat objects: the installed archives also link into programs built without LTO.
LTO_FLAGS :=
ifeq ($(CONFIG_LTO),y)
LTO_FLAGS := -flto=auto -ffat-lto-objects
endif
CFLAGS += $(LTO_FLAGS)
# Unit tests link the fat objects' ordinary code: an LTO link of the whole
# library for each of ~50 test programs would multiply the build time.
UT_NO_LTO := $(if $(LTO_FLAGS),-fno-lto)
CFLAGS += $(shell pkg-config --cflags jansson numa uuid)
CFLAGS += $(EXTRA_CFLAGS)

LDFLAGS := -pthread $(SAN_FLAGS) $(if $(LTO_FLAGS),-flto=auto -O2) $(EXTRA_LDFLAGS)
SYS_LIBS := $(shell pkg-config --libs jansson numa uuid) -laio -lrt -lm
CUNIT_LIBS := $(shell pkg-config --libs cunit)

ifeq ($(CONFIG_DPDK_COMPARE),y)
DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk) -Wno-error -Wno-missing-prototypes -Wno-shadow
DPDK_LIBS := $(shell pkg-config --libs libdpdk)
endif
