/*
 * JSON views of the target: a subsystem as nvmf_get_subsystems shows it,
 * listen addresses, transport options, and save_config's list of calls
 * that recreate the configuration (set_config, max subsystems, transport,
 * then per subsystem: create, listeners, hosts, namespaces).
 */
#include <string.h>

#include <brisk/uuid.h>

#include "nvmf_internal.h"

json_t *nvmf_listen_addr_json(const struct nvmf_listen_addr *a)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "trtype", "TCP", "adrfam", nvmf_adrfam_str(a->adrfam),
			 "traddr", a->traddr, "trsvcid", a->trsvcid);
}

static void nguid_str(const uint8_t *g, char *buf, size_t len)
{
	size_t o = 0;

	for (int i = 0; i < 16 && o + 3 <= len; i++) {
		o += snprintf(buf + o, len - o, "%02X", g[i]);
	}
}

static json_t *ns_json(const struct nvmf_ns *ns)
{
	char nguid[33] = "", uuid[40] = "";

	nguid_str(ns->nguid, nguid, sizeof(nguid));
	brisk_uuid_fmt_lower(uuid, sizeof(uuid), &ns->uuid);
	json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:s}", "nsid", (json_int_t)ns->nsid, "bdev_name",
			      brisk_bdev_get_name(ns->bdev), "name", brisk_bdev_get_name(ns->bdev), "nguid", nguid,
			      "uuid", uuid);

	if (o != NULL) {
		json_object_set_new(o, "anagrpid", json_integer(ns->anagrpid));
	}
	if (o != NULL && ns->resv.ptpl_file != NULL) {
		json_object_set_new(o, "ptpl_file", json_string(ns->resv.ptpl_file));
	}
	return o;
}

void nvmf_subsystem_dump_json(const struct nvmf_subsystem *s, json_t *o)
{
	const struct nvmf_subsys_listener *sl;
	const struct nvmf_host *h;
	json_t *la = json_array(), *hosts = json_array(), *nss = json_array();
	bool nvme = s->subtype == BRISK_NVMF_SUBTYPE_NVME;

	json_object_set_new(o, "nqn", json_string(s->nqn));
	json_object_set_new(o, "subtype", json_string(nvme ? "NVMe" : "Discovery"));
	TAILQ_FOREACH(sl, &s->listeners, link) {
		json_array_append_new(la, nvmf_listen_addr_json(&sl->listener->addr));
	}
	json_object_set_new(o, "listen_addresses", la);
	json_object_set_new(o, "allow_any_host", json_boolean(s->allow_any_host));
	TAILQ_FOREACH(h, &s->hosts, link) {
		json_array_append_new(hosts, json_pack("{s:s}", "nqn", h->nqn));
	}
	json_object_set_new(o, "hosts", hosts);
	if (!nvme) {
		json_decref(nss);
		return;
	}
	json_object_set_new(o, "serial_number", json_string(s->sn));
	json_object_set_new(o, "model_number", json_string(s->mn));
	json_object_set_new(o, "max_namespaces", json_integer(s->max_nsid));
	json_object_set_new(o, "min_cntlid", json_integer(s->min_cntlid));
	json_object_set_new(o, "max_cntlid", json_integer(s->max_cntlid));
	for (uint32_t i = 0; i < s->max_nsid; i++) {
		if (s->ns[i] != NULL) {
			json_array_append_new(nss, ns_json(s->ns[i]));
		}
	}
	json_object_set_new(o, "namespaces", nss);
}

json_t *nvmf_transport_json(const struct brisk_nvmf_transport_opts *o)
{
	return json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:b, s:b, s:i}", "trtype", "TCP",
			 "max_queue_depth", (json_int_t)o->max_queue_depth,
			 "max_io_qpairs_per_ctrlr", (json_int_t)o->max_qpairs_per_ctrlr - 1,
			 "in_capsule_data_size", (json_int_t)o->in_capsule_data_size,
			 "max_io_size", (json_int_t)o->max_io_size, "io_unit_size", (json_int_t)o->io_unit_size,
			 "max_aq_depth", (json_int_t)o->max_aq_depth,
			 "num_shared_buffers", (json_int_t)o->num_shared_buffers,
			 "buf_cache_size", (json_int_t)o->buf_cache_size,
			 "abort_timeout_sec", (json_int_t)o->abort_timeout_sec, "c2h_success", o->c2h_success,
			 "dif_insert_or_strip", o->dif_insert_or_strip, "sock_priority", (json_int_t)o->sock_priority);
}

static void add_call(json_t *array, const char *method, json_t *params)
{
	json_array_append_new(array, json_pack("{s:s, s:o}", "method", method, "params", params));
}

static void write_namespaces(json_t *array, const struct nvmf_subsystem *s)
{
	for (uint32_t i = 0; i < s->max_nsid; i++) {
		const struct nvmf_ns *ns = s->ns[i];
		json_t *n;
		char buf[40];

		if (ns == NULL) {
			continue;
		}
		n = json_pack("{s:i, s:s}", "nsid", (json_int_t)ns->nsid, "bdev_name", brisk_bdev_get_name(ns->bdev));
		if (ns->nguid_set) {
			nguid_str(ns->nguid, buf, sizeof(buf));
			json_object_set_new(n, "nguid", json_string(buf));
		}
		if (ns->uuid_set) {
			brisk_uuid_fmt_lower(buf, sizeof(buf), &ns->uuid);
			json_object_set_new(n, "uuid", json_string(buf));
		}
		if (ns->resv.ptpl_file != NULL) {
			json_object_set_new(n, "ptpl_file", json_string(ns->resv.ptpl_file));
		}
		if (ns->anagrpid != ns->nsid) {
			json_object_set_new(n, "anagrpid", json_integer(ns->anagrpid));
		}
		add_call(array, "nvmf_subsystem_add_ns", json_pack("{s:s, s:o}", "nqn", s->nqn, "namespace", n));
	}
}

static void write_subsystem(json_t *array, const struct nvmf_subsystem *s)
{
	const struct nvmf_subsys_listener *sl;
	const struct nvmf_host *h;

	add_call(array, "nvmf_create_subsystem",
		 json_pack("{s:s, s:b, s:s, s:s, s:i, s:i, s:i, s:b}", "nqn", s->nqn, "allow_any_host",
			   s->allow_any_host, "serial_number", s->sn, "model_number", s->mn, "max_namespaces",
			   (json_int_t)s->max_nsid, "min_cntlid", (json_int_t)s->min_cntlid, "max_cntlid",
			   (json_int_t)s->max_cntlid, "ana_reporting", s->ana_reporting));
	TAILQ_FOREACH(sl, &s->listeners, link) {
		add_call(array, "nvmf_subsystem_add_listener", json_pack("{s:s, s:o}", "nqn", s->nqn,
				"listen_address", nvmf_listen_addr_json(&sl->listener->addr)));
		nvmf_ana_write_config(array, s, sl);
	}
	TAILQ_FOREACH(h, &s->hosts, link) {
		add_call(array, "nvmf_subsystem_add_host", json_pack("{s:s, s:s}", "nqn", s->nqn, "host", h->nqn));
	}
	write_namespaces(array, s);
}

void brisk_nvmf_tgt_write_config_json(json_t *array)
{
	const struct nvmf_subsystem *s;

	add_call(array, "nvmf_set_config", json_pack("{s:i, s:s}", "acceptor_poll_rate",
			(json_int_t)g_nvmf_tgt.conf.acceptor_poll_rate, "discovery_filter",
			g_nvmf_tgt.conf.discovery_filter));
	add_call(array, "nvmf_set_max_subsystems", json_pack("{s:i}", "max_subsystems",
			(json_int_t)g_nvmf_tgt.max_subsystems));
	if (g_nvmf_tgt.tcp != NULL) {
		add_call(array, "nvmf_create_transport", nvmf_transport_json(&g_nvmf_tgt.tcp->opts));
	}
	if (!g_nvmf_tgt.running) {
		return;
	}
	TAILQ_FOREACH(s, &g_nvmf_tgt.subsystems, link) {
		if (s->subtype == BRISK_NVMF_SUBTYPE_NVME) {
			write_subsystem(array, s);
		}
	}
}
