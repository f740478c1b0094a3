#!/usr/bin/env bash
# Installs Debian's Chromium (/usr/bin/chromium) for the console's browser tests when it is
# missing. The tests drive it with playwright-core; no browser is ever downloaded by npm.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

echo "Chromium is missing: installing Debian's chromium package"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else echo "need root (or sudo) to install chromium" >&2; exit 1; fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
[ -x /usr/bin/chromium ] || { echo "chromium did not install to /usr/bin/chromium" >&2; exit 1; }
/usr/bin/chromium --version 2>/dev/null || true
