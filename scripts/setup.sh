#!/usr/bin/env bash
# Installs everything nonstop needs on a fresh Debian machine, idempotently and quickly
# when already done: the Debian packages the tests and labs use, the npm dev dependencies,
# and the compiled JavaScript. Called by `npm start` and `npm test` (and so by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# Real BGP peers and reference tools (tests and benchmarks run them side by side with ours);
# nftables for the transparent proxy in front of bug-tolerant-router replicas; iptables for
# the TCPR middlebox's NFQUEUE rules (xt NFQUEUE: kernels without CONFIG_NFT_QUEUE).
debs=(bgpdump bird2 frr gobgpd exabgp iproute2 iputils-ping bzip2 tcpdump time nftables iptables)
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

# BIRD 1.6 (Debian package `bird`), for version diversity next to BIRD 2. The package
# conflicts with bird2, so it is never installed: its .deb is unpacked into a private
# folder outside the work tree (kept across runs and clones) and the lab runs the binaries
# from there. NONSTOP_BIRD1_DIR must match what src/lab/daemons/bird1.ts reads.
bird1_dir=${NONSTOP_BIRD1_DIR:-/opt/nonstop/bird1}
bird1_fail() {
  echo "setup: BIRD 1.6 into $bird1_dir: $*" >&2
  exit 1
}
bird1_have=$(cat "$bird1_dir/VERSION" 2>/dev/null || true)
# The version apt would download now (from the local package lists; no network).
bird1_want=$(apt-cache policy bird 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }')
bird1_complete=false
if [ -n "$bird1_have" ] && [ -x "$bird1_dir/usr/sbin/bird6" ] && [ -x "$bird1_dir/usr/sbin/birdc6" ]; then
  bird1_complete=true
fi
if [ "$bird1_complete" = true ] && [ -n "$bird1_want" ] && [ "$bird1_want" != "$bird1_have" ] && [ "$(id -u)" -ne 0 ]; then
  echo "setup: BIRD 1.6 $bird1_have in $bird1_dir, Debian now has $bird1_want; run as root to update" >&2
elif [ "$bird1_complete" = false ] || { [ -n "$bird1_want" ] && [ "$bird1_want" != "$bird1_have" ]; }; then
  [ "$(id -u)" -eq 0 ] || bird1_fail "not unpacked yet; run scripts/setup.sh as root"
  echo "setup: unpacking BIRD 1.6 (apt-get download bird) into $bird1_dir" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # apt drops privileges to _apt for downloads; let it write here.
  chown _apt "$tmp" 2>/dev/null || true
  if ! (cd "$tmp" && apt-get download -qq bird >/dev/null 2>&1); then
    apt-get update -qq || bird1_fail "apt-get update failed"
    (cd "$tmp" && apt-get download -qq bird >/dev/null) || bird1_fail "apt-get download bird failed"
  fi
  deb=$(ls "$tmp"/bird_*.deb 2>/dev/null | head -n 1)
  [ -n "$deb" ] || bird1_fail "apt-get download bird left no bird_*.deb"
  version=$(dpkg-deb -f "$deb" Version)
  case "$version" in
    1.6.*) ;;
    *) bird1_fail "Debian's package bird is version $version, not 1.6.x; pin it (apt-get download bird=1.6.8-...)" ;;
  esac
  # Its shared libraries (libreadline for birdc, ...) come from the Depends line;
  # adduser and ucf only serve the package's maintainer scripts, which never run here.
  libs=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -E 's/^ *([^ (|]+).*/\1/' | grep '^lib' || true)
  need=()
  for p in $libs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing BIRD 1.6's libraries: ${need[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
      bird1_fail "apt-get install ${need[*]} failed"
  fi
  # Unpack beside the target, then swap, so a failed run never leaves half a tree.
  mkdir -p "$(dirname "$bird1_dir")"
  rm -rf "$bird1_dir.new"
  dpkg-deb -x "$deb" "$bird1_dir.new" || bird1_fail "dpkg-deb -x $deb failed"
  echo "$version" >"$bird1_dir.new/VERSION"
  rm -rf "$bird1_dir"
  mv "$bird1_dir.new" "$bird1_dir"
  rm -rf "$tmp"
  trap - EXIT
fi
for b in bird bird6 birdc birdc6; do
  missing_libs=$(ldd "$bird1_dir/usr/sbin/$b" 2>&1 | grep 'not found' || true)
  [ -z "$missing_libs" ] || bird1_fail "$b lacks shared libraries: $missing_libs (apt-get install the packages that provide them)"
done

# npm dependencies: reinstall only when package-lock.json changed since the last install.
stamp=node_modules/.nonstop-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

npx tsc -p tsconfig.json
