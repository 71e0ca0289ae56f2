#!/bin/bash
# blob_perf smoke run (a benchmark that silently rots is a defect): a tiny
# run of every phase must exit 0, print every table, and write well-formed
# JSON with every row and sane values. Checks that the benchmark works, not
# how fast anything is. Bad options must fail with a message naming them.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
BP=$ROOT/build/bin/blob_perf
WORK=$(mktemp -d /tmp/brisk_blob_perf_smoke.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

[ -x "$BP" ] || { echo "FAIL: $BP not built" >&2; exit 1; }

# Small everything: 16 MiB compared, 256 KiB clusters, 200 blobs.
if ! timeout -k 5 60 "$BP" -t 0.2 -R 2 -n 200 --md-qd1-count 20 --md-qd 8 --size 16M \
	--cluster-size 256k --json-output "$WORK/out.json" >"$WORK/out.log" 2>&1; then
	fail "blob_perf exited non-zero"; tail -20 "$WORK/out.log" >&2
else
	pass "blob_perf ran every phase"
fi

for h in "== Blob I/O vs the raw bdev" "== Thin blob: first writes" "== Metadata: a store with 200 blobs" \
	"load / unload"; do
	grep -q "^$h" "$WORK/out.log" || fail "table section '$h' missing"
done
grep -q "blob_perf \[ *[0-9.]* s\] md: " "$WORK/out.log" || fail "no progress lines"

python3 - "$WORK/out.json" <<'EOF' || FAILS=$((FAILS + 1))
import json, math, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception as e:
    print("FAIL: JSON does not parse: %s" % e); sys.exit(1)
bad = []
def num(row, key, positive=True):
    v = row.get(key)
    if not isinstance(v, (int, float)) or isinstance(v, bool) or math.isnan(v) or (positive and v <= 0):
        bad.append("%s: %s = %r" % (row.get("id"), key, v))
rows = {x["id"]: x for x in r.get("rows", [])}
want = ["io_randread", "io_randwrite"]
want += ["thin_%s_%s_qd%s" % (k, s, q) for s in ("small", "cluster") for q in ("1", "n") for k in ("first", "over")]
want += ["md_create", "md_open_close", "md_delete", "md_create_qd1", "md_delete_qd1"]
want += ["load_unload", "load_clean", "load_dirty"]
missing = [w for w in want if w not in rows]
extra = [k for k in rows if k not in want]
if missing: bad.append("missing rows: %s" % missing)
if extra: bad.append("unexpected rows: %s" % extra)
if r.get("options", {}).get("blobs") != 200: bad.append("options.blobs != 200")
for i in ("io_randread", "io_randwrite"):
    x = rows.get(i, {})
    num(x, "raw_iops"); num(x, "blob_iops"); num(x, "overhead_pct", positive=False); num(x, "overhead_median_pct", positive=False)
    if len(x.get("raw_iops_runs", [])) != 2 or len(x.get("blob_iops_runs", [])) != 2:
        bad.append("%s: expected 2 runs a side" % i)
for i in want[2:10]:
    x = rows.get(i, {})
    for k in ("ops", "seconds", "ops_per_s", "mib_per_s", "avg_us", "p50_us", "p99_us", "max_us"):
        num(x, k)
    if x and not (x["p50_us"] <= x["p99_us"] <= x["max_us"] * 1.07):
        bad.append("%s: percentiles out of order" % i)
# Each of the 2 passes writes every free cluster of the store once: the same
# count for every configuration, and even.
firsts = set(rows.get("thin_first_%s_qd%s" % (s, q), {}).get("ops") for s in ("small", "cluster") for q in ("1", "n"))
if len(firsts) != 1 or not all(isinstance(v, int) and v > 0 and v % 2 == 0 for v in firsts):
    bad.append("first-write counts differ or are odd: %r" % firsts)
for i in ("md_create", "md_open_close", "md_delete"):
    x = rows.get(i, {})
    num(x, "ops_per_s")
    if x and x.get("ops") != 200: bad.append("%s: ops %r != 200" % (i, x.get("ops")))
for i in ("md_create_qd1", "md_delete_qd1"):
    if rows.get(i, {}).get("ops") != 20: bad.append("%s: ops != 20" % i)
for i, rec in (("load_clean", False), ("load_dirty", True)):
    x = rows.get(i, {})
    num(x, "seconds")
    if x.get("blobs") != 200 or x.get("recovered") is not rec:
        bad.append("%s: blobs %r recovered %r" % (i, x.get("blobs"), x.get("recovered")))
num(rows.get("load_unload", {}), "seconds")
if bad:
    print("FAIL: " + "\nFAIL: ".join(bad)); sys.exit(1)
print("ok: JSON has all %d rows with sane values" % len(want))
EOF

# The md phase over a delay bdev (a store on a device slower than RAM).
if timeout -k 5 30 "$BP" --phases md -n 50 --md-qd1-count 10 --store-latency-us 10 \
	--json-output "$WORK/lat.json" >"$WORK/lat.log" 2>&1 &&
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); ids=sorted(x["id"] for x in r["rows"]);
assert r["options"]["store_latency_us"] == 10 and len(ids) == 8 and all(i.startswith(("md_", "load_")) for i in ids), ids
assert [x for x in r["rows"] if x["id"] == "load_dirty"][0]["recovered"] is True' "$WORK/lat.json"; then
	pass "md phase with --store-latency-us"
else
	fail "md phase with --store-latency-us"; tail -10 "$WORK/lat.log" >&2
fi

# Bad options name the flag and fail.
before=$FAILS
for args in "-q 0" "-t 0" "--size 3000" "--phases io,bogus" "-R 99" "--io-side up" "--cluster-size 4k -o 8k" \
	"--store-latency-us 5"; do
	# shellcheck disable=SC2086
	if timeout 10 "$BP" $args >"$WORK/bad.log" 2>&1; then
		fail "blob_perf $args exited 0"
	elif ! grep -q "blob_perf: " "$WORK/bad.log"; then
		fail "blob_perf $args gave no message"
	fi
done
[ "$FAILS" = "$before" ] && pass "bad options refused"

if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all checks passed"
