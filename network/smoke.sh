#!/usr/bin/env bash
# Smoke test of an up network through the peer CLI (an independent client):
# one org's User1 (the producer's by default) invokes putstate Put(key, value)
# with endorsements from every running peer and waits for the commit; then
# that org and another one (the carrier by default), each through its own
# peer, query Get(key) and must read the value back. Stopped peers (ctl.sh
# stop) are left out. SMOKE_WRITER=org and SMOKE_READERS="org org" override.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH="$FABRIC_BIN:$PATH"

[[ -f "$NETWORK_DIR/up.ok" ]] || die "the network is not up (run network/up.sh)"
running=()
for g in producer carrier receiver regulator; do node_pid "peer-$g" >/dev/null && running+=("$g"); done
((${#running[@]} >= 2)) || die "fewer than two peers running"
writer="${SMOKE_WRITER:-${running[0]}}"
other="${running[0]}"
[[ "$other" != "$writer" ]] || other="${running[1]}"
read -r -a readers <<<"${SMOKE_READERS:-$writer $other}"
key="smoke/$(date +%s%N)"
value="{\"smoke\":true,\"at\":\"$(date -u +%FT%T.%NZ)\"}"

peers=()
for g in "${ORGS[@]}"; do
	node_pid "peer-$g" >/dev/null || continue
	peers+=(--peerAddresses "127.0.0.1:$(peer_port "$g")" --tlsRootCertFiles "$(peer_tls_ca "$g")")
done
mapfile -t ord < <(orderer_flags)
put_args="$(printf '{"function":"Put","Args":["%s","%s"]}' "$key" "${value//\"/\\\"}")"

invoke() {
	peercli "$writer" User1 -- chaincode invoke "${ord[@]}" -C "$CHANNEL" -n putstate \
		"${peers[@]}" -c "$put_args" --waitForEvent --waitForEventTimeout 30s 2>"$NETWORK_DIR/smoke.err"
}
t=$(date +%s%N)
# Bounded retry: a Raft election (leader stopped) refuses transactions for a
# few seconds; Put is idempotent.
for ((i = 1; ; i++)); do
	invoke && break
	((i < 10)) || { cut -c1-400 "$NETWORK_DIR/smoke.err" >&2; die "smoke: invoke failed $i times"; }
	log "smoke: invoke failed ($(grep -o 'status: [A-Z_]*' "$NETWORK_DIR/smoke.err" | head -n 1 || echo error)); retrying"
	sleep 2
done
log "smoke: $(msp_id "$writer") User1 committed Put($key) in $((($(date +%s%N) - t) / 1000000)) ms"

fail=0
for g in "${readers[@]}"; do
	got="$(peercli "$g" User1 -- chaincode query -C "$CHANNEL" -n putstate \
		-c "$(printf '{"function":"Get","Args":["%s"]}' "$key")")"
	if [[ "$got" == "$value" ]]; then
		log "smoke: $(msp_id "$g") read back $got from peer-$g"
	else
		log "smoke: FAIL $(msp_id "$g") read '$got', want '$value'"
		fail=1
	fi
done
((fail == 0)) || exit 1
log "smoke: ok"
