#!/usr/bin/env bash
# Installs everything nonstop needs on a fresh Debian machine, idempotently and quickly
# when already done: the Debian packages the tests and labs use, the npm dev dependencies,
# and the compiled JavaScript. Called by `npm start` and `npm test` (and so by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# Real BGP peers and reference tools (tests and benchmarks run them side by side with ours).
debs=(bgpdump bird2 frr gobgpd exabgp iproute2 iputils-ping bzip2 tcpdump time)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: Debian packages missing: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian may start the daemons on install; our labs start their own instances.
  for svc in bird frr gobgpd exabgp; do
    if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
  done
fi

# npm dependencies: reinstall only when package-lock.json changed since the last install.
stamp=node_modules/.nonstop-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

npx tsc -p tsconfig.json
