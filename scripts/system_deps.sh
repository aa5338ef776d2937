#!/usr/bin/env bash
# Install the Debian packages the tests need and a fresh machine lacks (one place for the list).
# Runs apt-get only when something is missing; needs root (CI runs as root).
set -euo pipefail

# command -> Debian package
declare -A NEEDED=(
  [make]=make
  [flock]=util-linux
  [chromium]=chromium
  [node]=nodejs
  [npm]=npm
  # the production profile's test (tests/e2e/test_production.py)
  [pg_ctlcluster]=postgresql
  [redis-server]=redis-server
  [nginx]=nginx
)

missing=()
for cmd in "${!NEEDED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEEDED[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ERROR: missing system packages: ${missing[*]} (install them with apt-get as root)" >&2
  exit 1
fi
echo ">> installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
