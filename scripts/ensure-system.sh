#!/usr/bin/env bash
# Installs the Debian packages the tests need, when missing: Chromium for Playwright, and the real
# netfilter tools (iptables, nftables, nfacct, conntrack, iproute2) the kernel checks use, and
# tshark, which decodes the pcaps podpath writes.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v iptables-nft-restore >/dev/null || need+=(iptables)
command -v nfacct >/dev/null || need+=(nfacct)
command -v nft >/dev/null || need+=(nftables)
command -v conntrack >/dev/null || need+=(conntrack)
command -v ip >/dev/null || need+=(iproute2)
command -v tshark >/dev/null || need+=(tshark)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # tshark's package asks whether non-root users may capture; answer no, without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
