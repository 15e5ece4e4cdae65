#!/usr/bin/env bash
# Deploys one chaincode as a service on the running network and starts its
# server:
#
#   network/deploy-cc.sh NAME VERSION ADDRESS PACKAGE [POLICY]
#
#   NAME     chaincode name on the channel (e.g. putstate)
#   VERSION  chaincode version; the package label is NAME_VERSION
#   ADDRESS  host:port the chaincode server listens on (e.g. 127.0.0.1:7120)
#   PACKAGE  Go main package of the server, relative to the repository root
#   POLICY   endorsement policy (signature-policy syntax); default $CC_POLICY
#
# Steps: build the server; write connection.json (TLS material included when
# TLS is on); pack the reproducible ccaas package; calculate its package id;
# install on every peer; approveformyorg as each of the four orgs; commit;
# (re)start the server with CHAINCODE_ID and CHAINCODE_SERVER_ADDRESS.
# Running it again with the same inputs only rebuilds and restarts the
# server; a changed package or policy becomes the next sequence.
#
# CC_TLS_<NAME>=1|0|auto (default auto: on when the package's source, or
# chaincode/, mentions CHAINCODE_TLS_CERT). CC_PREBUILT=1 skips the build
# (up.sh builds in parallel beforehand).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH="$FABRIC_BIN:$PATH" GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -buildvcs=false"

[[ $# -ge 4 ]] || die "usage: deploy-cc.sh NAME VERSION ADDRESS PACKAGE [POLICY]"
name="$1" version="$2" address="$3" pkg="$4" policy="${5:-$(cc_policy "$1")}"
[[ "$name" =~ ^[a-z0-9][a-z0-9_-]*$ ]] || die "bad chaincode name '$name'"
[[ "$address" =~ ^[^:]+:[0-9]+$ ]] || die "ADDRESS must be host:port, got '$address'"
[[ -d "$CRYPTO_DIR" && -x "$RUN_DIR/orderer1.sh" ]] || die "the network is not up (run network/up.sh)"
label="${name}_${version}"
dir="$CC_DIR/$name"
mkdir -p "$dir"
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# --- server binary -------------------------------------------------------------
if [[ "${CC_PREBUILT:-0}" != 1 || ! -x "$dir/server" ]]; then
	(cd "$REPO_ROOT" && go build -o "$dir/server" "$pkg") || die "go build $pkg failed"
fi

# --- TLS -------------------------------------------------------------------------
tlsvar="CC_TLS_$(cc_var_suffix "$name")"
tls="${!tlsvar:-auto}"
if [[ "$tls" == auto ]]; then
	pkgdir="$(cd "$REPO_ROOT" && go list -e -f '{{.Dir}}' "$pkg")"
	if grep -rqs --include='*.go' CHAINCODE_TLS_CERT "$pkgdir" "$REPO_ROOT/chaincode"; then tls=1; else tls=0; fi
fi
cc_ca="$(cc_tls_dir)/tlsca/tlsca.$CC_DOMAIN-cert.pem"
cc_srv="$(cc_tls_dir)/peers/ccserver.$CC_DOMAIN/tls"
cc_cli="$(cc_tls_dir)/users/Admin@$CC_DOMAIN/tls"
pem_json() { awk '{ printf "%s\\n", $0 }' "$1"; }

# --- package -----------------------------------------------------------------------
work="$dir/pkg"
rm -rf "$work"
mkdir -p "$work/src"
if [[ "$tls" == 1 ]]; then
	printf '{"address": "%s", "dial_timeout": "10s", "tls_required": true, "client_auth_required": true, "client_key": "%s", "client_cert": "%s", "root_cert": "%s"}\n' \
		"$address" "$(pem_json "$cc_cli/client.key")" "$(pem_json "$cc_cli/client.crt")" "$(pem_json "$cc_ca")" \
		>"$work/src/connection.json"
else
	printf '{"address": "%s", "dial_timeout": "10s", "tls_required": false}\n' "$address" >"$work/src/connection.json"
fi
printf '{"type": "ccaas", "label": "%s"}\n' "$label" >"$work/metadata.json"
tarflags=(--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=ustar)
tar -C "$work/src" "${tarflags[@]}" -cf - connection.json | gzip -n >"$work/code.tar.gz"
tar -C "$work" "${tarflags[@]}" -cf - metadata.json code.tar.gz | gzip -n >"$dir/$label.tgz"
package_id="$(peercli regulator -- lifecycle chaincode calculatepackageid "$dir/$label.tgz")"
[[ "$package_id" == "$label:"* ]] || die "calculatepackageid gave '$package_id'"

# --- server (before the commit, so the peers find it when they connect) -------------
vars=(CHAINCODE_ID="$package_id" CHAINCODE_SERVER_ADDRESS="$address")
if [[ "$tls" == 1 ]]; then
	vars+=(CHAINCODE_TLS_DISABLED=false
		CHAINCODE_TLS_CERT="$cc_srv/server.crt" CHAINCODE_TLS_KEY="$cc_srv/server.key"
		CHAINCODE_TLS_CLIENT_CA_CERT="$cc_ca" CHAINCODE_CLIENT_CA_CERT="$cc_ca")
else
	vars+=(CHAINCODE_TLS_DISABLED=true)
	log "$name: peer <-> chaincode server without TLS (the server does not read CHAINCODE_TLS_*; CC_TLS_$(cc_var_suffix "$name")=1 forces it)"
fi
if [[ "${PEER_PPROF:-0}" == 1 ]]; then
	vars+=(CHAINCODE_PPROF_ADDRESS="${address%:*}:$(cc_pprof_port "${address##*:}")")
fi
write_launcher "cc-$name" "$dir/server" -- "${vars[@]}"
echo "${address##*:}" >"$dir/port"
stop_node "cc-$name" >/dev/null
start_node "cc-$name"

# --- lifecycle ---------------------------------------------------------------------------
committed_seq() {
	local out
	out="$(peercli regulator -- lifecycle chaincode querycommitted -C "$CHANNEL" -n "$name" -O json 2>/dev/null)" || { echo 0; return; }
	sed -n 's/.*"sequence": *\([0-9]*\).*/\1/p' <<<"$out" | head -n 1
}
seq="$(committed_seq)"
seq="${seq:-0}"
if ((seq > 0)) && [[ "$(cat "$dir/package_id" 2>/dev/null)" == "$package_id" &&
	"$(cat "$dir/policy" 2>/dev/null)" == "$policy" ]]; then
	log "$name: $package_id already committed at sequence $seq; lifecycle skipped, server restarted"
else
	seq=$((seq + 1))
	mapfile -t ord_flags < <(orderer_flags)
	mapfile -t peer_flags < <(all_peer_flags)
	install() {
		local out
		out="$(peercli "$1" -- lifecycle chaincode install "$dir/$label.tgz" 2>&1)" && return 0
		grep -qi "already successfully installed" <<<"$out" && return 0
		echo "$out" >&2
		return 1
	}
	approve() {
		local out
		out="$(peercli "$1" -- lifecycle chaincode approveformyorg "${ord_flags[@]}" -C "$CHANNEL" \
			-n "$name" -v "$version" --package-id "$package_id" --sequence "$seq" \
			--signature-policy "$policy" --waitForEvent 2>&1)" && return 0
		grep -qi "unchanged content" <<<"$out" && return 0
		echo "$1: $out" >&2
		return 1
	}
	pids=()
	for g in "${ORGS[@]}"; do (retry 3 2 install "$g") & pids+=($!); done
	for p in "${pids[@]}"; do wait "$p" || die "$name: install failed"; done
	log "$name: installed $package_id on ${#ORGS[@]} peers ($(elapsed) s)"
	pids=()
	for g in "${ORGS[@]}"; do (retry 5 2 approve "$g") & pids+=($!); done
	for p in "${pids[@]}"; do wait "$p" || die "$name: approveformyorg failed"; done
	log "$name: approved by ${#ORGS[@]} orgs, sequence $seq ($(elapsed) s)"
	commit() {
		peercli regulator -- lifecycle chaincode commit "${ord_flags[@]}" -C "$CHANNEL" \
			-n "$name" -v "$version" --sequence "$seq" --signature-policy "$policy" \
			"${peer_flags[@]}" --waitForEvent
	}
	retry 3 2 commit || die "$name: commit failed"
	echo "$package_id" >"$dir/package_id"
	echo "$policy" >"$dir/policy"
	log "$name: committed, sequence $seq, policy $policy ($(elapsed) s)"
fi
echo "$address" >"$dir/address"
echo "$version" >"$dir/version"
# up.sh writes the profile once after all deployments; a lone redeploy
# refreshes it here.
[[ "${CC_PREBUILT:-0}" == 1 ]] || write_profile

log "$name: deployed in $(elapsed) s (tls=$tls)"
