#!/usr/bin/env bash
# The OIDC tests run against a real, third-party OpenID provider: panva's certified npm package
# oidc-provider, pinned in tests/oidc_provider/package-lock.json. Installs it (npm ci, from the
# lock file only) when it is missing or the lock file changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=tests/oidc_provider
for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 \
    || { echo "install-oidc-provider: '$tool' not found; install Node.js 20 or later (with npm)" >&2; exit 1; }
done

if [ -d "$DIR/node_modules/oidc-provider" ] && ! [ "$DIR/package-lock.json" -nt "$DIR/node_modules/.package-lock.json" ]; then
  exit 0
fi
echo "install-oidc-provider: installing oidc-provider into $DIR/node_modules" >&2
npm ci --no-audit --no-fund --prefix "$DIR"
