#!/usr/bin/env bash
# Brings up the local Fabric network: 3 Raft orderers, one peer for each of
# the four organisations, the application channel, and the chaincodes as
# services. Returns once a transaction submitted through each org's gateway
# peer commits.
#
#   network/up.sh           no-op when the network is already up and healthy,
#                           else a fresh network (old state wiped, logs kept
#                           as logs.prev/)
#   network/up.sh --fresh   always a fresh network
#
# Knobs (env): NETWORK_DIR, FABRIC_BIN, BASE_PORT, CHANNEL, CHAINCODES,
# CC_POLICY, CC_POLICY_<NAME>, CC_TLS_<NAME>, BATCH_TIMEOUT,
# BATCH_MAX_MESSAGES, BATCH_PREFERRED_MAX_BYTES, RAFT_TICK_INTERVAL,
# RAFT_ELECTION_TICK, READY_TIMEOUT, FABRIC_LOG_SPEC, PEER_PPROF. See
# network/README.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BATCH_TIMEOUT="${BATCH_TIMEOUT:-100ms}"
BATCH_MAX_MESSAGES="${BATCH_MAX_MESSAGES:-10}"
BATCH_PREFERRED_MAX_BYTES="${BATCH_PREFERRED_MAX_BYTES:-2 MB}"
RAFT_TICK_INTERVAL="${RAFT_TICK_INTERVAL:-200ms}"
RAFT_ELECTION_TICK="${RAFT_ELECTION_TICK:-10}"
READY_TIMEOUT="${READY_TIMEOUT:-90}"

fresh=0
for a in "$@"; do
	case "$a" in
	--fresh) fresh=1 ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	*) die "unknown argument $a" ;;
	esac
done
[[ "$NETWORK_DIR" != *[\"\\]* ]] || die "NETWORK_DIR must not contain quotes or backslashes"

t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# --- already up? ---------------------------------------------------------------
all_running() {
	local n any=0
	for n in $(node_names); do
		any=1
		node_pid "$n" >/dev/null || return 1
	done
	((any))
}
if ((fresh == 0)) && [[ -f "$NETWORK_DIR/up.ok" ]] && all_running &&
	"$NETWORK_DIR/tools/gwprobe" -profile "$NETWORK_DIR/connection.json" -orgs regulator -timeout 15s >/dev/null 2>&1; then
	log "network already up in $NETWORK_DIR (nothing to do; --fresh to recreate)"
	exit 0
fi

# --- clean slate -------------------------------------------------------------------
if [[ -d "$RUN_DIR" ]]; then
	log "stopping the previous network in $NETWORK_DIR"
	for n in $(nodes_stop_order); do stop_node "$n"; done
fi
rm -f "$NETWORK_DIR/up.ok" "$NETWORK_DIR/connection.json"
rm -rf "${STATE_DIRS[@]}"
if [[ -d "$LOG_DIR" ]]; then rm -rf "$NETWORK_DIR/logs.prev" && mv "$LOG_DIR" "$NETWORK_DIR/logs.prev"; fi
mkdir -p "${STATE_DIRS[@]}" "$LOG_DIR" "$NETWORK_DIR/tools"

"$NET_HOME/build-bin.sh"
export PATH="$FABRIC_BIN:$PATH"

# --- chaincode list and builds (in the background while Fabric starts) ----------
export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -buildvcs=false"
cc_names=()
declare -A cc_pkg cc_ver cc_addr
idx=0
for spec in $CHAINCODES; do
	IFS=: read -r name pkg ver <<<"$spec"
	[[ "$name" =~ ^[a-z0-9][a-z0-9_-]*$ ]] || die "bad chaincode name '$name' in CHAINCODES"
	[[ -n "$pkg" ]] || die "CHAINCODES entry '$spec' has no package"
	pkgname="$(cd "$REPO_ROOT" && go list -e -f '{{.Name}}' "$pkg" 2>/dev/null || true)"
	if [[ "$pkgname" != main ]]; then
		log "SKIP chaincode $name: $pkg holds no main package (yet)"
		idx=$((idx + 1))
		continue
	fi
	cc_names+=("$name")
	cc_pkg[$name]="$pkg"
	cc_ver[$name]="${ver:-1.0}"
	cc_addr[$name]="127.0.0.1:$(cc_port "$idx")"
	idx=$((idx + 1))
done

# One 'go build' for all binaries: shared dependencies compile once, which
# matters on a cold build cache (grpc and protobuf dominate).
build_dir="$NETWORK_DIR/tools/build"
mkdir -p "$build_dir"
build_pkgs=(./network/gwprobe)
for name in "${cc_names[@]}"; do build_pkgs+=("${cc_pkg[$name]}"); done
(cd "$REPO_ROOT" && go build -o "$build_dir/" "${build_pkgs[@]}") >"$LOG_DIR/build.log" 2>&1 &
build_pid=$!

# --- ports free? ------------------------------------------------------------------
ports=()
for o in "${ORDERERS[@]}"; do ports+=("$(ord_port "$o")" "$(ord_admin_port "$o")" "$(ord_ops_port "$o")"); done
for g in "${ORGS[@]}"; do ports+=("$(peer_port "$g")" "$(peer_cc_port "$g")" "$(peer_ops_port "$g")"); done
if [[ "${PEER_PPROF:-0}" == 1 ]]; then for g in "${ORGS[@]}"; do ports+=("$(peer_pprof_port "$g")"); done; fi
for name in "${cc_names[@]}"; do
	ports+=("${cc_addr[$name]##*:}")
	if [[ "${PEER_PPROF:-0}" == 1 ]]; then ports+=("$(cc_pprof_port "${cc_addr[$name]##*:}")"); fi
done
for p in "${ports[@]}"; do
	port_listening "$p" && die "port $p is already in use (another network? set BASE_PORT, or run network/down.sh)"
done

# --- configuration ------------------------------------------------------------------
sed -e "s#^\(\s*\)endpoint: unix:///var/run/docker.sock#\1endpoint: ''#" \
	-e "s#^\(\s*\)path: /opt/hyperledger/ccaas_builder#\1path: $NET_HOME/ccaas-builder#" \
	"$FABRIC_BIN/config/core.yaml" >"$CFG_DIR/core.yaml"
grep -q "path: $NET_HOME/ccaas-builder" "$CFG_DIR/core.yaml" || die "could not set the external builder in core.yaml"
cp "$FABRIC_BIN/config/orderer.yaml" "$CFG_DIR/orderer.yaml"

{
	cat <<EOF
OrdererOrgs:
  - Name: Orderer
    Domain: $ORD_DOMAIN
    EnableNodeOUs: true
    Specs:
EOF
	for o in "${ORDERERS[@]}"; do
		printf '      - Hostname: %s\n        SANS: [localhost, 127.0.0.1]\n' "$o"
	done
	echo "PeerOrgs:"
	for g in "${ORGS[@]}"; do
		cat <<EOF
  - Name: $(msp_id "$g")
    Domain: $(org_domain "$g")
    EnableNodeOUs: true
    Specs:
      - Hostname: peer0
        SANS: [localhost, 127.0.0.1]
    Users:
      Count: 1
EOF
	done
	cat <<EOF
  # Not a channel member: a private CA for TLS between peers and chaincode
  # servers (server cert 'ccserver', peer client cert = its Admin's TLS cert).
  - Name: Chaincode
    Domain: $CC_DOMAIN
    EnableNodeOUs: false
    Specs:
      - Hostname: ccserver
        SANS: [localhost, 127.0.0.1]
    Users:
      Count: 0
EOF
} >"$CFG_DIR/crypto-config.yaml"
cryptogen generate --config="$CFG_DIR/crypto-config.yaml" --output="$CRYPTO_DIR" >/dev/null

{
	cat <<EOF
# Generated by network/up.sh.
Organizations:
  - &OrdererOrg
    Name: OrdererMSP
    ID: OrdererMSP
    MSPDir: $CRYPTO_DIR/ordererOrganizations/$ORD_DOMAIN/msp
    Policies:
      Readers: {Type: Signature, Rule: "OR('OrdererMSP.member')"}
      Writers: {Type: Signature, Rule: "OR('OrdererMSP.member')"}
      Admins: {Type: Signature, Rule: "OR('OrdererMSP.admin')"}
    OrdererEndpoints:
EOF
	for o in "${ORDERERS[@]}"; do printf '      - "127.0.0.1:%s"\n' "$(ord_port "$o")"; done
	for g in "${ORGS[@]}"; do
		m="$(msp_id "$g")"
		cat <<EOF
  - &$m
    Name: $m
    ID: $m
    MSPDir: $(org_dir "$g")/msp
    Policies:
      Readers: {Type: Signature, Rule: "OR('$m.admin', '$m.peer', '$m.client')"}
      Writers: {Type: Signature, Rule: "OR('$m.admin', '$m.client')"}
      Admins: {Type: Signature, Rule: "OR('$m.admin')"}
      Endorsement: {Type: Signature, Rule: "OR('$m.peer')"}
    AnchorPeers:
      - {Host: 127.0.0.1, Port: $(peer_port "$g")}
EOF
	done
	cat <<EOF
Capabilities:
  Channel: &ChannelCapabilities {V3_0: true}
  Orderer: &OrdererCapabilities {V2_0: true}
  Application: &ApplicationCapabilities {V2_5: true}
Application: &ApplicationDefaults
  Organizations:
  Policies:
    LifecycleEndorsement: {Type: ImplicitMeta, Rule: "MAJORITY Endorsement"}
    Endorsement: {Type: ImplicitMeta, Rule: "MAJORITY Endorsement"}
    Readers: {Type: ImplicitMeta, Rule: "ANY Readers"}
    Writers: {Type: ImplicitMeta, Rule: "ANY Writers"}
    Admins: {Type: ImplicitMeta, Rule: "MAJORITY Admins"}
  Capabilities: *ApplicationCapabilities
Orderer: &OrdererDefaults
  OrdererType: etcdraft
  BatchTimeout: $BATCH_TIMEOUT
  BatchSize:
    MaxMessageCount: $BATCH_MAX_MESSAGES
    AbsoluteMaxBytes: 10 MB
    PreferredMaxBytes: $BATCH_PREFERRED_MAX_BYTES
  EtcdRaft:
    Consenters:
EOF
	for o in "${ORDERERS[@]}"; do
		d="$(ord_node_dir "$o")"
		cat <<EOF
      - Host: 127.0.0.1
        Port: $(ord_port "$o")
        ClientTLSCert: $d/tls/server.crt
        ServerTLSCert: $d/tls/server.crt
EOF
	done
	cat <<EOF
    Options:
      TickInterval: $RAFT_TICK_INTERVAL
      ElectionTick: $RAFT_ELECTION_TICK
      HeartbeatTick: 1
      MaxInflightBlocks: 5
      SnapshotIntervalSize: 16 MB
  Organizations:
  Policies:
    Readers: {Type: ImplicitMeta, Rule: "ANY Readers"}
    Writers: {Type: ImplicitMeta, Rule: "ANY Writers"}
    Admins: {Type: ImplicitMeta, Rule: "MAJORITY Admins"}
    BlockValidation: {Type: ImplicitMeta, Rule: "ANY Writers"}
  Capabilities: *OrdererCapabilities
Channel: &ChannelDefaults
  Policies:
    Readers: {Type: ImplicitMeta, Rule: "ANY Readers"}
    Writers: {Type: ImplicitMeta, Rule: "ANY Writers"}
    Admins: {Type: ImplicitMeta, Rule: "MAJORITY Admins"}
  Capabilities: *ChannelCapabilities
Profiles:
  WasteLedgerChannel:
    <<: *ChannelDefaults
    Orderer:
      <<: *OrdererDefaults
      Organizations: [*OrdererOrg]
    Application:
      <<: *ApplicationDefaults
      Organizations:
EOF
	for g in "${ORGS[@]}"; do printf '        - *%s\n' "$(msp_id "$g")"; done
} >"$CFG_DIR/configtx.yaml"
configtxgen -configPath "$CFG_DIR" -profile WasteLedgerChannel -channelID "$CHANNEL" \
	-outputBlock "$CHAN_DIR/$CHANNEL.block" 2>"$LOG_DIR/configtxgen.log" ||
	{ cat "$LOG_DIR/configtxgen.log" >&2; die "configtxgen failed"; }
log "crypto and channel config ready ($(elapsed) s)"

for o in "${ORDERERS[@]}"; do
	d="$(ord_node_dir "$o")"
	data="$DATA_DIR/$o"
	write_launcher "$o" "$FABRIC_BIN/orderer" -- \
		FABRIC_CFG_PATH="$CFG_DIR" FABRIC_LOGGING_SPEC="$LOG_SPEC" \
		ORDERER_GENERAL_LISTENADDRESS=127.0.0.1 \
		ORDERER_GENERAL_LISTENPORT="$(ord_port "$o")" \
		ORDERER_GENERAL_LOCALMSPID=OrdererMSP \
		ORDERER_GENERAL_LOCALMSPDIR="$d/msp" \
		ORDERER_GENERAL_TLS_ENABLED=true \
		ORDERER_GENERAL_TLS_PRIVATEKEY="$d/tls/server.key" \
		ORDERER_GENERAL_TLS_CERTIFICATE="$d/tls/server.crt" \
		ORDERER_GENERAL_TLS_ROOTCAS="[$d/tls/ca.crt]" \
		ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE="$d/tls/server.crt" \
		ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY="$d/tls/server.key" \
		ORDERER_GENERAL_CLUSTER_ROOTCAS="[$d/tls/ca.crt]" \
		ORDERER_FILELEDGER_LOCATION="$data/ledger" \
		ORDERER_CONSENSUS_WALDIR="$data/etcdraft/wal" \
		ORDERER_CONSENSUS_SNAPDIR="$data/etcdraft/snapshot" \
		ORDERER_CHANNELPARTICIPATION_ENABLED=true \
		ORDERER_ADMIN_LISTENADDRESS="127.0.0.1:$(ord_admin_port "$o")" \
		ORDERER_ADMIN_TLS_ENABLED=true \
		ORDERER_ADMIN_TLS_PRIVATEKEY="$d/tls/server.key" \
		ORDERER_ADMIN_TLS_CERTIFICATE="$d/tls/server.crt" \
		ORDERER_ADMIN_TLS_ROOTCAS="[$d/tls/ca.crt]" \
		ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED=true \
		ORDERER_ADMIN_TLS_CLIENTROOTCAS="[$d/tls/ca.crt]" \
		ORDERER_OPERATIONS_LISTENADDRESS="127.0.0.1:$(ord_ops_port "$o")" \
		ORDERER_METRICS_PROVIDER=prometheus
done

for g in "${ORGS[@]}"; do
	d="$(peer_node_dir "$g")"
	data="$DATA_DIR/peer-$g"
	addr="127.0.0.1:$(peer_port "$g")"
	write_launcher "peer-$g" "$FABRIC_BIN/peer" node start -- \
		FABRIC_CFG_PATH="$CFG_DIR" FABRIC_LOGGING_SPEC="$LOG_SPEC" \
		CORE_PEER_ID="$(peer_host "$g")" \
		CORE_PEER_ADDRESS="$addr" \
		CORE_PEER_LISTENADDRESS="$addr" \
		CORE_PEER_CHAINCODEADDRESS="127.0.0.1:$(peer_cc_port "$g")" \
		CORE_PEER_CHAINCODELISTENADDRESS="127.0.0.1:$(peer_cc_port "$g")" \
		CORE_PEER_GOSSIP_BOOTSTRAP="$addr" \
		CORE_PEER_GOSSIP_EXTERNALENDPOINT="$addr" \
		CORE_PEER_GOSSIP_RECONNECTINTERVAL=2s \
		CORE_PEER_LOCALMSPID="$(msp_id "$g")" \
		CORE_PEER_MSPCONFIGPATH="$d/msp" \
		CORE_PEER_TLS_ENABLED=true \
		CORE_PEER_TLS_CERT_FILE="$d/tls/server.crt" \
		CORE_PEER_TLS_KEY_FILE="$d/tls/server.key" \
		CORE_PEER_TLS_ROOTCERT_FILE="$d/tls/ca.crt" \
		CORE_PEER_FILESYSTEMPATH="$data" \
		CORE_LEDGER_SNAPSHOTS_ROOTDIR="$data/snapshots" \
		CORE_LEDGER_STATE_STATEDATABASE=goleveldb \
		CORE_OPERATIONS_LISTENADDRESS="127.0.0.1:$(peer_ops_port "$g")" \
		CORE_METRICS_PROVIDER=prometheus \
		CORE_PEER_PROFILE_ENABLED="$([[ "${PEER_PPROF:-0}" == 1 ]] && echo true || echo false)" \
		CORE_PEER_PROFILE_LISTENADDRESS="127.0.0.1:$(peer_pprof_port "$g")"
done

# --- start orderers and peers, join the channel --------------------------------------
for n in "${ORDERERS[@]}" "${ORGS[@]/#/peer-}"; do launch_node "$n"; done
for n in "${ORDERERS[@]}" "${ORGS[@]/#/peer-}"; do wait_node "$n"; done
log "orderers and peers listening ($(elapsed) s)"

block="$CHAN_DIR/$CHANNEL.block"
join_orderer() {
	local out
	out="$(osnadmin_cmd "$1" channel join --channelID "$CHANNEL" --config-block "$block" 2>&1)" && return 0
	# Joined already (a retry after a lost reply) counts as success.
	grep -q "already exists\|405" <<<"$out" && return 0
	echo "$out" >"$LOG_DIR/join-$1.err"
	return 1
}
join_peer() {
	local out
	out="$(peercli "$1" -- channel join -b "$block" 2>&1)" && return 0
	grep -qi "already exists" <<<"$out" && return 0
	echo "$out" >"$LOG_DIR/join-peer-$1.err"
	return 1
}
jp=()
for o in "${ORDERERS[@]}"; do (retry 30 1 join_orderer "$o") & jp+=($!); done
for g in "${ORGS[@]}"; do (retry 30 1 join_peer "$g") & jp+=($!); done
for p in "${jp[@]}"; do wait "$p" || die "channel join failed; see $LOG_DIR/join-*.err"; done
log "orderers and peers joined channel $CHANNEL ($(elapsed) s)"

# Raft leader: lifecycle transactions fail until one is elected.
leader=""
for ((i = 0; i < 300; i++)); do
	leader="$(raft_leader)" && break
	sleep 0.1
done
[[ -n "$leader" ]] || die "no Raft leader after 30 s; see $LOG_DIR/orderer*.log"
log "orderers: Raft leader is $leader ($(elapsed) s)"

# --- chaincodes --------------------------------------------------------------------
wait "$build_pid" || die "go build failed (log: $LOG_DIR/build.log): $(tail -n 20 "$LOG_DIR/build.log")"
cp "$build_dir/gwprobe" "$NETWORK_DIR/tools/gwprobe"
for name in "${cc_names[@]}"; do
	mkdir -p "$CC_DIR/$name"
	cp "$build_dir/$(basename "${cc_pkg[$name]}")" "$CC_DIR/$name/server"
done
log "chaincode servers built ($(elapsed) s)"

for name in "${cc_names[@]}"; do
	CC_PREBUILT=1 "$NET_HOME/deploy-cc.sh" "$name" "${cc_ver[$name]}" "${cc_addr[$name]}" "${cc_pkg[$name]}" "$(cc_policy "$name")"
done
[[ ${#cc_names[@]} -gt 0 ]] || log "no chaincode deployed"
log "chaincodes deployed: ${cc_names[*]:-none} ($(elapsed) s)"

# --- connection profile --------------------------------------------------------------
write_profile

# --- readiness: a real submit through every org's gateway peer -------------------------
if [[ " ${cc_names[*]} " == *" putstate "* ]]; then
	"$NETWORK_DIR/tools/gwprobe" -profile "$NETWORK_DIR/connection.json" -chaincode putstate \
		-timeout "${READY_TIMEOUT}s" || die "network not ready after ${READY_TIMEOUT}s; logs in $LOG_DIR"
else
	log "putstate not deployed: readiness checked by peer channel getinfo only"
	peercli regulator -- channel getinfo -c "$CHANNEL" >/dev/null || die "peer-regulator cannot read $CHANNEL"
fi
for name in "${cc_names[@]}"; do
	[[ "$name" == putstate ]] && continue
	# Reachability: a contract-API chaincode answers its metadata function;
	# any answer from the chaincode itself, even an error, proves the peers
	# reach its server. A hint, not a gate.
	if "$NETWORK_DIR/tools/gwprobe" -profile "$NETWORK_DIR/connection.json" -chaincode "$name" -orgs regulator \
		-submit "" -evaluate org.hyperledger.fabric:GetMetadata -reachable -timeout 15s >"$LOG_DIR/probe-$name.log" 2>&1; then
		log "chaincode $name reachable: $(tail -n 1 "$LOG_DIR/probe-$name.log" | cut -c1-160)"
	else
		log "WARNING: chaincode $name not reachable from the peers; see $LOG_DIR/probe-$name.log and $LOG_DIR/cc-$name.log"
	fi
done

touch "$NETWORK_DIR/up.ok"
log "network up in $(elapsed) s: channel $CHANNEL, profile $NETWORK_DIR/connection.json, logs $LOG_DIR"
