// Which pod network the manifests describe, read from the objects each CNI is configured by:
//   flannel: the ConfigMap kube-flannel-cfg, key net-conf.json ({"Network", "Backend": {"Type":
//     "vxlan" | "host-gw", "VNI", "Port"}}) — flannel-io/flannel Documentation/configuration.md;
//   Calico: an IPPool (crd.projectcalico.org/v1 or projectcalico.org/v3) with cidr, blockSize,
//     ipipMode / vxlanMode (Always | CrossSubnet | Never) and natOutgoing — Calico's IPPool reference.
// Without either, the cluster runs flannel VXLAN (kubeadm's hands-on default).

import type { ClusterSettings, CniSettings } from '../types.ts';
import { flannelDefaults } from '../dataplane/flannel.ts';
import { calicoDefaults } from '../dataplane/calico.ts';
import { parseCidr } from '../util/ipv4.ts';
import type { DocReader, ObjectMeta } from './objects.ts';

export interface CniChoice {
  cni: CniSettings;
  podCIDR?: string;
}

export const IPPOOL_API_VERSIONS = ['crd.projectcalico.org/v1', 'projectcalico.org/v3'];

export function flannelFromConfigMap(r: DocReader, meta: ObjectMeta): CniChoice | undefined {
  const data = r.map(meta.raw, 'data');
  const text = data ? r.str(data, 'net-conf.json') : undefined;
  if (!data || text === undefined) {
    r.report('PP003', 'error', 'kube-flannel-cfg needs data."net-conf.json" (flannel reads its network and backend from it).', data ?? meta.raw, data ? undefined : 'metadata');
    return undefined;
  }
  let conf: { Network?: unknown; Backend?: { Type?: unknown; VNI?: unknown; Port?: unknown } };
  try {
    conf = JSON.parse(text) as typeof conf;
  } catch (e) {
    r.report('PP013', 'error', `net-conf.json is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, data, 'net-conf.json');
    return undefined;
  }
  const type = String(conf.Backend?.Type ?? 'vxlan');
  if (type !== 'vxlan' && type !== 'host-gw') {
    r.report('PP004', 'warning', `flannel backend "${type}" is not modelled; podpath uses vxlan (modelled: vxlan, host-gw).`, data, 'net-conf.json');
  }
  const network = typeof conf.Network === 'string' && parseCidr(conf.Network) ? conf.Network : undefined;
  if (conf.Network !== undefined && !network) r.report('PP013', 'error', `net-conf.json "Network" must be an IPv4 CIDR (found ${JSON.stringify(conf.Network)}).`, data, 'net-conf.json');
  const hostGw = type === 'host-gw';
  return {
    podCIDR: network,
    cni: {
      plugin: 'flannel',
      backend: hostGw ? 'host-gw' : 'vxlan',
      vni: typeof conf.Backend?.VNI === 'number' ? conf.Backend.VNI : flannelDefaults.vni,
      port: typeof conf.Backend?.Port === 'number' ? conf.Backend.Port : flannelDefaults.port,
      mtu: hostGw ? 1500 : flannelDefaults.mtu,
      device: hostGw ? '' : flannelDefaults.device,
      bridge: flannelDefaults.bridge,
    },
  };
}

export function calicoFromIPPool(r: DocReader, meta: ObjectMeta): CniChoice | undefined {
  const spec = r.map(meta.raw, 'spec');
  if (!spec) {
    r.report('PP003', 'error', 'IPPool needs a spec (cidr, ipipMode / vxlanMode).', meta.raw, 'kind');
    return undefined;
  }
  const cidr = r.str(spec, 'cidr');
  if (!cidr || !parseCidr(cidr)) {
    r.report('PP013', 'error', `IPPool spec.cidr must be an IPv4 CIDR${cidr ? ` (found "${cidr}")` : ''}.`, spec, cidr ? 'cidr' : undefined);
    return undefined;
  }
  const mode = (key: string) => {
    const v = r.str(spec, key) ?? 'Never';
    if (!['Always', 'CrossSubnet', 'Never'].includes(v)) r.report('PP013', 'error', `${key} must be Always, CrossSubnet or Never (found "${v}").`, spec, key);
    return v;
  };
  const ipip = mode('ipipMode');
  const vxlan = mode('vxlanMode');
  if (ipip !== 'Never' && vxlan !== 'Never') r.report('PP013', 'error', 'An IPPool cannot enable both ipipMode and vxlanMode; Calico rejects it. podpath uses IPIP.', spec, 'vxlanMode');
  const encapsulation = ipip !== 'Never' ? 'IPIP' : vxlan !== 'Never' ? 'VXLAN' : 'None';
  const blockSize = (spec.blockSize as number | undefined) ?? calicoDefaults.blockSize;
  if (typeof blockSize !== 'number' || blockSize < 20 || blockSize > 32) r.report('PP013', 'error', 'blockSize must be an integer from 20 to 32.', spec, 'blockSize');
  return {
    podCIDR: cidr,
    cni: {
      plugin: 'calico',
      encapsulation,
      crossSubnet: (encapsulation === 'IPIP' ? ipip : vxlan) === 'CrossSubnet',
      natOutgoing: spec.natOutgoing === true,
      blockSize: typeof blockSize === 'number' ? blockSize : calicoDefaults.blockSize,
      vni: calicoDefaults.vni,
      port: calicoDefaults.port,
      mtu: calicoDefaults[encapsulation].mtu,
      device: calicoDefaults[encapsulation].device,
      bridge: '',
    },
  };
}

/** Apply a CNI choice to the settings (the pod network and kube-proxy's local-traffic detector). */
export function applyCni(s: ClusterSettings, c: CniChoice) {
  const old = s.podCIDR;
  s.cni = c.cni;
  if (c.podCIDR) {
    s.podCIDR = c.podCIDR;
    if (s.kubeProxy.clusterCIDR === old) s.kubeProxy = { ...s.kubeProxy, clusterCIDR: c.podCIDR };
  }
}

