// The pod-network documents the "Pod network" picker writes into the text: the object each CNI
// really reads its configuration from (flannel: ConfigMap kube-flannel-cfg / net-conf.json;
// Calico: an IPPool). Switching replaces the text's existing pod-network document, so the editor
// stays the single source of truth and a reload keeps the choice.

import type { CniSettings } from '../engine/types.ts';

export const CNI_CHOICES = ['flannel-vxlan', 'flannel-host-gw', 'calico-ipip', 'calico-vxlan', 'calico-bgp', 'cilium-vxlan', 'cilium-geneve', 'cilium-native'] as const;
export type CniChoiceKey = (typeof CNI_CHOICES)[number];

/** Which choice a cluster's settings correspond to. */
export function cniChoiceOf(cni: CniSettings): CniChoiceKey {
  if (cni.plugin === 'flannel') return cni.backend === 'host-gw' ? 'flannel-host-gw' : 'flannel-vxlan';
  if (cni.plugin === 'cilium') return cni.routing === 'native' ? 'cilium-native' : cni.tunnelProtocol === 'geneve' ? 'cilium-geneve' : 'cilium-vxlan';
  return cni.encapsulation === 'IPIP' ? 'calico-ipip' : cni.encapsulation === 'VXLAN' ? 'calico-vxlan' : 'calico-bgp';
}

function documentFor(choice: CniChoiceKey, podCIDR: string): string {
  if (choice.startsWith('flannel')) {
    const type = choice === 'flannel-host-gw' ? 'host-gw' : 'vxlan';
    return `# the pod network: flannel reads its network and backend from this ConfigMap
apiVersion: v1
kind: ConfigMap
metadata:
  name: kube-flannel-cfg
  namespace: kube-flannel
data:
  net-conf.json: |
    {
      "Network": "${podCIDR}",
      "Backend": { "Type": "${type}" }
    }
`;
  }
  if (choice.startsWith('cilium')) {
    // The keys the Cilium Helm chart writes (cilium-configmap.yaml), with kube-proxy replaced.
    const routing = choice === 'cilium-native' ? 'routing-mode: native\n  ipv4-native-routing-cidr: ' + podCIDR + '\n  auto-direct-node-routes: "true"' : `routing-mode: tunnel\n  tunnel-protocol: ${choice === 'cilium-geneve' ? 'geneve' : 'vxlan'}`;
    return `# the pod network: Cilium reads its datapath settings from this ConfigMap
apiVersion: v1
kind: ConfigMap
metadata:
  name: cilium-config
  namespace: kube-system
data:
  ${routing}
  kube-proxy-replacement: "true"
  enable-ipv4-masquerade: "true"
  ipam: cluster-pool
  cluster-pool-ipv4-cidr: ${podCIDR}
  cluster-pool-ipv4-mask-size: "24"
`;
  }
  const [ipip, vxlan] = choice === 'calico-ipip' ? ['Always', 'Never'] : choice === 'calico-vxlan' ? ['Never', 'Always'] : ['Never', 'Never'];
  return `# the pod network: Calico's IP pool (encapsulation: ipipMode / vxlanMode)
apiVersion: crd.projectcalico.org/v1
kind: IPPool
metadata:
  name: default-ipv4-ippool
spec:
  cidr: ${podCIDR}
  blockSize: 26
  ipipMode: ${ipip}
  vxlanMode: ${vxlan}
  natOutgoing: true
`;
}

/** Is this YAML document (text between "---" lines) a pod-network configuration? */
function isCniDocument(doc: string): boolean {
  return /^kind:\s*IPPool\s*$/m.test(doc) || (/^kind:\s*ConfigMap\s*$/m.test(doc) && /^\s+name:\s*(kube-flannel-cfg|cilium-config)\s*$/m.test(doc));
}

/** The text with its pod-network document replaced by (or, if none, followed by) the chosen one. */
export function withCni(text: string, choice: CniChoiceKey, podCIDR = '10.244.0.0/16'): string {
  const docs = text.split(/^---[ \t]*$/m);
  const kept = docs.filter((d) => !isCniDocument(d));
  const body = kept.map((d) => d.replace(/^\n+|\n+$/g, '')).filter((d) => d.trim() !== '');
  return `${[...body, documentFor(choice, podCIDR).trimEnd()].join('\n---\n')}\n`;
}
