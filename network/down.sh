#!/usr/bin/env bash
# Stops every process of the local network that up.sh started (chaincode
# servers, then peers, then orderers), by recorded PID only. Succeeds when
# nothing runs. Ledgers, crypto and logs stay for inspection; the next up.sh
# wipes them.
#
#   network/down.sh           stop
#   network/down.sh --purge   stop and delete all state and logs (keeps the
#                             Fabric binaries in $FABRIC_BIN)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=0
for a in "$@"; do
	case "$a" in
	--purge) purge=1 ;;
	-h | --help) sed -n '2,10p' "$0"; exit 0 ;;
	*) die "unknown argument $a" ;;
	esac
done

rm -f "$NETWORK_DIR/up.ok"
stopped=0
for n in $(nodes_stop_order); do
	if node_pid "$n" >/dev/null; then
		stop_node "$n"
		stopped=$((stopped + 1))
	fi
done
rm -f "$PID_DIR"/*.pid 2>/dev/null || true
if ((purge)); then
	rm -rf "${STATE_DIRS[@]}" "$LOG_DIR" "$NETWORK_DIR/logs.prev" "$NETWORK_DIR/tools" "$NETWORK_DIR/connection.json"
	log "network down, state purged from $NETWORK_DIR ($stopped processes stopped)"
else
	log "network down ($stopped processes stopped); state and logs kept in $NETWORK_DIR"
fi
