# Brisk top-level Makefile (non-recursive). Run ./configure first.
#
# Layout rules (see ../shared/DESIGN.md):
#   lib/<name>/*.c             -> build/lib/libbrisk_<name>.a
#   module/bdev/<name>/*.c     -> build/lib/libbrisk_bdev_<name>.a
#   module/<kind>/<name>/*.c   -> build/lib/libbrisk_<kind>_<name>.a, placed in LIB_NAMES
#                                 (blob_bdev: a bs_dev over a bdev; event_bdev, event_nvmf,
#                                 event_iscsi: the subsystems that tie those layers to lib/event)
#   app/<name>/*.c             -> build/bin/<name>
#   test/bench/<name>/*.c      -> build/bin/<name>   (*_dpdk.c only with the DPDK comparison)
#   test/nvme/<name>/*.c       -> build/bin/<name>   (programs the QEMU NVMe tests run in the guest)
#   examples/<dir>/<name>.c    -> build/examples/<name>
#   test/unit/<lib>/<x>_ut.c   -> build/test/unit/<lib>/<x>_ut   (main() is test/common/ut_main.c)
# Adding a source file needs no Makefile change.

ifeq ($(wildcard mk/config.mk),)
$(error mk/config.mk is missing: run ./configure first)
endif
include mk/config.mk

BUILD := build
V ?= 0
ifeq ($(V),0)
Q := @
else
Q :=
endif

# Link order matters for static archives: higher layers first.
LIB_NAMES := event_nvmf event_iscsi event_bdev nvmf iscsi scsi lvol blobfs blob_bdev bdev blob nvme event rpc thread env util
MODULE_NAMES := $(notdir $(wildcard module/bdev/*))

include mk/flags.mk
include mk/rules.mk
include mk/pic.mk
include mk/public.mk
include mk/fio.mk
include mk/sqlite.mk
