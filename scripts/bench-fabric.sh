#!/usr/bin/env bash
# Fabric throughput: signed handovers of the wasteledger chaincode beside
# Put of the minimal putstate chaincode, on the same fresh local network,
# at 1, 32 and 128 concurrent clients (BenchmarkFabric in
# gateway/ledger/fabricgw/bench_test.go). Prints committed transactions per
# second and p50/p99 commit latency side by side, and the ratio
# wasteledger/putstate; keeps the raw `go test -bench` output.
#
#   scripts/bench-fabric.sh
#
# A third run per level, a Put of a value the size of a manifest version
# (4,800 bytes), shows what writing a handover's document costs by itself;
# the last column compares handovers with it.
#
# Knobs (environment):
#   BENCH_LEVELS        "clients:transactions ..." (default "1:200 32:2000 128:3000")
#   FABRIC_BENCH_PUT_BYTES, FABRIC_BENCH_DOC_BYTES  the two Put sizes (200, 4800; DOC 0 = leave it out)
#   BATCH_TIMEOUT       orderer BatchTimeout     (network/up.sh; default 100ms)
#   BATCH_MAX_MESSAGES  orderer MaxMessageCount  (network/up.sh; default 10)
#   NETWORK_DIR, BASE_PORT, CC_POLICY            as network/up.sh reads them
#   KEEP_NETWORK=1      leave the network running afterwards
#   BENCH_OUT           raw output file (default $NETWORK_DIR/bench.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
export NETWORK_DIR="${NETWORK_DIR:-$PWD/network/.run}"
export WASTELEDGER_FABRIC_PROFILE="$NETWORK_DIR/connection.json"
levels="${BENCH_LEVELS:-1:200 32:2000 128:3000}"
raw="${BENCH_OUT:-$NETWORK_DIR/bench.txt}"

if [[ "${KEEP_NETWORK:-0}" != 1 ]]; then
	trap 'network/down.sh >/dev/null 2>&1 || true' EXIT
fi
trap 'exit 130' INT TERM

# A fresh network: the batch settings are part of the channel's genesis.
network/up.sh --fresh
bin="$(mktemp -d)/fabricgw.test"
go test -c -tags fabric -o "$bin" ./gateway/ledger/fabricgw
mkdir -p "$(dirname "$raw")"
{
	echo "# $(date -u +%FT%TZ) BatchTimeout=${BATCH_TIMEOUT:-100ms} MaxMessageCount=${BATCH_MAX_MESSAGES:-10} levels=$levels"
	echo "# $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
} >"$raw"
for lv in $levels; do
	c="${lv%%:*}" n="${lv#*:}"
	echo "--- $c client(s), $n transactions per chaincode" >&2
	(cd gateway/ledger/fabricgw && FABRIC_BENCH_CLIENTS="$c" "$bin" -test.run '^$' \
		-test.bench "^BenchmarkFabric/clients=$c/" -test.benchtime "${n}x" -test.timeout 60m) |
		grep -v 'level=WARN' | tee -a "$raw"
done
rm -rf "$(dirname "$bin")"

echo
echo "Fabric, $(nproc) CPUs, BatchTimeout ${BATCH_TIMEOUT:-100ms}, MaxMessageCount ${BATCH_MAX_MESSAGES:-10}, endorsement 3 of 4 orgs, 3 Raft orderers"
awk '
/^BenchmarkFabric\/clients=/ {
	split($1, p, "/"); c = p[2]; sub("clients=", "", c); cc = p[3]; sub("cc=", "", cc); sub("-[0-9]+$", "", cc)
	for (i = 3; i < NF; i += 2) v[c, cc, $(i+1)] = $i
	if (!(c in seen)) { seen[c] = 1; order[++n] = c }
}
END {
	printf "%8s | %21s %7s %7s | %21s %7s %7s | %6s | %s\n", "clients", "putstate tx/s", "p50 ms", "p99 ms", "wasteledger tx/s", "p50 ms", "p99 ms", "ratio",
		"document-sized Put tx/s (wasteledger / it)"
	for (k = 1; k <= n; k++) {
		c = order[k]
		r = v[c, "putstate", "tx/s"] > 0 ? 100 * v[c, "wasteledger", "tx/s"] / v[c, "putstate", "tx/s"] : 0
		doc = ""
		if (v[c, "putstate-doc", "tx/s"] > 0)
			doc = sprintf("%.1f (%.0f %%)", v[c, "putstate-doc", "tx/s"], 100 * v[c, "wasteledger", "tx/s"] / v[c, "putstate-doc", "tx/s"])
		printf "%8s | %21.1f %7.0f %7.0f | %21.1f %7.0f %7.0f | %4.0f %% | %s\n", c,
			v[c, "putstate", "tx/s"], v[c, "putstate", "p50_ms"], v[c, "putstate", "p99_ms"],
			v[c, "wasteledger", "tx/s"], v[c, "wasteledger", "p50_ms"], v[c, "wasteledger", "p99_ms"], r, doc
		if (v[c, "putstate", "errors"] + v[c, "putstate-doc", "errors"] + v[c, "wasteledger", "errors"] > 0)
			printf "%8s   errors: putstate %d, document-sized Put %d, wasteledger %d\n", "",
				v[c, "putstate", "errors"], v[c, "putstate-doc", "errors"], v[c, "wasteledger", "errors"]
	}
}' "$raw" | tee -a "$raw"
echo "raw output: $raw"
