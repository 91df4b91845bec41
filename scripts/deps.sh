#!/usr/bin/env bash
# Installs Debian packages that are missing, as root or through passwordless sudo.
# Without either it prints the exact command and fails, so nothing half-installs silently.
# Usage: scripts/deps.sh PACKAGE...   (a package named like a command on PATH is taken as present)
set -euo pipefail
missing=()
for pkg in "$@"; do
  # A tool the machine already has from elsewhere (e.g. npm shipped with a Node.js install) counts as present:
  # asking apt for Debian's package beside it would conflict.
  command -v "$pkg" >/dev/null 2>&1 && continue
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
((${#missing[@]} == 0)) && exit 0
echo "Installing: ${missing[*]}" >&2
if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo)
else
  echo "Missing packages. Run this once, then try again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
