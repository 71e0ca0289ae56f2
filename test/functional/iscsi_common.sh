# shellcheck shell=bash
# Sourced by the iscsi_*.sh functional tests (not executable on its own):
# app_common.sh's target lifecycle plus an iSCSI export on 127.0.0.1 and
# helpers around libiscsi's command line tools (Debian's libiscsi-bin).
source "$(dirname "${BASH_SOURCE[0]}")/app_common.sh"

ISCSI_PORT=$((30000 + $$ % 20000))
ISCSI_NODE_BASE=iqn.2016-06.io.spdk
export ISCSI_INITIATOR=iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test

need_libiscsi() {
	if ! command -v iscsi-test-cu >/dev/null || ! command -v iscsi-inq >/dev/null; then
		fail "libiscsi-bin is not installed (scripts/pkgdep.sh installs it)"
		finish
	fi
}

# iscsi_export NODE BDEV [IG_INITIATORS] [IG_NETMASKS] [EXTRA_NODE_JSON] [EXTRA_LUN_JSON]: portal
# group 1 on 127.0.0.1:$ISCSI_PORT (created once), initiator group 1, and target node NODE with
# LUN 0 on BDEV (EXTRA_LUN_JSON: more members of its luns entry, e.g. ', "removable": true').
iscsi_export() {
	local node=$1 bdev=$2 inits=${3:-'["ANY"]'} masks=${4:-'["127.0.0.1/32"]'} extra=${5:-} lunx=${6:-}
	if ! rpc iscsi_get_portal_groups | grep -q '"tag": 1'; then
		rpc iscsi_create_portal_group "{\"tag\": 1, \"portals\": [{\"host\": \"127.0.0.1\", \"port\": \"$ISCSI_PORT\"}]}" >/dev/null ||
			return 1
		rpc iscsi_create_initiator_group "{\"tag\": 1, \"initiators\": $inits, \"netmasks\": $masks}" >/dev/null ||
			return 1
	fi
	rpc iscsi_create_target_node "{\"name\": \"$node\", \"alias_name\": \"$node\", \"queue_depth\": 64,
		\"luns\": [{\"bdev_name\": \"$bdev\", \"lun_id\": 0 $lunx}], \"pg_ig_maps\": [{\"pg_tag\": 1, \"ig_tag\": 1}] $extra}" >/dev/null
}

# iscsi_url NODE [LUN] [USER%SECRET@]
iscsi_url() {
	echo "iscsi://${3:-}127.0.0.1:$ISCSI_PORT/$ISCSI_NODE_BASE:$1/${2:-0}"
}
