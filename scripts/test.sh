#!/usr/bin/env bash
# Every test podpath has, in one command (README: `npm test`; CI: .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system.sh
# Install npm dependencies when missing or older than the lockfile.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
echo "== typecheck";      npx tsc -b
echo "== lint";           npx eslint .
echo "== unit (vitest)";  npx vitest run
echo "== conformance (kube-proxy iptables, nftables, IPVS; Istio sidecar capture and routing)"; npx tsx src/cli/conformance.ts ../shared/conformance/kube-proxy ../shared/conformance/kube-proxy-nftables ../shared/conformance/kube-proxy-ipvs ../shared/conformance/istio-iptables ../shared/conformance/istio/bookinfo ../shared/conformance/cndjp4
echo "== kernel (iptables and nftables in network namespaces)"; npx tsx scripts/kernel-check.ts
echo "== tshark (the pcaps podpath exports)"; npx tsx scripts/tshark-check.ts
echo "== browser (playwright, Debian chromium)"; npx playwright test
echo "all tests passed"
