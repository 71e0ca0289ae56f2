/*
 * lib/nvme's multi-process request channel (lib/nvme/mp_channel.c): create
 * and lookup by name, a request's round trip (not answered until the primary
 * replies), a full channel, a sender that gives up or dies (its slot comes
 * back), pointers that are not slots (dropped), and the round trip between
 * two processes: this program re-runs itself as a secondary with the same
 * shm id, which sends requests that the primary answers. The messages of a
 * primary's reset and of forwarded admin commands: RECREATE_QPAIR and
 * ADMIN carry their fields and answers (resets, the completion), the
 * primary's checks of a secondary's admin command (refused opcodes and
 * features, payloads outside DMA memory), and the secondary's side of
 * forwarding (callback only from polling, refusals before sending, the
 * primary's refusal and its death as completions).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/ring.h>
#include <brisk/ticks.h>

#include "../../../lib/nvme/nvme_mp.h"
#include "../../common/ut_main.h"

#define SHM_PREFIX "nvmempch_ut"
#define KEY "0000:09:00.0"
#define CHILD_REQUESTS 200
#define TIMEOUT_US (30u * 1000 * 1000)

static int g_shm_id;
static struct nvme_mp_channel g_ch;

static int env_start(enum brisk_proc_type type, int shm_id)
{
	struct brisk_env_opts opts;
	const char *no_huge = getenv("BRISK_TEST_NO_HUGE");

	brisk_env_opts_init(&opts);
	opts.name = type == BRISK_PROC_PRIMARY ? "mp_channel_ut" : "mp_channel_ut_secondary";
	opts.mem_size_mb = 32;
	opts.no_huge = no_huge != NULL && strcmp(no_huge, "1") == 0;
	opts.shm_id = shm_id;
	opts.shm_prefix = SHM_PREFIX;
	opts.proc_type = type;
	if (getenv("BRISK_TEST_VERBOSE") == NULL) {
		brisk_log_set_print_level(BRISK_LOG_ERROR);
	}
	return brisk_env_init(&opts);
}

static void test_create_lookup(void)
{
	struct nvme_mp_channel other;

	CU_ASSERT_EQUAL(nvme_mp_channel_lookup(&other, KEY), 0);
	CU_ASSERT_PTR_EQUAL(other.slots, g_ch.slots);
	CU_ASSERT_PTR_EQUAL(other.req, g_ch.req);
	CU_ASSERT_FALSE(other.owner);
	nvme_mp_channel_destroy(&other); /* not the owner: forgets only */
	CU_ASSERT_EQUAL(nvme_mp_channel_lookup(&other, KEY), 0);
	CU_ASSERT_EQUAL(nvme_mp_channel_create(&other, KEY), -EEXIST);
	CU_ASSERT_EQUAL(nvme_mp_channel_lookup(&other, "0000:0a:00.0"), -ENOENT);
	CU_ASSERT_EQUAL(nvme_mp_channel_create(&other, ""), -EINVAL);
	CU_ASSERT_EQUAL(nvme_mp_channel_create(&other, "123456789012345678901"), -EINVAL);
	CU_ASSERT_EQUAL(nvme_mp_channel_free_count(&g_ch), NVME_MP_CHANNEL_SLOTS);
}

static void test_round_trip(void)
{
	struct nvme_mp_msg msg = { .op = NVME_MP_OP_CREATE_QPAIR, .num_entries = 64,
				   .sq_iova = 0x1000, .cq_iova = 0x2000 }, out, *slot, *got;

	CU_ASSERT_EQUAL_FATAL(nvme_mp_channel_send(&g_ch, &msg, &slot), 0);
	CU_ASSERT_EQUAL(slot->pid, getpid());
	CU_ASSERT_EQUAL(nvme_mp_channel_result(&g_ch, slot, &out), -EAGAIN); /* not done yet */
	got = nvme_mp_channel_next(&g_ch);
	CU_ASSERT_PTR_EQUAL_FATAL(got, slot);
	CU_ASSERT_EQUAL(got->num_entries, 64);
	CU_ASSERT_EQUAL(got->sq_iova, 0x1000);
	CU_ASSERT_PTR_NULL(nvme_mp_channel_next(&g_ch));
	CU_ASSERT_EQUAL(nvme_mp_channel_result(&g_ch, slot, &out), -EAGAIN);
	got->qid = 5;
	nvme_mp_channel_reply(&g_ch, got, -ENOSPC);
	CU_ASSERT_EQUAL(nvme_mp_channel_free_count(&g_ch), NVME_MP_CHANNEL_SLOTS - 1);
	CU_ASSERT_EQUAL(nvme_mp_channel_result(&g_ch, slot, &out), 0);
	CU_ASSERT_EQUAL(out.rc, -ENOSPC);
	CU_ASSERT_EQUAL(out.qid, 5);
	CU_ASSERT_EQUAL(nvme_mp_channel_free_count(&g_ch), NVME_MP_CHANNEL_SLOTS);
}

static void test_recreate_admin_msgs(void)
{
	struct nvme_mp_msg msg = { .op = NVME_MP_OP_RECREATE_QPAIR,
				   .qid = 3,
				   .num_entries = 32,
				   .sq_iova = 0x5000,
				   .cq_iova = 0x6000 },
			   out, *slot, *got;

	CU_ASSERT_EQUAL_FATAL(nvme_mp_channel_send(&g_ch, &msg, &slot), 0);
	got = nvme_mp_channel_next(&g_ch);
	CU_ASSERT_PTR_EQUAL_FATAL(got, slot);
	CU_ASSERT_EQUAL(got->op, NVME_MP_OP_RECREATE_QPAIR);
	CU_ASSERT_EQUAL(got->qid, 3);
	CU_ASSERT_EQUAL(got->cq_iova, 0x6000);
	got->resets = 7;
	nvme_mp_channel_reply(&g_ch, got, 0);
	CU_ASSERT_EQUAL_FATAL(nvme_mp_channel_result(&g_ch, slot, &out), 0);
	CU_ASSERT_EQUAL(out.resets, 7);

	memset(&msg, 0, sizeof(msg));
	msg.op = NVME_MP_OP_ADMIN;
	msg.cmd.opc = BRISK_NVME_OPC_GET_LOG_PAGE;
	msg.cmd.cdw10 = 0x7f0002;
	msg.buf = 0x200000;
	msg.len = 512;
	CU_ASSERT_EQUAL_FATAL(nvme_mp_channel_send(&g_ch, &msg, &slot), 0);
	got = nvme_mp_channel_next(&g_ch);
	CU_ASSERT_PTR_EQUAL_FATAL(got, slot);
	CU_ASSERT_EQUAL(got->cmd.opc, BRISK_NVME_OPC_GET_LOG_PAGE);
	CU_ASSERT_EQUAL(got->cmd.cdw10, 0x7f0002);
	CU_ASSERT_EQUAL(got->buf, 0x200000);
	CU_ASSERT_EQUAL(got->len, 512);
	got->cpl.cdw0 = 0xabcd;
	got->cpl.status.sc = BRISK_NVME_SC_INVALID_FIELD;
	nvme_mp_channel_reply(&g_ch, got, 0);
	CU_ASSERT_EQUAL_FATAL(nvme_mp_channel_result(&g_ch, slot, &out), 0);
	CU_ASSERT_EQUAL(out.cpl.cdw0, 0xabcd);
	CU_ASSERT_EQUAL(out.cpl.status.sc, BRISK_NVME_SC_INVALID_FIELD);
	CU_ASSERT_EQUAL(nvme_mp_channel_free_count(&g_ch), NVME_MP_CHANNEL_SLOTS);
}

/* A controller as the admin checks and a secondary's forwarding see it. */
static struct brisk_nvme_ctrlr *fake_secondary(struct nvme_mp_secondary *s, struct nvme_mp_shared *sh)
{
	struct brisk_nvme_ctrlr *c = calloc(1, sizeof(*c));
	pthread_mutexattr_t attr;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&c->lock, &attr);
	snprintf(c->trid.traddr, sizeof(c->trid.traddr), "%s", KEY);
	c->max_xfer_size = 128 * 1024;
	c->mp_secondary = true;
	c->mp = s;
	memset(s, 0, sizeof(*s));
	memset(sh, 0, sizeof(*sh));
	sh->magic = 1;
	sh->primary_pid = getpid();
	s->shared = sh;
	CU_ASSERT_EQUAL(nvme_mp_channel_lookup(&s->ch, KEY), 0);
	return c;
}

static struct nvme_mp_msg admin_msg(uint8_t opc, uint32_t cdw10, void *buf, uint32_t len)
{
	struct nvme_mp_msg m = { .op = NVME_MP_OP_ADMIN, .buf = (uint64_t)(uintptr_t)buf, .len = len };

	m.cmd.opc = opc;
	m.cmd.cdw10 = cdw10;
	return m;
}

static void test_admin_check(void)
{
	static const uint8_t refused[] = { BRISK_NVME_OPC_DELETE_IO_SQ,   BRISK_NVME_OPC_CREATE_IO_SQ,
					   BRISK_NVME_OPC_DELETE_IO_CQ,   BRISK_NVME_OPC_CREATE_IO_CQ,
					   BRISK_NVME_OPC_FORMAT_NVM,     BRISK_NVME_OPC_NS_MANAGEMENT,
					   BRISK_NVME_OPC_NS_ATTACHMENT,  BRISK_NVME_OPC_ASYNC_EVENT_REQUEST,
					   BRISK_NVME_OPC_FIRMWARE_COMMIT };
	struct nvme_mp_secondary s;
	struct nvme_mp_shared sh;
	struct brisk_nvme_ctrlr *c = fake_secondary(&s, &sh);
	void *dma = brisk_dma_zmalloc(8192, 4096, NULL);
	struct nvme_mp_msg m;
	uint64_t stack_buf[8];

	CU_ASSERT_PTR_NOT_NULL_FATAL(dma);
	for (size_t i = 0; i < sizeof(refused); i++) {
		m = admin_msg(refused[i], 0, NULL, 0);
		CU_ASSERT_EQUAL(nvme_mp_admin_check(c, &m), -EPERM);
	}
	m = admin_msg(BRISK_NVME_OPC_SET_FEATURES, BRISK_NVME_FEAT_NUMBER_OF_QUEUES, NULL, 0);
	CU_ASSERT_EQUAL(nvme_mp_admin_check(c, &m), -EPERM);
	m = admin_msg(BRISK_NVME_OPC_SET_FEATURES, BRISK_NVME_FEAT_VOLATILE_WRITE_CACHE, NULL, 0);
	CU_ASSERT_EQUAL(nvme_mp_admin_check(c, &m), 0);
	m = admin_msg(BRISK_NVME_OPC_GET_FEATURES, BRISK_NVME_FEAT_NUMBER_OF_QUEUES, NULL, 0);
	CU_ASSERT_EQUAL(nvme_mp_admin_check(c, &m), 0);
	m = admin_msg(BRISK_NVME_OPC_IDENTIFY, 1, dma, 4096);
	CU_ASSERT_EQUAL(nvme_mp_admin_check(c, &m), 0);
	m = admin_msg(BRISK_NVME_OPC_IDENTIFY, 1, stack_buf, sizeof(stack_buf));
	CU_ASSERT_EQUAL(nvme_mp_admin_check(c, &m), -EINVAL); /* not DMA memory */
	m = admin_msg(BRISK_NVME_OPC_IDENTIFY, 1, NULL, 4096);
	CU_ASSERT_EQUAL(nvme_mp_admin_check(c, &m), -EINVAL); /* a length, no buffer */
	m = admin_msg(BRISK_NVME_OPC_GET_LOG_PAGE, 2, dma, 256 * 1024);
	CU_ASSERT_EQUAL(nvme_mp_admin_check(c, &m), -EINVAL); /* past MDTS */
	m = admin_msg(BRISK_NVME_OPC_IDENTIFY, 1, dma, 4096);
	m.cmd.fuse = 1;
	CU_ASSERT_EQUAL(nvme_mp_admin_check(c, &m), -EINVAL);
	brisk_free(dma);
	nvme_mp_channel_destroy(&s.ch);
	free(c);
}

struct admin_done {
	int calls;
	struct brisk_nvme_cpl cpl;
};

static void admin_done_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct admin_done *d = arg;

	d->calls++;
	d->cpl = *cpl;
}

/* The primary's side, by hand: takes the one request and answers it. */
static struct nvme_mp_msg *primary_take(uint8_t want_opc)
{
	struct nvme_mp_msg *m = nvme_mp_channel_next(&g_ch);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->op, NVME_MP_OP_ADMIN);
	CU_ASSERT_EQUAL(m->cmd.opc, want_opc);
	return m;
}

static void test_admin_forward(void)
{
	struct nvme_mp_secondary s;
	struct nvme_mp_shared sh;
	struct brisk_nvme_ctrlr *c = fake_secondary(&s, &sh);
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_GET_LOG_PAGE, .cdw10 = 0x7f0002 };
	void *dma = brisk_dma_zmalloc(4096, 4096, NULL);
	struct admin_done d = { 0 };
	struct nvme_mp_msg *m;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dma);
	/* Answered: the callback runs from polling only. */
	CU_ASSERT_EQUAL(nvme_mp_admin_submit(c, &cmd, dma, 512, admin_done_cb, &d), 0);
	CU_ASSERT_EQUAL(d.calls, 0);
	CU_ASSERT_EQUAL(nvme_mp_admin_poll_locked(c), 0); /* not answered yet */
	m = primary_take(BRISK_NVME_OPC_GET_LOG_PAGE);
	CU_ASSERT_EQUAL(m->buf, (uint64_t)(uintptr_t)dma);
	CU_ASSERT_EQUAL(m->len, 512);
	m->cpl.cdw0 = 0x1234;
	nvme_mp_channel_reply(&g_ch, m, 0);
	CU_ASSERT_EQUAL(d.calls, 0);
	CU_ASSERT_EQUAL(nvme_mp_admin_poll_locked(c), 1);
	CU_ASSERT_EQUAL(d.calls, 1);
	CU_ASSERT_EQUAL(d.cpl.cdw0, 0x1234);
	CU_ASSERT_FALSE(brisk_nvme_cpl_is_error(&d.cpl));

	/* Refused before sending: nothing on the channel. */
	cmd.opc = BRISK_NVME_OPC_FORMAT_NVM;
	CU_ASSERT_EQUAL(nvme_mp_admin_submit(c, &cmd, NULL, 0, admin_done_cb, &d), -EPERM);
	CU_ASSERT_PTR_NULL(nvme_mp_channel_next(&g_ch));

	/* Refused by the primary: an error completion, do not retry. */
	cmd.opc = BRISK_NVME_OPC_GET_FEATURES;
	CU_ASSERT_EQUAL(nvme_mp_admin_submit(c, &cmd, NULL, 0, admin_done_cb, &d), 0);
	nvme_mp_channel_reply(&g_ch, primary_take(BRISK_NVME_OPC_GET_FEATURES), -EPERM);
	CU_ASSERT_EQUAL(nvme_mp_admin_poll_locked(c), 1);
	CU_ASSERT_EQUAL(d.calls, 2);
	CU_ASSERT_EQUAL(d.cpl.status.sc, BRISK_NVME_SC_INVALID_OPCODE);
	CU_ASSERT_EQUAL(d.cpl.status.dnr, 1);

	/* The primary stops sharing: the command completes aborted; the slot
	 * comes back when the request is taken and answered after all. */
	CU_ASSERT_EQUAL(nvme_mp_admin_submit(c, &cmd, NULL, 0, admin_done_cb, &d), 0);
	sh.magic = 0;
	CU_ASSERT_EQUAL(nvme_mp_admin_poll_locked(c), 1);
	CU_ASSERT_EQUAL(d.calls, 3);
	CU_ASSERT_EQUAL(d.cpl.status.sc, BRISK_NVME_SC_ABORTED_SQ_DELETION);
	CU_ASSERT_EQUAL(nvme_mp_channel_free_count(&g_ch), NVME_MP_CHANNEL_SLOTS - 1);
	nvme_mp_channel_reply(&g_ch, primary_take(BRISK_NVME_OPC_GET_FEATURES), 0);
	CU_ASSERT_EQUAL(nvme_mp_channel_free_count(&g_ch), NVME_MP_CHANNEL_SLOTS);
	CU_ASSERT_EQUAL(d.calls, 3);
	brisk_free(dma);
	nvme_mp_channel_destroy(&s.ch);
	free(c);
}

static void test_full(void)
{
	struct nvme_mp_msg msg = { .op = NVME_MP_OP_NOP }, out, *slots[NVME_MP_CHANNEL_SLOTS], *s;
	unsigned i;

	for (i = 0; i < NVME_MP_CHANNEL_SLOTS; i++) {
		CU_ASSERT_EQUAL_FATAL(nvme_mp_channel_send(&g_ch, &msg, &slots[i]), 0);
	}
	CU_ASSERT_EQUAL(nvme_mp_channel_send(&g_ch, &msg, &s), -EBUSY);
	for (i = 0; i < NVME_MP_CHANNEL_SLOTS; i++) {
		s = nvme_mp_channel_next(&g_ch);
		CU_ASSERT_PTR_EQUAL_FATAL(s, slots[i]); /* in order */
		nvme_mp_channel_reply(&g_ch, s, 0);
	}
	for (i = 0; i < NVME_MP_CHANNEL_SLOTS; i++) {
		CU_ASSERT_EQUAL(nvme_mp_channel_result(&g_ch, slots[i], &out), 0);
	}
	CU_ASSERT_EQUAL(nvme_mp_channel_free_count(&g_ch), NVME_MP_CHANNEL_SLOTS);
}

static void test_abandon(void)
{
	struct nvme_mp_msg msg = { .op = NVME_MP_OP_NOP }, out, *slot, *got;

	/* Given up before the answer: the primary frees the slot. */
	CU_ASSERT_EQUAL_FATAL(nvme_mp_channel_send(&g_ch, &msg, &slot), 0);
	CU_ASSERT_EQUAL(nvme_mp_channel_abandon(&g_ch, slot), 0);
	got = nvme_mp_channel_next(&g_ch);
	CU_ASSERT_PTR_EQUAL_FATAL(got, slot);
	nvme_mp_channel_reply(&g_ch, got, 0);
	CU_ASSERT_EQUAL(nvme_mp_channel_free_count(&g_ch), NVME_MP_CHANNEL_SLOTS);
	/* The answer came first: abandon refuses, the answer is read. */
	CU_ASSERT_EQUAL_FATAL(nvme_mp_channel_send(&g_ch, &msg, &slot), 0);
	nvme_mp_channel_reply(&g_ch, nvme_mp_channel_next(&g_ch), 7);
	CU_ASSERT_EQUAL(nvme_mp_channel_abandon(&g_ch, slot), -EALREADY);
	CU_ASSERT_EQUAL(nvme_mp_channel_result(&g_ch, slot, &out), 0);
	CU_ASSERT_EQUAL(out.rc, 7);
	CU_ASSERT_EQUAL(nvme_mp_channel_free_count(&g_ch), NVME_MP_CHANNEL_SLOTS);
}

static pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	return pid;
}

static void test_dead_sender(void)
{
	struct nvme_mp_msg msg = { .op = NVME_MP_OP_NOP }, *slot, *got;

	CU_ASSERT_FALSE(nvme_mp_pid_alive(0));
	CU_ASSERT_TRUE(nvme_mp_pid_alive(getpid()));
	CU_ASSERT_EQUAL_FATAL(nvme_mp_channel_send(&g_ch, &msg, &slot), 0);
	slot->pid = dead_pid();
	CU_ASSERT_FALSE(nvme_mp_pid_alive(slot->pid));
	got = nvme_mp_channel_next(&g_ch);
	CU_ASSERT_PTR_EQUAL_FATAL(got, slot);
	nvme_mp_channel_reply(&g_ch, got, 0);
	CU_ASSERT_EQUAL(slot->state, NVME_MP_SLOT_FREE);
	CU_ASSERT_EQUAL(nvme_mp_channel_free_count(&g_ch), NVME_MP_CHANNEL_SLOTS);
}

static void test_bad_pointers(void)
{
	struct nvme_mp_msg msg = { .op = NVME_MP_OP_NOP }, out, stray = { .state = NVME_MP_SLOT_SENT };
	struct nvme_mp_msg *slot;

	CU_ASSERT_EQUAL(brisk_ring_enqueue(g_ch.req, &stray), 0);
	CU_ASSERT_EQUAL(brisk_ring_enqueue(g_ch.req, (uint8_t *)g_ch.slots + 8), 0);
	CU_ASSERT_PTR_NULL(nvme_mp_channel_next(&g_ch)); /* both dropped */
	/* A slot queued twice is answered once. */
	CU_ASSERT_EQUAL_FATAL(nvme_mp_channel_send(&g_ch, &msg, &slot), 0);
	CU_ASSERT_EQUAL(brisk_ring_enqueue(g_ch.req, slot), 0);
	nvme_mp_channel_reply(&g_ch, nvme_mp_channel_next(&g_ch), 0);
	CU_ASSERT_PTR_NULL(nvme_mp_channel_next(&g_ch));
	CU_ASSERT_EQUAL(nvme_mp_channel_result(&g_ch, slot, &out), 0);
	CU_ASSERT_EQUAL(nvme_mp_channel_free_count(&g_ch), NVME_MP_CHANNEL_SLOTS);
}

/* ---- Two processes ---- */

static int secondary_main(int shm_id)
{
	struct nvme_mp_channel ch;
	struct nvme_mp_msg msg, *slot;
	uint64_t end;
	int bad = 0;

	if (env_start(BRISK_PROC_SECONDARY, shm_id) != 0 || nvme_mp_channel_lookup(&ch, KEY) != 0) {
		return 2;
	}
	for (uint32_t i = 0; i < CHILD_REQUESTS && bad == 0; i++) {
		memset(&msg, 0, sizeof(msg));
		msg.op = NVME_MP_OP_CREATE_QPAIR;
		msg.num_entries = i + 2;
		end = brisk_get_time_us() + TIMEOUT_US;
		if (nvme_mp_channel_send(&ch, &msg, &slot) != 0) {
			bad = 3;
			break;
		}
		while (nvme_mp_channel_result(&ch, slot, &msg) == -EAGAIN && brisk_get_time_us() < end) {
		}
		/* The primary answers qid = num_entries + 1, rc = -num_entries. */
		bad = msg.qid == i + 3 && msg.rc == -(int)(i + 2) ? 0 : 4;
	}
	nvme_mp_channel_destroy(&ch);
	brisk_env_fini();
	return bad;
}

static pid_t spawn_secondary(void)
{
	char id[32];
	pid_t pid;

	snprintf(id, sizeof(id), "%d", g_shm_id);
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", "mp_channel_ut", "--secondary", id, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void test_two_processes(void)
{
	uint64_t end = brisk_get_time_us() + TIMEOUT_US;
	struct nvme_mp_msg *m;
	int status = 0, answered = 0;
	pid_t child = spawn_secondary(), w = 0;

	CU_ASSERT_FATAL(child > 0);
	while (brisk_get_time_us() < end && (w = waitpid(child, &status, WNOHANG)) == 0) {
		while ((m = nvme_mp_channel_next(&g_ch)) != NULL) {
			CU_ASSERT_EQUAL(m->pid, child);
			m->qid = m->num_entries + 1;
			nvme_mp_channel_reply(&g_ch, m, -(int)m->num_entries);
			answered++;
		}
	}
	if (w == 0) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	CU_ASSERT_EQUAL(w, child);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(answered, CHILD_REQUESTS);
	CU_ASSERT_EQUAL(nvme_mp_channel_free_count(&g_ch), NVME_MP_CHANNEL_SLOTS);
}

/* The secondary process test_two_processes starts. */
static int ut_role(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--secondary") == 0) {
		return secondary_main(atoi(argv[2]));
	}
	return BRISK_UT_NO_ROLE;
}

/* A shared-memory env of its own (the runner's is private). */
static int ut_setup(void)
{
	g_shm_id = 3000 + (int)(getpid() % 100000) * 2; /* unlikely to collide with a parallel run */
	if (env_start(BRISK_PROC_PRIMARY, g_shm_id) != 0 || nvme_mp_channel_create(&g_ch, KEY) != 0) {
		fprintf(stderr, "mp_channel_ut: cannot set up the env and the channel\n");
		return -1;
	}
	return 0;
}

static int ut_teardown(void)
{
	nvme_mp_channel_destroy(&g_ch);
	brisk_env_fini();
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	{ "create_lookup", test_create_lookup },
	{ "round_trip", test_round_trip },
	{ "recreate_admin_msgs", test_recreate_admin_msgs },
	{ "admin_check", test_admin_check },
	{ "admin_forward", test_admin_forward },
	{ "full", test_full },
	{ "abandon", test_abandon },
	{ "dead_sender", test_dead_sender },
	{ "bad_pointers", test_bad_pointers },
	{ "two_processes", test_two_processes },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "nvme_mp_channel", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "mp_channel_ut",
	.role = ut_role,
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
