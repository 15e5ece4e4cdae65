# shellcheck shell=bash
# shellcheck disable=SC2034  # variables used by the scripts that source this
# Shared definitions for network/*.sh: paths, node names, ports, process
# control. Sourced, never run. Every knob is an environment variable with a
# default that runs on a laptop; network/README.md lists them.

NET_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$NET_HOME/.." && pwd)"

NETWORK_DIR="${NETWORK_DIR:-$NET_HOME/.run}"
mkdir -p "$NETWORK_DIR"
NETWORK_DIR="$(cd "$NETWORK_DIR" && pwd)"
FABRIC_BIN="${FABRIC_BIN:-$NET_HOME/.run/bin}"
export NETWORK_DIR FABRIC_BIN

BASE_PORT="${BASE_PORT:-7050}"
CHANNEL="${CHANNEL:-wasteledger}"
DOMAIN="${DOMAIN:-wasteledger.test}"
LOG_SPEC="${FABRIC_LOG_SPEC:-grpc=error:info}"
STOP_TIMEOUT="${STOP_TIMEOUT:-15}"

# Layout under $NETWORK_DIR.
CFG_DIR="$NETWORK_DIR/config"     # core.yaml, orderer.yaml, configtx.yaml, crypto-config.yaml
CRYPTO_DIR="$NETWORK_DIR/crypto"  # cryptogen output
CHAN_DIR="$NETWORK_DIR/channel"   # genesis block of the application channel
DATA_DIR="$NETWORK_DIR/data"      # ledgers, one folder per node
LOG_DIR="$NETWORK_DIR/logs"       # one log per node, plus build logs
PID_DIR="$NETWORK_DIR/pids"       # one PID file per running node
RUN_DIR="$NETWORK_DIR/run"        # one launcher script per node (ctl.sh start uses it)
CC_DIR="$NETWORK_DIR/cc"          # chaincode packages, ids, server binaries
STATE_DIRS=("$CFG_DIR" "$CRYPTO_DIR" "$CHAN_DIR" "$DATA_DIR" "$PID_DIR" "$RUN_DIR" "$CC_DIR")

ORDERERS=(orderer1 orderer2 orderer3)
ORGS=(regulator producer carrier receiver)
ORD_DOMAIN="orderer.$DOMAIN"
CC_DOMAIN="chaincode.$DOMAIN" # private CA for the peer <-> chaincode-server TLS link

# msp_id regulator -> RegulatorMSP
msp_id() { printf '%s%sMSP' "$(printf '%s' "${1:0:1}" | tr '[:lower:]' '[:upper:]')" "${1:1}"; }
org_domain() { printf '%s.%s' "$1" "$DOMAIN"; }
org_index() {
	local i
	for i in "${!ORGS[@]}"; do [[ "${ORGS[$i]}" == "$1" ]] && { echo "$i"; return 0; }; done
	return 1
}
ord_index() { echo $((${1#orderer} - 1)); }

# Ports: orderers first, then peers, then chaincode servers.
#   ordererN : BASE+10*(N-1)      +0 gRPC, +1 admin (osnadmin), +2 operations
#   peer k   : BASE+30+10*k       +0 gRPC, +1 chaincode listener, +2 operations,
#                                 +7 Go pprof (PEER_PPROF=1 only)
#   chaincode j (j-th in CHAINCODES): BASE+70+j, its Go pprof +10 (PEER_PPROF=1 only)
ord_port() { echo $((BASE_PORT + 10 * $(ord_index "$1"))); }
ord_admin_port() { echo $(($(ord_port "$1") + 1)); }
ord_ops_port() { echo $(($(ord_port "$1") + 2)); }
peer_port() { echo $((BASE_PORT + 30 + 10 * $(org_index "$1"))); }
peer_cc_port() { echo $(($(peer_port "$1") + 1)); }
peer_ops_port() { echo $(($(peer_port "$1") + 2)); }
peer_pprof_port() { echo $(($(peer_port "$1") + 7)); }
cc_port() { echo $((BASE_PORT + 70 + $1)); }
cc_pprof_port() { echo $(($1 + 10)); } # of a chaincode server's port

# Crypto material paths.
ord_host() { printf '%s.%s' "$1" "$ORD_DOMAIN"; }
ord_node_dir() { printf '%s/ordererOrganizations/%s/orderers/%s' "$CRYPTO_DIR" "$ORD_DOMAIN" "$(ord_host "$1")"; }
ord_tls_ca() { printf '%s/ordererOrganizations/%s/tlsca/tlsca.%s-cert.pem' "$CRYPTO_DIR" "$ORD_DOMAIN" "$ORD_DOMAIN"; }
ord_admin_dir() { printf '%s/ordererOrganizations/%s/users/Admin@%s' "$CRYPTO_DIR" "$ORD_DOMAIN" "$ORD_DOMAIN"; }
peer_host() { printf 'peer0.%s' "$(org_domain "$1")"; }
org_dir() { printf '%s/peerOrganizations/%s' "$CRYPTO_DIR" "$(org_domain "$1")"; }
peer_node_dir() { printf '%s/peers/%s' "$(org_dir "$1")" "$(peer_host "$1")"; }
peer_tls_ca() { printf '%s/tlsca/tlsca.%s-cert.pem' "$(org_dir "$1")" "$(org_domain "$1")"; }
user_msp() { printf '%s/users/%s@%s/msp' "$(org_dir "$1")" "$2" "$(org_domain "$1")"; }
user_cert() { printf '%s/signcerts/%s@%s-cert.pem' "$(user_msp "$1" "$2")" "$2" "$(org_domain "$1")"; }
user_key() { printf '%s/keystore/priv_sk' "$(user_msp "$1" "$2")"; }
cc_tls_dir() { printf '%s/peerOrganizations/%s' "$CRYPTO_DIR" "$CC_DOMAIN"; }

# Chaincodes to deploy: space-separated NAME:PACKAGE[:VERSION]; PACKAGE is a
# Go package path relative to the repository root. A chaincode whose package
# holds no main package is skipped with a message.
CHAINCODES="${CHAINCODES:-putstate:./network/putstatecc:1.0 wasteledger:./cmd/chaincode:1.0}"
# Default endorsement policy: any 3 of the 4 organisations' peers (see README).
DEFAULT_CC_POLICY="OutOf(3,'RegulatorMSP.peer','ProducerMSP.peer','CarrierMSP.peer','ReceiverMSP.peer')"
CC_POLICY="${CC_POLICY:-$DEFAULT_CC_POLICY}"

cc_var_suffix() { printf '%s' "$1" | tr '[:lower:]' '[:upper:]' | tr -c 'A-Z0-9\n' '_'; }
# cc_policy NAME: $CC_POLICY_<NAME> or $CC_POLICY.
cc_policy() {
	local v
	v="CC_POLICY_$(cc_var_suffix "$1")"
	printf '%s' "${!v:-$CC_POLICY}"
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

# --- process control -------------------------------------------------------
# Every node is started by its launcher script $RUN_DIR/NODE.sh, which writes
# its own PID (the same PID the Fabric binary gets, through exec) and marks
# the process environment with WLNET_DIR and WLNET_NODE. Only a process that
# carries both marks is ever signalled.

node_names() {
	local f
	for f in "$RUN_DIR"/*.sh; do [[ -e "$f" ]] && basename "$f" .sh; done
	return 0
}

# node_pid NODE: prints the PID when NODE runs (ours, alive, not a zombie).
node_pid() {
	local pidf="$PID_DIR/$1.pid" pid
	[[ -f "$pidf" ]] || return 1
	pid="$(cat "$pidf" 2>/dev/null)"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	[[ -r "/proc/$pid/environ" ]] || return 1
	local st
	st="$({ sed -n 's/.*) \(.\).*/\1/p' "/proc/$pid/stat"; } 2>/dev/null || true)"
	[[ "$st" == Z || -z "$st" ]] && return 1
	local env
	env="$({ tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null)" || return 1
	grep -qxF "WLNET_DIR=$NETWORK_DIR" <<<"$env" || return 1
	grep -qxF "WLNET_NODE=$1" <<<"$env" || return 1
	echo "$pid"
}

# port_listening PORT: true when something listens on 127.0.0.1:PORT (reads
# /proc, so it makes no connection that would show up in a node's log).
port_listening() {
	local hex
	hex="$(printf '%04X' "$1")"
	awk -v p=":$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# node_port NODE: the port whose listener says the node is up.
node_port() {
	case "$1" in
	orderer*) ord_port "$1" ;;
	peer-*) peer_port "${1#peer-}" ;;
	cc-*) cat "$CC_DIR/${1#cc-}/port" ;;
	*) return 1 ;;
	esac
}

# launch_node NODE: start it in its own session (setsid), detached from the
# caller's process group and terminal; does not wait.
launch_node() {
	local node="$1" launcher="$RUN_DIR/$1.sh"
	[[ -x "$launcher" ]] || die "no launcher for node '$node' ($launcher); is the network up?"
	mkdir -p "$LOG_DIR" "$PID_DIR"
	rm -f "$PID_DIR/$node.pid"
	printf '\n=== start %s ===\n' "$(date '+%F %T')" >>"$LOG_DIR/$node.log"
	setsid "$launcher" >>"$LOG_DIR/$node.log" 2>&1 </dev/null &
}

# wait_node NODE: wait (30 s at most) until NODE's port listens.
wait_node() {
	local node="$1" port pid i
	port="$(node_port "$node")"
	for ((i = 0; i < 300; i++)); do
		if pid="$(node_pid "$node")" && port_listening "$port"; then
			log "$node started (pid $pid, 127.0.0.1:$port)"
			return 0
		fi
		if ((i > 5)) && ! node_pid "$node" >/dev/null; then
			tail -n 20 "$LOG_DIR/$node.log" >&2
			die "$node exited at start; log: $LOG_DIR/$node.log"
		fi
		sleep 0.1
	done
	die "$node did not listen on 127.0.0.1:$port within 30 s; log: $LOG_DIR/$node.log"
}

# start_node NODE: launch it unless it runs, and wait until it listens.
start_node() {
	local pid
	if pid="$(node_pid "$1")"; then
		log "$1 already running (pid $pid)"
		return 0
	fi
	launch_node "$1"
	wait_node "$1"
}

# stop_node NODE [SIGNAL]: TERM (or the given signal), then KILL after
# $STOP_TIMEOUT seconds. Success when the node is not running.
stop_node() {
	local node="$1" sig="${2:-TERM}" pid i
	if ! pid="$(node_pid "$node")"; then
		rm -f "$PID_DIR/$node.pid"
		return 0
	fi
	kill -s "$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
		node_pid "$node" >/dev/null || break
		sleep 0.1
	done
	if node_pid "$node" >/dev/null; then
		log "$node ignored SIG$sig for ${STOP_TIMEOUT}s; sending KILL"
		kill -s KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do node_pid "$node" >/dev/null || break; sleep 0.1; done
	fi
	rm -f "$PID_DIR/$node.pid"
	log "$node stopped (pid $pid, SIG$sig)"
}

# Nodes in stop order: chaincode servers, peers, orderers.
nodes_stop_order() {
	local all n
	all="$(node_names)"
	for n in $all; do [[ "$n" == cc-* ]] && echo "$n"; done
	for n in $all; do [[ "$n" == peer-* ]] && echo "$n"; done
	for n in $all; do [[ "$n" == orderer* ]] && echo "$n"; done
	return 0
}

# write_launcher NODE BINARY ARGS... -- VAR=VALUE...: the script that starts
# NODE with exactly these variables (env -i: nothing leaks from the caller).
write_launcher() {
	local node="$1" bin="$2" args=() vars=()
	shift 2
	while [[ $# -gt 0 && "$1" != "--" ]]; do args+=("$1"); shift; done
	shift
	vars=("$@")
	{
		echo '#!/usr/bin/env bash'
		echo "# Generated by network/up.sh: starts $node. Run through network/ctl.sh."
		printf 'echo $$ >%q\n' "$PID_DIR/$node.pid"
		printf 'exec env -i PATH=%q HOME=%q WLNET_DIR=%q WLNET_NODE=%q \\\n' \
			"/usr/local/bin:/usr/bin:/bin" "${HOME:-/root}" "$NETWORK_DIR" "$node"
		local v
		for v in "${vars[@]}"; do printf '\t%q \\\n' "$v"; done
		printf '\t%q' "$bin"
		for v in "${args[@]}"; do printf ' %q' "$v"; done
		echo
	} >"$RUN_DIR/$node.sh"
	chmod +x "$RUN_DIR/$node.sh"
}

# http_get PORT PATH: plain-HTTP GET on 127.0.0.1 (operations endpoints),
# body and headers to stdout; bash's /dev/tcp, so no curl needed.
http_get() {
	timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3 && cat <&3' _ "$1" "$2" 2>/dev/null
}

# raft_leader: the running orderer that reports itself Raft leader of
# $CHANNEL (operations metric consensus_etcdraft_is_leader).
raft_leader() {
	local o m
	for o in "${ORDERERS[@]}"; do
		node_pid "$o" >/dev/null || continue
		m="$(http_get "$(ord_ops_port "$o")" /metrics)" || continue
		if grep -aqx "consensus_etcdraft_is_leader{channel=\"$CHANNEL\"} 1" <<<"$m"; then
			echo "$o"
			return 0
		fi
	done
	return 1
}

# --- connection profile ----------------------------------------------------------
# write_profile: (re)writes $NETWORK_DIR/connection.json from the network's
# state (README.md documents the fields). Chaincodes are those deployed, in
# port order.
write_profile() {
	local tmp="$NETWORK_DIR/connection.json.tmp"
	_profile >"$tmp"
	mv "$tmp" "$NETWORK_DIR/connection.json"
}
_profile() {
	local first=1 g o d a
	printf '{\n  "channel": "%s",\n  "networkDir": "%s",\n  "chaincodes": [' "$CHANNEL" "$NETWORK_DIR"
	for d in $(for f in "$CC_DIR"/*/package_id; do [[ -f "$f" ]] && echo "$(cat "${f%/*}/port") ${f%/*}"; done | sort -n | cut -d' ' -f2); do
		((first)) || printf ','
		first=0
		printf '\n    {"name": "%s", "version": "%s", "packageId": "%s", "address": "%s", "policy": "%s"}' \
			"${d##*/}" "$(cat "$d/version")" "$(cat "$d/package_id")" "$(cat "$d/address")" "$(cat "$d/policy")"
	done
	printf '\n  ],\n  "orgs": ['
	first=1
	for g in "${ORGS[@]}"; do
		((first)) || printf ','
		first=0
		printf '\n    {"name": "%s", "mspId": "%s", "peerName": "peer-%s", "peerAddress": "127.0.0.1:%s",' \
			"$g" "$(msp_id "$g")" "$g" "$(peer_port "$g")"
		printf '\n     "tlsRootCertPath": "%s", "serverNameOverride": "%s", "peerOpsAddress": "127.0.0.1:%s",' \
			"$(peer_tls_ca "$g")" "$(peer_host "$g")" "$(peer_ops_port "$g")"
		printf '\n     "user": "User1", "certPath": "%s", "keyPath": "%s",' "$(user_cert "$g" User1)" "$(user_key "$g" User1)"
		printf '\n     "adminCertPath": "%s", "adminKeyPath": "%s"}' "$(user_cert "$g" Admin)" "$(user_key "$g" Admin)"
	done
	printf '\n  ],\n  "orderers": ['
	first=1
	for o in "${ORDERERS[@]}"; do
		((first)) || printf ','
		first=0
		printf '\n    {"name": "%s", "address": "127.0.0.1:%s", "serverNameOverride": "%s", "adminAddress": "127.0.0.1:%s", "opsAddress": "127.0.0.1:%s"}' \
			"$o" "$(ord_port "$o")" "$(ord_host "$o")" "$(ord_admin_port "$o")" "$(ord_ops_port "$o")"
	done
	a="$(ord_admin_dir)"
	printf '\n  ],\n  "ordererOrg": {"mspId": "OrdererMSP", "tlsRootCertPath": "%s", "adminTlsCertPath": "%s", "adminTlsKeyPath": "%s"}\n}\n' \
		"$(ord_tls_ca)" "$a/tls/client.crt" "$a/tls/client.key"
}

# --- peer CLI ----------------------------------------------------------------

# peercli ORG [USER] -- ARGS: run the peer CLI as ORG's Admin (or USER)
# against ORG's peer, with a clean environment.
peercli() {
	local org="$1" user=Admin
	shift
	if [[ "${1:-}" != "--" ]]; then user="$1"; shift; fi
	[[ "${1:-}" == "--" ]] && shift
	env -i PATH="$PATH" HOME="${HOME:-/root}" \
		FABRIC_CFG_PATH="$CFG_DIR" \
		FABRIC_LOGGING_SPEC="${CLI_LOG_SPEC:-grpc=error:warning}" \
		CORE_PEER_LOCALMSPID="$(msp_id "$org")" \
		CORE_PEER_MSPCONFIGPATH="$(user_msp "$org" "$user")" \
		CORE_PEER_ADDRESS="127.0.0.1:$(peer_port "$org")" \
		CORE_PEER_TLS_ENABLED=true \
		CORE_PEER_TLS_ROOTCERT_FILE="$(peer_tls_ca "$org")" \
		"$FABRIC_BIN/peer" "$@"
}

# Flags that name an orderer for the peer CLI: the first one running.
orderer_flags() {
	local o pick=orderer1
	for o in "${ORDERERS[@]}"; do
		if node_pid "$o" >/dev/null; then pick="$o"; break; fi
	done
	printf '%s\n' -o "127.0.0.1:$(ord_port "$pick")" --tls --cafile "$(ord_tls_ca)"
}

# Flags that name every peer, for commit and invoke.
all_peer_flags() {
	local org
	for org in "${ORGS[@]}"; do
		printf '%s\n' --peerAddresses "127.0.0.1:$(peer_port "$org")" --tlsRootCertFiles "$(peer_tls_ca "$org")"
	done
}

osnadmin_cmd() {
	local ord="$1"
	shift
	local admin
	admin="$(ord_admin_dir)"
	"$FABRIC_BIN/osnadmin" "$@" -o "127.0.0.1:$(ord_admin_port "$ord")" --ca-file "$(ord_tls_ca)" \
		--client-cert "$admin/tls/client.crt" --client-key "$admin/tls/client.key"
}

# retry N SLEEP CMD...: run CMD until it succeeds, at most N times.
retry() {
	local n="$1" pause="$2" i
	shift 2
	for ((i = 1; i <= n; i++)); do
		if "$@"; then return 0; fi
		((i < n)) && sleep "$pause"
	done
	return 1
}
