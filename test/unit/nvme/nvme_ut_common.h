/*
 * Shared by lib/nvme's unit tests: the fake transport, a fake
 * controller attached through the public API, and completion recording.
 * Header-only so each test stays one program.
 */
#ifndef BRISK_NVME_UT_COMMON_H
#define BRISK_NVME_UT_COMMON_H

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/nvme.h>
#include <brisk/ticks.h>

#include "../../common/ut_main.h"
#include "../../../lib/nvme/nvme_fake.h"

struct ut_io {
	bool done;
	int calls;
	struct brisk_nvme_cpl cpl;
	bool *in_submit; /* set while the submitting call runs */
	bool ran_in_submit;
};

static bool g_in_submit;

static inline void ut_io_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct ut_io *io = arg;

	io->done = true;
	io->calls++;
	io->cpl = *cpl;
	if (g_in_submit) {
		io->ran_in_submit = true;
	}
}

static inline struct brisk_nvme_ctrlr *ut_attach(const char *name, const struct nvme_fake_params *p,
						 struct nvme_fake_dev **devp,
						 const struct brisk_nvme_ctrlr_opts *opts)
{
	struct brisk_nvme_transport_id trid = { 0 };
	char str[128];

	*devp = nvme_fake_dev_create(name, p);
	if (*devp == NULL) {
		return NULL;
	}
	snprintf(str, sizeof(str), "trtype:fake traddr:%s", name);
	if (brisk_nvme_transport_id_parse(&trid, str) != 0) {
		return NULL;
	}
	return brisk_nvme_connect(&trid, opts);
}

static inline void ut_detach(struct brisk_nvme_ctrlr *ctrlr, struct nvme_fake_dev *dev)
{
	if (ctrlr != NULL) {
		brisk_nvme_detach(ctrlr);
	}
	nvme_fake_dev_destroy(dev);
}

/* Polls qpair (or the admin queue) until io is done or 2 s pass. */
static inline bool ut_wait(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
			   struct ut_io *io)
{
	uint64_t end = brisk_get_time_us() + 2000000;

	while (!io->done && brisk_get_time_us() < end) {
		if (qpair != NULL) {
			brisk_nvme_qpair_process_completions(qpair, 0);
		} else {
			brisk_nvme_ctrlr_process_admin_completions(ctrlr);
		}
	}
	return io->done;
}

#endif
