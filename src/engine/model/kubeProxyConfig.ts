// KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1), the file kubeadm stores in the
// kube-proxy ConfigMap. It has no metadata.name. Field names and defaults:
// kubernetes pkg/proxy/apis/config/types.go and v1alpha1/defaults.go.

import type { ClusterSettings, KubeProxySettings } from '../types.ts';
import { parseCidr } from '../util/ipv4.ts';
import type { DocReader, Obj } from './objects.ts';

export function isKubeProxyConfiguration(v: unknown): v is Obj {
  return !!v && typeof v === 'object' && (v as Obj).kind === 'KubeProxyConfiguration';
}

export function readKubeProxyConfiguration(r: DocReader, doc: Obj, s: ClusterSettings): KubeProxySettings {
  const kp = { ...s.kubeProxy };
  if (r.str(doc, 'apiVersion') !== 'kubeproxy.config.k8s.io/v1alpha1') {
    r.report('PP013', 'error', 'KubeProxyConfiguration needs apiVersion: kubeproxy.config.k8s.io/v1alpha1.', doc, 'apiVersion');
  }
  const mode = r.str(doc, 'mode') ?? '';
  if (mode === 'ipvs') {
    kp.mode = 'ipvs';
    r.report('PP004', 'info', 'IPVS is simulated: the virtual servers and ipsets follow kube-proxy, but no real kernel checks them here.', doc, 'mode');
  } else if (mode === 'nftables') {
    kp.mode = 'nftables';
  } else if (mode !== '' && mode !== 'iptables') {
    r.report('PP013', 'error', `mode must be iptables, ipvs or nftables (found "${mode}"); "" means iptables on Linux.`, doc, 'mode');
  }
  const cidr = r.str(doc, 'clusterCIDR');
  if (cidr !== undefined) {
    if (parseCidr(cidr)) kp.clusterCIDR = cidr;
    else r.report('PP013', 'error', `clusterCIDR "${cidr}" is not an IPv4 CIDR.`, doc, 'clusterCIDR');
  }
  const detect = r.str(doc, 'detectLocalMode');
  // Only ClusterCIDR (the default) writes "! -s <clusterCIDR>"; other detectors are not modelled.
  if (detect && detect !== 'ClusterCIDR') r.report('PP004', 'warning', `detectLocalMode ${detect} is not modelled; podpath uses ClusterCIDR.`, doc, 'detectLocalMode');
  const ipt = r.map(doc, 'iptables');
  if (ipt) {
    if (typeof ipt.masqueradeAll === 'boolean') kp.masqueradeAll = ipt.masqueradeAll;
    const bit = r.int(ipt, 'masqueradeBit', 0, 31);
    if (bit !== undefined) kp.masqueradeBit = bit;
    if (typeof ipt.localhostNodePorts === 'boolean') kp.localhostNodePorts = ipt.localhostNodePorts;
  }
  const npa = r.list(doc, 'nodePortAddresses').map(String);
  if (npa.length) kp.nodePortAddresses = npa;
  return kp;
}
