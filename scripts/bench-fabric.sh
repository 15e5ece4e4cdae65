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
# The speed of this kind of machine drifts by several per cent within
# minutes, so each level runs in rounds: putstate, the document-sized Put
# and wasteledger take turns, BENCH_ROUNDS times (default 6), and a rate
# is the transactions committed over the time measured, summed over the
# rounds. p50 is the mean of the rounds' p50, p99 the highest round's.
# The ratio of each round is printed as well. Each round starts by
# preparing the signed trips its handovers need (not measured), and the
# first phase of a round rotates (putstate, then the document-sized Put,
# then wasteledger): with six rounds each runs first, second and last
# twice. Every measured phase starts on a settled network (BenchmarkFabric
# waits for the background work of what ran before it).
#
# Knobs (environment):
#   BENCH_LEVELS        "clients:transactions per round ..." (default "1:100 32:1000 128:1500")
#   BENCH_ROUNDS        rounds per level (default 6)
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
levels="${BENCH_LEVELS:-1:100 32:1000 128:1500}"
rounds="${BENCH_ROUNDS:-6}"
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
	echo "# $(date -u +%FT%TZ) BatchTimeout=${BATCH_TIMEOUT:-100ms} MaxMessageCount=${BATCH_MAX_MESSAGES:-10} levels=$levels rounds=$rounds"
	echo "# $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
} >"$raw"
for lv in $levels; do
	c="${lv%%:*}" n="${lv#*:}"
	for r in $(seq "$rounds"); do
		echo "--- $c client(s), round $r of $rounds, $n transactions per chaincode" >&2
		echo "# round $r" >>"$raw"
		(cd gateway/ledger/fabricgw && FABRIC_BENCH_CLIENTS="$c" FABRIC_BENCH_ROUND="$r" "$bin" -test.run '^$' \
			-test.bench "^BenchmarkFabric/clients=$c/" -test.benchtime "${n}x" -test.timeout 60m) |
			grep -v 'level=WARN' | tee -a "$raw"
	done
done
rm -rf "$(dirname "$bin")"

echo
echo "Fabric, $(nproc) CPUs, BatchTimeout ${BATCH_TIMEOUT:-100ms}, MaxMessageCount ${BATCH_MAX_MESSAGES:-10}, endorsement 3 of 4 orgs, 3 Raft orderers"
awk '
/^# round / { round = $3 }
/^BenchmarkFabric\/clients=/ {
	split($1, p, "/"); c = p[2]; sub("clients=", "", c); cc = p[3]; sub("cc=", "", cc); sub("-[0-9]+$", "", cc)
	delete m
	for (i = 3; i < NF; i += 2) m[$(i+1)] = $i
	ok = $2 - m["errors"]
	if (m["tx/s"] > 0) { n[c, cc] += ok; t[c, cc] += ok / m["tx/s"]; rate[c, cc, round] = m["tx/s"] }
	p50[c, cc] += ok * m["p50_ms"]
	if (m["p99_ms"] > p99[c, cc]) p99[c, cc] = m["p99_ms"]
	errs[c, cc] += m["errors"]
	if (!(c in seen)) { seen[c] = 1; order[++levels] = c }
	if (round > nr[c]) nr[c] = round
}
function tps(c, cc) { return t[c, cc] > 0 ? n[c, cc] / t[c, cc] : 0 }
function lat(c, cc) { return n[c, cc] > 0 ? p50[c, cc] / n[c, cc] : 0 }
END {
	printf "%8s | %21s %7s %7s | %21s %7s %7s | %6s | %-42s | %s\n", "clients", "putstate tx/s", "p50 ms", "p99 ms", "wasteledger tx/s", "p50 ms", "p99 ms", "ratio",
		"document-sized Put tx/s (wasteledger / it)", "ratio per round"
	for (k = 1; k <= levels; k++) {
		c = order[k]
		r = tps(c, "putstate") > 0 ? 100 * tps(c, "wasteledger") / tps(c, "putstate") : 0
		doc = ""
		if (tps(c, "putstate-doc") > 0)
			doc = sprintf("%.1f (%.0f %%)", tps(c, "putstate-doc"), 100 * tps(c, "wasteledger") / tps(c, "putstate-doc"))
		each = ""
		for (q = 1; q <= nr[c]; q++)
			if (rate[c, "putstate", q] > 0)
				each = each sprintf("%s%.0f", q > 1 ? " / " : "", 100 * rate[c, "wasteledger", q] / rate[c, "putstate", q])
		printf "%8s | %21.1f %7.0f %7.0f | %21.1f %7.0f %7.0f | %4.0f %% | %-42s | %s %%\n", c,
			tps(c, "putstate"), lat(c, "putstate"), p99[c, "putstate"],
			tps(c, "wasteledger"), lat(c, "wasteledger"), p99[c, "wasteledger"], r, doc, each
		if (errs[c, "putstate"] + errs[c, "putstate-doc"] + errs[c, "wasteledger"] > 0)
			printf "%8s   errors: putstate %d, document-sized Put %d, wasteledger %d\n", "",
				errs[c, "putstate"], errs[c, "putstate-doc"], errs[c, "wasteledger"]
	}
}' "$raw" | tee -a "$raw"
echo "raw output: $raw"
