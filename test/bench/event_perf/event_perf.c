/*
 * event_perf: messaging between two reactors.
 *
 *   one-way    thread A (core 0) sends N messages to thread B (core 1)
 *   events     reactor 0 posts N events to reactor 1 (brisk_event_call)
 *   ping-pong  A and B bounce one message N times (round trips/s)
 *   wake       latency of a message to a reactor that is asleep: A stamps,
 *              sends to B (whose reactor sleeps), B stamps and answers; the
 *              samples are spaced so that B's reactor is asleep each time,
 *              or (--wake-gap-us) by a fixed gap, which shows how often
 *              work at that rate finds the reactor asleep (--adaptive-spin-us)
 *
 * Runs with hybrid polling and with --poll-mode (both by default) so the
 * cost of sleeping shows next to pure polling. Prints a table, or JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/event.h>
#include <brisk/log.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#define SEND_BATCH 128
#define WAIT_LIMIT_US (60ull * 1000 * 1000)

struct perf_opts {
	uint64_t messages;   /* per throughput test */
	uint64_t pingpongs;
	uint32_t samples;    /* wake latency samples */
	bool run_hybrid;
	bool run_poll;
	bool json;
	bool no_huge;
	uint32_t adaptive_spin_us; /* 0 = off */
	uint32_t wake_gap_us; /* 0 = wait until the target sleeps */
};

struct perf_result {
	double msg_per_s;
	double event_per_s;
	double pingpong_per_s;
	double wake_oneway_p50, wake_oneway_p99;
	double wake_rtt_p50, wake_rtt_p99;
	double wake_asleep_pct; /* samples whose target was asleep when sent */
};

/* Shared by the control OS thread and the two reactors. */
struct perf_run {
	struct brisk_thread *a, *b;
	uint64_t n;
	uint64_t sent;      /* on A */
	uint64_t received;  /* on B (or reactor 1 for events) */
	uint64_t start_tsc;
	uint64_t end_tsc;
	struct brisk_poller *sender;
	_Atomic int done;
	/* wake samples */
	uint64_t t_send, t_recv, t_back;
	bool target_asleep;
};

static struct perf_run g_run;
static struct perf_opts g_opts = {
	.messages = 2000000, .pingpongs = 200000, .samples = 1000,
	.run_hybrid = true, .run_poll = true,
};
static struct perf_result g_results[2];
static int g_rc;

static void perf_usage(const char *prog)
{
	printf("Usage: %s [options]\n"
	       "Messaging between two reactors (cores 0 and 1): throughput and wake-up latency.\n\n"
	       "  -n, --messages <N>   messages in the one-way tests (default %" PRIu64 ")\n"
	       "  -p, --pingpongs <N>  round trips in the ping-pong test (default %" PRIu64 ")\n"
	       "  -l, --samples <N>    wake-up latency samples (default %u)\n"
	       "      --mode <m>       hybrid, poll or both (default both)\n"
	       "      --adaptive-spin-us <us>  reactors' adaptive spin bound (default off)\n"
	       "      --wake-gap-us <us>  space wake samples by this gap instead of waiting\n"
	       "                       for the target to sleep\n"
	       "      --no-huge        ordinary pages instead of hugepages\n"
	       "      --json           print JSON instead of the table\n"
	       "  -h, --help           this text\n",
	       prog, g_opts.messages, g_opts.pingpongs, g_opts.samples);
}

static bool wait_done(void)
{
	uint64_t start = brisk_get_time_us();

	while (!atomic_load(&g_run.done)) {
		if (brisk_get_time_us() - start > WAIT_LIMIT_US) {
			fprintf(stderr, "event_perf: a test did not finish within %llu s\n",
				WAIT_LIMIT_US / 1000000);
			return false;
		}
		usleep(200);
	}
	return true;
}

static void run_on(struct brisk_thread *t, brisk_msg_fn fn)
{
	atomic_store(&g_run.done, 0);
	if (brisk_thread_send_msg(t, fn, NULL) != 0) {
		fprintf(stderr, "event_perf: cannot reach thread %s\n", brisk_thread_get_name(t));
		exit(1);
	}
}

static double per_second(uint64_t n)
{
	uint64_t ticks = g_run.end_tsc - g_run.start_tsc;

	return ticks == 0 ? 0.0 : (double)n * (double)brisk_get_ticks_hz() / (double)ticks;
}

/* ---- One-way messages ---- */

static void oneway_recv(void *ctx)
{
	if (++g_run.received == g_run.n) {
		g_run.end_tsc = brisk_get_ticks();
		atomic_store(&g_run.done, 1);
	}
}

static int oneway_send_poller(void *ctx)
{
	uint32_t i;

	for (i = 0; i < SEND_BATCH && g_run.sent < g_run.n; i++) {
		if (brisk_thread_send_msg(g_run.b, oneway_recv, NULL) != 0) {
			break; /* ring full: B catches up, retry next poll */
		}
		g_run.sent++;
	}
	if (g_run.sent == g_run.n) {
		brisk_poller_unregister(&g_run.sender);
	}
	return BRISK_POLLER_BUSY;
}

static void oneway_start(void *ctx)
{
	g_run.sent = g_run.received = 0;
	g_run.start_tsc = brisk_get_ticks();
	g_run.sender = brisk_poller_register(oneway_send_poller, NULL, 0);
}

/* ---- One-way events ---- */

static void event_recv(void *arg1, void *arg2)
{
	oneway_recv(NULL);
}

static int event_send_poller(void *ctx)
{
	uint32_t i;

	for (i = 0; i < SEND_BATCH && g_run.sent < g_run.n; i++) {
		if (brisk_event_call(1, event_recv, NULL, NULL) != 0) {
			break;
		}
		g_run.sent++;
	}
	if (g_run.sent == g_run.n) {
		brisk_poller_unregister(&g_run.sender);
	}
	return BRISK_POLLER_BUSY;
}

static void event_start(void *ctx)
{
	g_run.sent = g_run.received = 0;
	g_run.start_tsc = brisk_get_ticks();
	g_run.sender = brisk_poller_register(event_send_poller, NULL, 0);
}

/* ---- Ping-pong ---- */

static void pong(void *ctx);

static void ping(void *ctx)
{
	brisk_thread_send_msg(g_run.a, pong, NULL);
}

static void pong(void *ctx)
{
	if (++g_run.received == g_run.n) {
		g_run.end_tsc = brisk_get_ticks();
		atomic_store(&g_run.done, 1);
		return;
	}
	brisk_thread_send_msg(g_run.b, ping, NULL);
}

static void pingpong_start(void *ctx)
{
	g_run.received = 0;
	g_run.start_tsc = brisk_get_ticks();
	brisk_thread_send_msg(g_run.b, ping, NULL);
}

/* ---- Wake-up latency ---- */

static void wake_back(void *ctx)
{
	g_run.t_back = brisk_get_ticks();
	atomic_store(&g_run.done, 1);
}

static void wake_recv(void *ctx)
{
	g_run.t_recv = brisk_get_ticks();
	brisk_thread_send_msg(g_run.a, wake_back, NULL);
}

static void wake_send(void *ctx)
{
	struct brisk_reactor_info info;

	brisk_reactor_get_info(1, &info);
	g_run.target_asleep = info.sleeping;
	g_run.t_send = brisk_get_ticks();
	brisk_thread_send_msg(g_run.b, wake_recv, NULL);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double percentile(double *v, uint32_t n, double p)
{
	uint32_t i = (uint32_t)(p * (n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

/* Waits until reactor 1 sleeps (hybrid), a short gap (poll mode) or the
 * --wake-gap-us gap. */
static void wait_target_idle(bool poll_mode)
{
	struct brisk_reactor_info info;
	uint64_t start = brisk_get_time_us();

	if (poll_mode) {
		usleep(100);
		return;
	}
	if (g_opts.wake_gap_us != 0) {
		usleep(g_opts.wake_gap_us);
		return;
	}
	do {
		usleep(300);
		brisk_reactor_get_info(1, &info);
	} while (!info.sleeping && brisk_get_time_us() - start < 100000);
}

static bool measure_wake(bool poll_mode, struct perf_result *r)
{
	uint32_t n = g_opts.samples, asleep = 0;
	double *oneway = calloc(n, sizeof(double)), *rtt = calloc(n, sizeof(double));
	uint64_t hz = brisk_get_ticks_hz();

	if (oneway == NULL || rtt == NULL) {
		free(oneway);
		free(rtt);
		return false;
	}
	for (uint32_t i = 0; i < n; i++) {
		wait_target_idle(poll_mode);
		run_on(g_run.a, wake_send);
		if (!wait_done()) {
			free(oneway);
			free(rtt);
			return false;
		}
		oneway[i] = (double)(g_run.t_recv - g_run.t_send) * 1e6 / (double)hz;
		rtt[i] = (double)(g_run.t_back - g_run.t_send) * 1e6 / (double)hz;
		asleep += g_run.target_asleep;
	}
	qsort(oneway, n, sizeof(double), cmp_double);
	qsort(rtt, n, sizeof(double), cmp_double);
	r->wake_oneway_p50 = percentile(oneway, n, 0.50);
	r->wake_oneway_p99 = percentile(oneway, n, 0.99);
	r->wake_rtt_p50 = percentile(rtt, n, 0.50);
	r->wake_rtt_p99 = percentile(rtt, n, 0.99);
	r->wake_asleep_pct = 100.0 * asleep / n;
	free(oneway);
	free(rtt);
	return true;
}

/* ---- Driver (control OS thread) ---- */

struct control_arg {
	bool poll_mode;
	struct perf_result *result;
};

static void *control_main(void *arg)
{
	struct control_arg *c = arg;
	struct brisk_cpuset core0, core1;

	brisk_cpuset_zero(&core0);
	brisk_cpuset_set_cpu(&core0, 0, true);
	brisk_cpuset_zero(&core1);
	brisk_cpuset_set_cpu(&core1, 1, true);
	memset(&g_run, 0, sizeof(g_run));
	g_run.a = brisk_thread_create("perf_a", &core0);
	g_run.b = brisk_thread_create("perf_b", &core1);
	if (g_run.a == NULL || g_run.b == NULL) {
		fprintf(stderr, "event_perf: cannot create the threads\n");
		g_rc = 1;
		goto out;
	}
	usleep(10000); /* let both reach their reactors */

	g_run.n = g_opts.messages;
	run_on(g_run.a, oneway_start);
	if (!wait_done()) {
		g_rc = 1;
		goto out;
	}
	c->result->msg_per_s = per_second(g_run.n);

	g_run.n = g_opts.messages;
	run_on(g_run.a, event_start);
	if (!wait_done()) {
		g_rc = 1;
		goto out;
	}
	c->result->event_per_s = per_second(g_run.n);

	g_run.n = g_opts.pingpongs;
	run_on(g_run.a, pingpong_start);
	if (!wait_done()) {
		g_rc = 1;
		goto out;
	}
	c->result->pingpong_per_s = per_second(g_run.n);

	if (!measure_wake(c->poll_mode, c->result)) {
		g_rc = 1;
	}
out:
	brisk_reactors_stop();
	return NULL;
}

static int run_mode(bool poll_mode, struct perf_result *result)
{
	struct control_arg arg = { .poll_mode = poll_mode, .result = result };
	pthread_t control;
	int rc;

	rc = brisk_reactors_init(poll_mode);
	if (rc != 0) {
		return rc;
	}
	rc = brisk_reactors_set_adaptive_spin(g_opts.adaptive_spin_us);
	if (rc != 0) {
		brisk_reactors_fini();
		return rc;
	}
	if (pthread_create(&control, NULL, control_main, &arg) != 0) {
		brisk_reactors_fini();
		return -EAGAIN;
	}
	rc = brisk_reactors_start();
	pthread_join(control, NULL);
	brisk_reactors_fini();
	return rc != 0 ? rc : (g_rc != 0 ? -EIO : 0);
}

static void print_table(void)
{
	const char *names[2] = {"hybrid", "poll"};
	bool on[2] = {g_opts.run_hybrid, g_opts.run_poll};

	printf("event_perf: two reactors (cores 0 and 1), %" PRIu64 " messages, %" PRIu64
	       " round trips, %u wake samples\n\n", g_opts.messages, g_opts.pingpongs, g_opts.samples);
	printf("%-40s", "");
	for (int m = 0; m < 2; m++) {
		if (on[m]) {
			printf("%14s", names[m]);
		}
	}
	printf("\n");
#define ROW(label, fmt, field) do { \
		printf("%-40s", label); \
		for (int m = 0; m < 2; m++) { \
			if (on[m]) { \
				printf(fmt, g_results[m].field); \
			} \
		} \
		printf("\n"); \
	} while (0)
	ROW("thread messages one way (M/s)", "%14.2f", msg_per_s / 1e6);
	ROW("events one way (M/s)", "%14.2f", event_per_s / 1e6);
	ROW("ping-pong round trips (k/s)", "%14.1f", pingpong_per_s / 1e3);
	ROW("wake one-way latency p50 (us)", "%14.1f", wake_oneway_p50);
	ROW("wake one-way latency p99 (us)", "%14.1f", wake_oneway_p99);
	ROW("wake round trip p50 (us)", "%14.1f", wake_rtt_p50);
	ROW("wake round trip p99 (us)", "%14.1f", wake_rtt_p99);
	ROW("samples with the target asleep (%)", "%14.1f", wake_asleep_pct);
#undef ROW
}

static void print_json(void)
{
	const char *names[2] = {"hybrid", "poll"};
	bool on[2] = {g_opts.run_hybrid, g_opts.run_poll};
	bool first = true;

	printf("{\"messages\": %" PRIu64 ", \"pingpongs\": %" PRIu64 ", \"samples\": %u, \"modes\": {",
	       g_opts.messages, g_opts.pingpongs, g_opts.samples);
	for (int m = 0; m < 2; m++) {
		const struct perf_result *r = &g_results[m];

		if (!on[m]) {
			continue;
		}
		printf("%s\"%s\": {\"msg_per_s\": %.0f, \"event_per_s\": %.0f, "
		       "\"pingpong_round_trips_per_s\": %.0f, "
		       "\"wake_oneway_us\": {\"p50\": %.2f, \"p99\": %.2f}, "
		       "\"wake_round_trip_us\": {\"p50\": %.2f, \"p99\": %.2f}, "
		       "\"target_asleep_pct\": %.1f}",
		       first ? "" : ", ", names[m], r->msg_per_s, r->event_per_s, r->pingpong_per_s,
		       r->wake_oneway_p50, r->wake_oneway_p99, r->wake_rtt_p50, r->wake_rtt_p99,
		       r->wake_asleep_pct);
		first = false;
	}
	printf("}}\n");
}

static int parse_count(const char *flag, const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || *s < '0' || *s > '9' || v == 0 || v > max) {
		fprintf(stderr, "event_perf: %s: '%s' is not a number from 1 to %" PRIu64 "\n", flag, s, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

enum { OPT_MODE = 256, OPT_NO_HUGE, OPT_JSON, OPT_SPIN, OPT_GAP };

static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "messages", required_argument, NULL, 'n' },
		{ "pingpongs", required_argument, NULL, 'p' },
		{ "samples", required_argument, NULL, 'l' },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "no-huge", no_argument, NULL, OPT_NO_HUGE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "adaptive-spin-us", required_argument, NULL, OPT_SPIN },
		{ "wake-gap-us", required_argument, NULL, OPT_GAP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int ch;

	while ((ch = getopt_long(argc, argv, "n:p:l:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (parse_count("--messages", optarg, 1ull << 32, &g_opts.messages) != 0) {
				return -1;
			}
			break;
		case 'p':
			if (parse_count("--pingpongs", optarg, 1ull << 32, &g_opts.pingpongs) != 0) {
				return -1;
			}
			break;
		case 'l':
			if (parse_count("--samples", optarg, 1000000, &v) != 0) {
				return -1;
			}
			g_opts.samples = (uint32_t)v;
			break;
		case OPT_MODE:
			g_opts.run_hybrid = strcmp(optarg, "hybrid") == 0 || strcmp(optarg, "both") == 0;
			g_opts.run_poll = strcmp(optarg, "poll") == 0 || strcmp(optarg, "both") == 0;
			if (!g_opts.run_hybrid && !g_opts.run_poll) {
				fprintf(stderr, "event_perf: --mode: '%s' is not hybrid, poll or both\n", optarg);
				return -1;
			}
			break;
		case OPT_NO_HUGE:
			g_opts.no_huge = true;
			break;
		case OPT_JSON:
			g_opts.json = true;
			break;
		case OPT_SPIN:
			if (parse_count("--adaptive-spin-us", optarg, BRISK_REACTOR_ADAPTIVE_SPIN_MAX_US, &v) != 0) {
				return -1;
			}
			g_opts.adaptive_spin_us = (uint32_t)v;
			break;
		case OPT_GAP:
			if (parse_count("--wake-gap-us", optarg, 1000000, &v) != 0) {
				return -1;
			}
			g_opts.wake_gap_us = (uint32_t)v;
			break;
		case 'h':
			perf_usage(argv[0]);
			return 1;
		default:
			fprintf(stderr, "event_perf: bad option (see --help)\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "event_perf: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct brisk_env_opts env;
	int rc = parse_args(argc, argv);

	if (rc != 0) {
		return rc > 0 ? 0 : 1;
	}
	if (brisk_env_get_online_cpu_count() < 2) {
		fprintf(stderr, "event_perf: needs two cores\n");
		return 1;
	}
	brisk_log_set_print_level(BRISK_LOG_WARN);
	brisk_env_opts_init(&env);
	env.name = "event_perf";
	env.core_mask = "0x3";
	env.mem_size_mb = 128;
	env.no_huge = g_opts.no_huge;
	rc = brisk_env_init(&env);
	if (rc != 0) {
		fprintf(stderr, "event_perf: env init failed: %s\n", strerror(-rc));
		return 1;
	}
	if (g_opts.run_hybrid) {
		rc = run_mode(false, &g_results[0]);
	}
	if (rc == 0 && g_opts.run_poll) {
		rc = run_mode(true, &g_results[1]);
	}
	brisk_env_fini();
	if (rc != 0) {
		fprintf(stderr, "event_perf: failed: %s\n", strerror(-rc));
		return 1;
	}
	if (g_opts.json) {
		print_json();
	} else {
		print_table();
	}
	return 0;
}
