#!/usr/bin/env bash
# The Fabric test suite (`make test-fabric`): starts the local network with
# network/up.sh (a no-op when it already runs), runs the tests of every
# package that has `//go:build fabric` test files against it — the
# contract's conformance suite through the Fabric gateway client, events,
# and the fault tests that stop and restart orderers, peers and the
# chaincode server — then always stops the network (network/down.sh) and
# exits with the tests' status.
#
#   scripts/test-fabric.sh [go test flags, e.g. -run Conformance -v]
#
# Knobs (environment): NETWORK_DIR (default network/.run), BASE_PORT and
# the other network/up.sh knobs; FABRIC_TEST_TIMEOUT (default 25m);
# KEEP_NETWORK=1 leaves the network running. Needs only Go, the module
# proxy and a Debian base (see network/README.md); runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
export NETWORK_DIR="${NETWORK_DIR:-$PWD/network/.run}"
export WASTELEDGER_FABRIC_PROFILE="$NETWORK_DIR/connection.json"

t0=$(date +%s)
if [[ "${KEEP_NETWORK:-0}" != 1 ]]; then
	trap 'echo "test-fabric: stopping the network" >&2; network/down.sh || true' EXIT
fi
trap 'exit 130' INT TERM

network/up.sh

# Packages with Fabric tests; -p 1: they share one network, and the fault
# tests stop nodes.
mapfile -t pkgs < <(grep -rlE --include='*_test.go' '^//go:build (.*[^!])?fabric\b' \
	--exclude-dir=.git --exclude-dir=node_modules --exclude-dir=.run . | xargs -r -n1 dirname | sort -u)
if [[ ${#pkgs[@]} -eq 0 ]]; then
	echo "test-fabric: no package has //go:build fabric tests" >&2
	exit 1
fi
echo "test-fabric: network up in $(($(date +%s) - t0)) s; testing ${pkgs[*]}" >&2
status=0
go test -tags fabric -count=1 -p 1 -timeout "${FABRIC_TEST_TIMEOUT:-25m}" "$@" "${pkgs[@]}" || status=$?
echo "test-fabric: go test exited $status after $(($(date +%s) - t0)) s" >&2
exit "$status"
