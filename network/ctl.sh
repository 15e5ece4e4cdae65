#!/usr/bin/env bash
# Controls one process of the running network, for fault tests.
#
#   network/ctl.sh stop NODE      SIGTERM, SIGKILL after $STOP_TIMEOUT s
#   network/ctl.sh kill NODE      SIGKILL at once (a crash)
#   network/ctl.sh start NODE     start again with the same config and data;
#                                 returns when its port listens
#   network/ctl.sh restart NODE
#   network/ctl.sh status [NODE]  "NODE running PID PORT" or "NODE stopped"
#                                 (exit 1 when a named node is stopped)
#   network/ctl.sh list           the node names
#   network/ctl.sh leader         the orderer that is Raft leader now
#                                 (exit 1 when none, e.g. during an election)
#
# NODE is one of orderer1 orderer2 orderer3, peer-regulator peer-producer
# peer-carrier peer-receiver, cc-<chaincode> (e.g. cc-putstate,
# cc-wasteledger). A restarted peer listens before it has reloaded the
# channel: poll (e.g. peer channel getinfo) before relying on it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,18p' "$0" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
cmd="$1"
node="${2:-}"
known() { [[ -x "$RUN_DIR/$1.sh" ]] || die "unknown node '$1' (known: $(node_names | tr '\n' ' '))"; }
status_line() {
	local pid
	if pid="$(node_pid "$1")"; then
		echo "$1 running $pid 127.0.0.1:$(node_port "$1")"
	else
		echo "$1 stopped"
		return 1
	fi
}
case "$cmd" in
stop) [[ -n "$node" ]] || usage; known "$node"; stop_node "$node" ;;
kill) [[ -n "$node" ]] || usage; known "$node"; stop_node "$node" KILL ;;
start) [[ -n "$node" ]] || usage; known "$node"; start_node "$node" ;;
restart) [[ -n "$node" ]] || usage; known "$node"; stop_node "$node"; start_node "$node" ;;
status)
	if [[ -n "$node" ]]; then
		known "$node"
		status_line "$node"
	else
		for n in $(node_names); do status_line "$n" || true; done
	fi
	;;
list) node_names ;;
leader) raft_leader ;;
*) usage ;;
esac
