#!/usr/bin/env bash
# The web pages are tested in a real browser: Debian's chromium package (never a browser
# download of a test tool). Installs it once if missing; needs root or sudo.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-browser: installing Debian's chromium for the browser tests" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "install-browser: chromium could not be installed" >&2; exit 1; }
