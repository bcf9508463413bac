#!/usr/bin/env bash
# Installs everything ts-ipsec needs on a fresh Debian 12 machine (run as root): the Debian packages the
# namespace and interop tests use, then the npm dependencies. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Installed with --no-install-recommends, so every package a test, the demo or a bench loads is named here,
# strongSwan's plugin packages included: charon without them has no openssl, gcm, ctr (standard), curve25519,
# chapoly, ccm, cmac (extra) or eap-mschapv2 (extauth); netbase brings /etc/protocols, without which
# `ip xfrm ... proto udp` refuses the protocol name; conntrack flushes a NAT router's mappings in the NAT tests. debootstrap builds the strongSwan 6 root of the shared bench. test/prerequisites.test.ts checks each piece by name.
DEBIAN_PACKAGES=(
  iproute2 iputils-ping procps netbase nftables conntrack iperf3 tcpdump tshark bc openssl
  strongswan-charon strongswan-swanctl strongswan-pki libcharon-extra-plugins libcharon-extauth-plugins
  libstrongswan-standard-plugins libstrongswan-extra-plugins
  wireguard-go wireguard-tools debootstrap
)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}; run this script as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
