/*
 * JSON-RPC methods on one subsystem (SPDK's names and parameters):
 * listeners, namespaces, hosts, allow_any_host, and the connected
 * controllers and queue pairs. They run on the app thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/rpc.h>

#include "nvmf_internal.h"

struct rpc_ss {
	char *nqn;
	char *tgt_name;
	json_t *listen_address;
	json_t *namespace;
	char *host;
	char *psk;
	uint32_t nsid;
	bool allow_any_host;
	bool secure_channel;
	char *ana_state;
};

#define F(f, fn, opt) {#f, offsetof(struct rpc_ss, f), fn, opt}
#define NQN F(nqn, brisk_json_decode_string, false), F(tgt_name, brisk_json_decode_string, true)

static struct nvmf_subsystem *ss_decode(struct brisk_jsonrpc_request *req, const json_t *params,
					const struct brisk_json_object_decoder *d, size_t n, struct rpc_ss *p)
{
	struct nvmf_subsystem *s;
	char err[256];

	if (brisk_json_decode_object(params, d, n, p, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		return NULL;
	}
	s = nvmf_subsystem_find(p->nqn);
	if (s == NULL || s->subtype != BRISK_NVMF_SUBTYPE_NVME) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "Unable to find subsystem with NQN %s", p->nqn);
		return NULL;
	}
	return s;
}

/* ---- listeners ---- */

struct rpc_addr {
	char *trtype, *adrfam, *traddr, *trsvcid;
};

static const struct brisk_json_object_decoder g_addr_decoders[] = {
	{"trtype", offsetof(struct rpc_addr, trtype), brisk_json_decode_string, false},
	{"adrfam", offsetof(struct rpc_addr, adrfam), brisk_json_decode_string, true},
	{"traddr", offsetof(struct rpc_addr, traddr), brisk_json_decode_string, false},
	{"trsvcid", offsetof(struct rpc_addr, trsvcid), brisk_json_decode_string, false},
};

static int addr_decode(struct brisk_jsonrpc_request *req, const json_t *j, struct nvmf_listen_addr *a)
{
	struct rpc_addr p = {0};
	char err[256];
	int rc = -EINVAL;

	if (brisk_json_decode_object(j, g_addr_decoders, BRISK_COUNTOF(g_addr_decoders), &p, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "listen_address: %s", err);
	} else if (strcasecmp(p.trtype, "TCP") != 0) {
		brisk_jsonrpc_invalid_params(req, "listen_address: trtype '%s' is not supported (TCP)", p.trtype);
	} else if (nvmf_listen_addr_parse(a, p.adrfam, p.traddr, p.trsvcid, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "listen_address: %s", err);
	} else {
		rc = 0;
	}
	brisk_json_free_object(g_addr_decoders, BRISK_COUNTOF(g_addr_decoders), &p);
	return rc;
}

static const struct brisk_json_object_decoder g_listener_decoders[] = {
	NQN, F(listen_address, brisk_json_decode_json, false), F(secure_channel, brisk_json_decode_bool, true),
	F(ana_state, brisk_json_decode_string, true),
};

static void rpc_listener(struct brisk_jsonrpc_request *req, const json_t *params, bool add)
{
	struct rpc_ss p = {0};
	struct nvmf_subsystem *s = ss_decode(req, params, g_listener_decoders, BRISK_COUNTOF(g_listener_decoders), &p);
	struct nvmf_listen_addr a;
	uint8_t state = BRISK_NVME_ANA_OPTIMIZED;
	int rc;

	if (s == NULL || addr_decode(req, p.listen_address, &a) != 0) {
		goto out;
	}
	if (add && p.ana_state != NULL && nvmf_ana_state_parse(p.ana_state, &state) != 0) {
		brisk_jsonrpc_invalid_params(req, "ana_state '%s' is not optimized, non_optimized or inaccessible",
					     p.ana_state);
		goto out;
	}
	if (p.secure_channel) {
		brisk_jsonrpc_invalid_params(req, "secure_channel (TLS) is not supported");
		goto out;
	}
	if (g_nvmf_tgt.tcp == NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -EINVAL, "Unable to find transport TCP: "
						      "call nvmf_create_transport first");
		goto out;
	}
	rc = add ? nvmf_subsystem_add_listener(s, &a) : nvmf_subsystem_remove_listener(s, &a);
	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "%s listener %s:%s: %s", add ? "Unable to add" :
						      "Unable to remove", a.traddr, a.trsvcid, strerror(-rc));
		goto out;
	}
	if (add && state != BRISK_NVME_ANA_OPTIMIZED) {
		nvmf_ana_set_state(s, &a, 0, state);
	}
	brisk_jsonrpc_send_bool_response(req, true);
out:
	brisk_json_free_object(g_listener_decoders, BRISK_COUNTOF(g_listener_decoders), &p);
}

static void rpc_nvmf_subsystem_add_listener(struct brisk_jsonrpc_request *req, const json_t *params)
{
	rpc_listener(req, params, true);
}
BRISK_RPC_REGISTER("nvmf_subsystem_add_listener", rpc_nvmf_subsystem_add_listener, BRISK_RPC_RUNTIME)

static void rpc_nvmf_subsystem_remove_listener(struct brisk_jsonrpc_request *req, const json_t *params)
{
	rpc_listener(req, params, false);
}
BRISK_RPC_REGISTER("nvmf_subsystem_remove_listener", rpc_nvmf_subsystem_remove_listener, BRISK_RPC_RUNTIME)

static const struct brisk_json_object_decoder g_nqn_decoders[] = { NQN };

static void rpc_nvmf_subsystem_get_listeners(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_ss p = {0};
	struct nvmf_subsystem *s = ss_decode(req, params, g_nqn_decoders, BRISK_COUNTOF(g_nqn_decoders), &p);
	struct nvmf_subsys_listener *sl;
	json_t *arr;

	if (s != NULL) {
		arr = json_array();
		TAILQ_FOREACH(sl, &s->listeners, link) {
			/* ana_state: group 1's, as SPDK shows it; ana_states: every group with a namespace */
			json_array_append_new(arr, json_pack("{s:o, s:s, s:o}", "address",
							     nvmf_listen_addr_json(&sl->listener->addr), "ana_state",
							     nvmf_ana_state_str(sl->ana_states[0]), "ana_states",
							     nvmf_ana_listener_json(s, sl)));
		}
		brisk_jsonrpc_send_result(req, arr);
	}
	brisk_json_free_object(g_nqn_decoders, BRISK_COUNTOF(g_nqn_decoders), &p);
}
BRISK_RPC_REGISTER("nvmf_subsystem_get_listeners", rpc_nvmf_subsystem_get_listeners, BRISK_RPC_RUNTIME)

static const struct brisk_json_object_decoder g_set_ana_decoders[] = {
	NQN,
	F(listen_address, brisk_json_decode_json, false),
	F(ana_state, brisk_json_decode_string, false),
	{ "anagrpid", offsetof(struct rpc_ss, nsid), brisk_json_decode_uint32, true }, /* in nsid's slot */
};

static void rpc_nvmf_subsystem_listener_set_ana_state(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_ss p = { 0 };
	struct nvmf_subsystem *s = ss_decode(req, params, g_set_ana_decoders, BRISK_COUNTOF(g_set_ana_decoders), &p);
	struct nvmf_listen_addr a;
	uint8_t state;
	int rc;

	if (s == NULL || addr_decode(req, p.listen_address, &a) != 0) {
		goto out;
	}
	if (!s->ana_reporting) {
		brisk_jsonrpc_invalid_params(req, "subsystem %s was created without ana_reporting", s->nqn);
	} else if (nvmf_ana_state_parse(p.ana_state, &state) != 0) {
		brisk_jsonrpc_invalid_params(req, "ana_state '%s' is not optimized, non_optimized or inaccessible",
					     p.ana_state);
	} else if (p.nsid > s->max_nsid) {
		brisk_jsonrpc_invalid_params(req, "anagrpid %u is above max_namespaces (%u)", p.nsid, s->max_nsid);
	} else if ((rc = nvmf_ana_set_state(s, &a, p.nsid, state)) != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "Unable to set ANA state of listener %s:%s: %s",
						      a.traddr, a.trsvcid, strerror(-rc));
	} else {
		brisk_jsonrpc_send_bool_response(req, true);
	}
out:
	brisk_json_free_object(g_set_ana_decoders, BRISK_COUNTOF(g_set_ana_decoders), &p);
}
BRISK_RPC_REGISTER("nvmf_subsystem_listener_set_ana_state", rpc_nvmf_subsystem_listener_set_ana_state,
		   BRISK_RPC_RUNTIME)

/* ---- namespaces ---- */

struct rpc_ns {
	uint32_t nsid;
	char *bdev_name;
	char *nguid, *eui64, *uuid, *ptpl_file;
	uint32_t anagrpid;
};

static const struct brisk_json_object_decoder g_ns_decoders[] = {
	{"nsid", offsetof(struct rpc_ns, nsid), brisk_json_decode_uint32, true},
	{"bdev_name", offsetof(struct rpc_ns, bdev_name), brisk_json_decode_string, false},
	{"nguid", offsetof(struct rpc_ns, nguid), brisk_json_decode_string, true},
	{"eui64", offsetof(struct rpc_ns, eui64), brisk_json_decode_string, true},
	{"uuid", offsetof(struct rpc_ns, uuid), brisk_json_decode_string, true},
	{"ptpl_file", offsetof(struct rpc_ns, ptpl_file), brisk_json_decode_string, true},
	{"anagrpid", offsetof(struct rpc_ns, anagrpid), brisk_json_decode_uint32, true},
};

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* 32 hex digits, dashes allowed anywhere (SPDK accepts the UUID form). */
static int parse_nguid(const char *s, uint8_t *out)
{
	size_t n = 0;

	for (; *s && n < 32; s++) {
		int v = hexval(*s);

		if (*s == '-') {
			continue;
		}
		if (v < 0) {
			return -EINVAL;
		}
		out[n / 2] = (uint8_t)(n % 2 ? out[n / 2] | v : v << 4);
		n++;
	}
	return n == 32 && *s == '\0' ? 0 : -EINVAL;
}

static int ns_params(struct brisk_jsonrpc_request *req, const struct rpc_ns *n, uint8_t *nguid,
		     struct brisk_uuid *uuid)
{
	if (n->nguid && parse_nguid(n->nguid, nguid) != 0) {
		brisk_jsonrpc_invalid_params(req, "namespace.nguid '%s' is not 16 bytes of hex", n->nguid);
		return -EINVAL;
	}
	if (n->uuid && brisk_uuid_parse(uuid, n->uuid) != 0) {
		brisk_jsonrpc_invalid_params(req, "namespace.uuid '%s' is not a UUID", n->uuid);
		return -EINVAL;
	}
	if (n->eui64) {
		brisk_jsonrpc_invalid_params(req, "namespace: eui64 is not supported");
		return -EINVAL;
	}
	return 0;
}

static const struct brisk_json_object_decoder g_add_ns_decoders[] = {
	NQN, F(namespace, brisk_json_decode_json, false),
};

static void rpc_nvmf_subsystem_add_ns(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_ss p = {0};
	struct rpc_ns n = {0};
	struct nvmf_subsystem *s = ss_decode(req, params, g_add_ns_decoders, BRISK_COUNTOF(g_add_ns_decoders), &p);
	uint8_t nguid[16];
	struct brisk_uuid uuid;
	uint32_t nsid = 0;
	char err[256];
	int rc;

	if (s == NULL) {
		goto out;
	}
	if (brisk_json_decode_object(p.namespace, g_ns_decoders, BRISK_COUNTOF(g_ns_decoders), &n, err,
				     sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "namespace: %s", err);
		goto out;
	}
	if (ns_params(req, &n, nguid, &uuid) != 0) {
		goto out;
	}
	if (n.anagrpid > s->max_nsid) {
		brisk_jsonrpc_invalid_params(req, "namespace.anagrpid %u is above max_namespaces (%u)", n.anagrpid,
					     s->max_nsid);
		goto out;
	}
	err[0] = '\0';
	rc = nvmf_ns_add(s, n.nsid, n.bdev_name, n.nguid ? nguid : NULL, n.uuid ? &uuid : NULL, n.ptpl_file, &nsid, err,
			 sizeof(err));
	if (rc != 0) {
		if (err[0] == '\0') {
			snprintf(err, sizeof(err), "%s",
				 rc == -ERANGE   ? "nsid above max_namespaces"
				 : rc == -EEXIST ? "nsid in use"
						 : strerror(-rc));
		}
		brisk_jsonrpc_send_error_response_fmt(req, rc, "Unable to add namespace %u (bdev %s) to %s: %s", n.nsid,
						      n.bdev_name, s->nqn, err);
		goto out;
	}
	if (n.anagrpid != 0) {
		s->ns[nsid - 1]->anagrpid = n.anagrpid;
	}
	brisk_jsonrpc_send_result(req, json_integer(nsid));
out:
	brisk_json_free_object(g_ns_decoders, BRISK_COUNTOF(g_ns_decoders), &n);
	brisk_json_free_object(g_add_ns_decoders, BRISK_COUNTOF(g_add_ns_decoders), &p);
}
BRISK_RPC_REGISTER("nvmf_subsystem_add_ns", rpc_nvmf_subsystem_add_ns, BRISK_RPC_RUNTIME)

static const struct brisk_json_object_decoder g_remove_ns_decoders[] = {
	NQN, F(nsid, brisk_json_decode_uint32, false),
};

static void rpc_nvmf_subsystem_remove_ns(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_ss p = {0};
	struct nvmf_subsystem *s = ss_decode(req, params, g_remove_ns_decoders,
					     BRISK_COUNTOF(g_remove_ns_decoders), &p);

	if (s != NULL && nvmf_ns_remove(s, p.nsid) != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENOENT, "namespace %u of %s does not exist", p.nsid, p.nqn);
	} else if (s != NULL) {
		brisk_jsonrpc_send_bool_response(req, true);
	}
	brisk_json_free_object(g_remove_ns_decoders, BRISK_COUNTOF(g_remove_ns_decoders), &p);
}
BRISK_RPC_REGISTER("nvmf_subsystem_remove_ns", rpc_nvmf_subsystem_remove_ns, BRISK_RPC_RUNTIME)

/* ---- hosts ---- */

static const struct brisk_json_object_decoder g_host_decoders[] = {
	NQN, F(host, brisk_json_decode_string, false), F(psk, brisk_json_decode_string, true),
};

static void rpc_host(struct brisk_jsonrpc_request *req, const json_t *params, bool add)
{
	struct rpc_ss p = {0};
	struct nvmf_subsystem *s = ss_decode(req, params, g_host_decoders, BRISK_COUNTOF(g_host_decoders), &p);
	int rc;

	if (s == NULL) {
		goto out;
	}
	if (p.psk != NULL) {
		brisk_jsonrpc_invalid_params(req, "psk (TLS) is not supported");
		goto out;
	}
	rc = add ? nvmf_subsystem_add_host(s, p.host) : nvmf_subsystem_remove_host(s, p.host);
	if (rc == -EINVAL) {
		brisk_jsonrpc_invalid_params(req, "host '%s' is not a valid NQN", p.host);
	} else if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "host %s of %s: %s", p.host, p.nqn,
						      rc == -EEXIST ? "already allowed" : strerror(-rc));
	} else {
		brisk_jsonrpc_send_bool_response(req, true);
	}
out:
	brisk_json_free_object(g_host_decoders, BRISK_COUNTOF(g_host_decoders), &p);
}

static void rpc_nvmf_subsystem_add_host(struct brisk_jsonrpc_request *req, const json_t *params)
{
	rpc_host(req, params, true);
}
BRISK_RPC_REGISTER("nvmf_subsystem_add_host", rpc_nvmf_subsystem_add_host, BRISK_RPC_RUNTIME)

static void rpc_nvmf_subsystem_remove_host(struct brisk_jsonrpc_request *req, const json_t *params)
{
	rpc_host(req, params, false);
}
BRISK_RPC_REGISTER("nvmf_subsystem_remove_host", rpc_nvmf_subsystem_remove_host, BRISK_RPC_RUNTIME)

static const struct brisk_json_object_decoder g_any_host_decoders[] = {
	NQN, F(allow_any_host, brisk_json_decode_bool, false),
};

static void rpc_nvmf_subsystem_allow_any_host(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_ss p = {0};
	struct nvmf_subsystem *s = ss_decode(req, params, g_any_host_decoders,
					     BRISK_COUNTOF(g_any_host_decoders), &p);

	if (s != NULL) {
		s->allow_any_host = p.allow_any_host;
		nvmf_discovery_changed();
		brisk_jsonrpc_send_bool_response(req, true);
	}
	brisk_json_free_object(g_any_host_decoders, BRISK_COUNTOF(g_any_host_decoders), &p);
}
BRISK_RPC_REGISTER("nvmf_subsystem_allow_any_host", rpc_nvmf_subsystem_allow_any_host, BRISK_RPC_RUNTIME)

/* ---- controllers and queue pairs ---- */

static void rpc_nvmf_subsystem_get_controllers(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_ss p = {0};
	struct nvmf_subsystem *s = ss_decode(req, params, g_nqn_decoders, BRISK_COUNTOF(g_nqn_decoders), &p);
	struct nvmf_ctrlr *c;
	struct brisk_uuid id;
	char hostid[40];
	json_t *arr;

	if (s != NULL) {
		arr = json_array();
		TAILQ_FOREACH(c, &s->ctrlrs, link) {
			memcpy(id.u, c->hostid, sizeof(id.u));
			brisk_uuid_fmt_lower(hostid, sizeof(hostid), &id);
			json_array_append_new(
				arr, json_pack("{s:i, s:s, s:s, s:i}", "cntlid", (json_int_t)c->cntlid, "hostnqn",
					       c->hostnqn, "hostid", hostid, "num_io_qpairs",
					       (json_int_t)__atomic_load_n(&c->num_io_qpairs, __ATOMIC_SEQ_CST)));
		}
		brisk_jsonrpc_send_result(req, arr);
	}
	brisk_json_free_object(g_nqn_decoders, BRISK_COUNTOF(g_nqn_decoders), &p);
}
BRISK_RPC_REGISTER("nvmf_subsystem_get_controllers", rpc_nvmf_subsystem_get_controllers, BRISK_RPC_RUNTIME)

/* Each poll group thread in turn adds its queue pairs of the subsystem. */
struct qpairs_ctx {
	struct brisk_jsonrpc_request *req;
	struct nvmf_subsystem *s;
	json_t *arr;
};

static void qpairs_visit(void *arg)
{
	struct qpairs_ctx *q = arg;
	struct nvmf_poll_group *pg = nvmf_poll_group_current();
	struct nvmf_conn *c;

	if (pg == NULL) {
		return;
	}
	TAILQ_FOREACH(c, &pg->conns, link) {
		if (c->ctrlr == NULL || c->ctrlr->subsys != q->s || c->dead) {
			continue;
		}
		json_array_append_new(q->arr, json_pack("{s:i, s:i, s:s, s:s, s:s, s:o}", "cntlid",
							(json_int_t)c->ctrlr->cntlid, "qid", (json_int_t)c->qid,
							"state", "active", "thread", brisk_thread_get_name(pg->thread),
							"peer_address", c->peer, "listen_address",
							nvmf_listen_addr_json(&c->local)));
	}
}

static void qpairs_done(void *arg)
{
	struct qpairs_ctx *q = arg;

	brisk_jsonrpc_send_result(q->req, q->arr);
	free(q);
}

static void rpc_nvmf_subsystem_get_qpairs(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_ss p = {0};
	struct nvmf_subsystem *s = ss_decode(req, params, g_nqn_decoders, BRISK_COUNTOF(g_nqn_decoders), &p);
	struct qpairs_ctx *q;

	if (s != NULL) {
		q = calloc(1, sizeof(*q));
		if (q == NULL) {
			brisk_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		} else {
			q->req = req;
			q->s = s;
			q->arr = json_array();
			brisk_for_each_thread(qpairs_visit, q, qpairs_done);
		}
	}
	brisk_json_free_object(g_nqn_decoders, BRISK_COUNTOF(g_nqn_decoders), &p);
}
BRISK_RPC_REGISTER("nvmf_subsystem_get_qpairs", rpc_nvmf_subsystem_get_qpairs, BRISK_RPC_RUNTIME)
