#!/usr/bin/env bash
# Installs the Debian packages the tests use, when they are missing:
# zbar-tools (an independent QR decoder), sqlite3 (inspecting ledgers) and
# chromium (browser tests of the driver's web app). Needs root or sudo.
set -euo pipefail
need=()
command -v zbarimg >/dev/null || need+=(zbar-tools)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v chromium >/dev/null || need+=(chromium)
command -v node >/dev/null || need+=(nodejs)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
