// Which pod network the manifests describe, read from the objects each CNI is configured by:
//   flannel: the ConfigMap kube-flannel-cfg, key net-conf.json ({"Network", "Backend": {"Type":
//     "vxlan" | "host-gw", "VNI", "Port"}}) — flannel-io/flannel Documentation/configuration.md;
//   Calico: an IPPool (crd.projectcalico.org/v1 or projectcalico.org/v3) with cidr, blockSize,
//     ipipMode / vxlanMode (Always | CrossSubnet | Never) and natOutgoing — Calico's IPPool reference.
//   Cilium: the ConfigMap cilium-config (kube-system) the Helm chart writes — routing-mode,
//     tunnel-protocol, kube-proxy-replacement, enable-ipv4-masquerade, enable-bpf-masquerade,
//     ipv4-native-routing-cidr, cluster-pool-ipv4-cidr / -mask-size (cilium/cilium
//     install/kubernetes/cilium/templates/cilium-configmap.yaml; pkg/defaults/defaults.go).
// Without any, the cluster runs flannel VXLAN (kubeadm's hands-on default).

import type { ClusterSettings, CniSettings } from '../types.ts';
import { flannelDefaults } from '../dataplane/flannel.ts';
import { calicoDefaults } from '../dataplane/calico.ts';
import { ciliumDefaults } from '../dataplane/cilium.ts';
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

export function ciliumFromConfigMap(r: DocReader, meta: ObjectMeta): CniChoice | undefined {
  const data = r.map(meta.raw, 'data') ?? {};
  const get = (key: string): string | undefined => {
    const v = data[key];
    return v === undefined || v === null ? undefined : String(v);
  };
  const bool = (key: string, dflt: boolean) => {
    const v = get(key);
    if (v === undefined) return dflt;
    if (v !== 'true' && v !== 'false') r.report('PP013', 'error', `${key} must be "true" or "false" (found "${v}").`, data, key);
    return v === 'true';
  };
  // routing-mode / tunnel-protocol (Cilium ≥ 1.14); the older "tunnel" key was removed in 1.15.
  let routing = get('routing-mode');
  let protocol = get('tunnel-protocol');
  const legacy = get('tunnel');
  if (legacy !== undefined) {
    r.report('PP004', 'warning', `"tunnel: ${legacy}" was replaced by routing-mode and tunnel-protocol (deprecated in Cilium 1.14, removed in 1.15); podpath reads it as ${legacy === 'disabled' ? 'routing-mode: native' : `routing-mode: tunnel, tunnel-protocol: ${legacy}`}.`, data, 'tunnel');
    if (routing === undefined) routing = legacy === 'disabled' ? 'native' : 'tunnel';
    if (protocol === undefined && legacy !== 'disabled') protocol = legacy;
  }
  routing ??= 'tunnel';
  protocol ??= 'vxlan';
  if (routing !== 'tunnel' && routing !== 'native') {
    r.report('PP013', 'error', `routing-mode must be tunnel or native (found "${routing}").`, data, 'routing-mode');
    routing = 'tunnel';
  }
  if (protocol !== 'vxlan' && protocol !== 'geneve') {
    r.report('PP013', 'error', `tunnel-protocol must be vxlan or geneve (found "${protocol}").`, data, 'tunnel-protocol');
    protocol = 'vxlan';
  }
  // kube-proxy-replacement: "true" | "false" since 1.15 (strict ≈ true; partial / probe / disabled are gone).
  let kpr = get('kube-proxy-replacement') ?? 'false';
  if (kpr === 'strict' || kpr === 'disabled' || kpr === 'partial' || kpr === 'probe') {
    r.report('PP004', 'warning', `kube-proxy-replacement "${kpr}" was removed in Cilium 1.15 (use "true" or "false"); podpath reads it as "${kpr === 'strict' ? 'true' : 'false'}".`, data, 'kube-proxy-replacement');
    kpr = kpr === 'strict' ? 'true' : 'false';
  } else if (kpr !== 'true' && kpr !== 'false') {
    r.report('PP013', 'error', `kube-proxy-replacement must be "true" or "false" (found "${kpr}").`, data, 'kube-proxy-replacement');
    kpr = 'false';
  }
  const kubeProxyReplacement = kpr === 'true';
  const pool = get('cluster-pool-ipv4-cidr') ?? ciliumDefaults.clusterPool;
  if (!parseCidr(pool)) {
    r.report('PP013', 'error', `cluster-pool-ipv4-cidr must be an IPv4 CIDR (found "${pool}").`, data, 'cluster-pool-ipv4-cidr');
    return undefined;
  }
  const maskSize = Number(get('cluster-pool-ipv4-mask-size') ?? ciliumDefaults.maskSize);
  if (!Number.isInteger(maskSize) || maskSize < parseCidr(pool)!.bits || maskSize > 30) {
    r.report('PP013', 'error', `cluster-pool-ipv4-mask-size must be an integer from the pool's prefix length to 30.`, data, 'cluster-pool-ipv4-mask-size');
    return undefined;
  }
  const nativeRoutingCIDR = get('ipv4-native-routing-cidr') ?? '';
  if (nativeRoutingCIDR && !parseCidr(nativeRoutingCIDR)) r.report('PP013', 'error', `ipv4-native-routing-cidr must be an IPv4 CIDR (found "${nativeRoutingCIDR}").`, data, 'ipv4-native-routing-cidr');
  const masquerade = bool('enable-ipv4-masquerade', true);
  if (routing === 'native') {
    if (!bool('auto-direct-node-routes', false)) r.report('PP004', 'warning', 'routing-mode native without auto-direct-node-routes: "true" leaves routing pod CIDRs to the network (BGP, a cloud router). podpath installs the direct routes Cilium would write with auto-direct-node-routes.', data, get('auto-direct-node-routes') === undefined ? undefined : 'auto-direct-node-routes');
    if (masquerade && !nativeRoutingCIDR) r.report('PP013', 'error', 'routing-mode native with IPv4 masquerade needs ipv4-native-routing-cidr (the agent refuses to start without it).', data, 'routing-mode');
  }
  if (get('enable-bpf-masquerade') === 'true') r.report('PP004', 'warning', 'enable-bpf-masquerade: "true" (BPF masquerade, and with it BPF host routing) is not modelled yet: podpath traces the chart default — legacy host routing with iptables masquerade (CILIUM_POST_nat).', data, 'enable-bpf-masquerade');
  if (get('bpf-lb-mode') !== undefined && get('bpf-lb-mode') !== 'snat') r.report('PP004', 'warning', `bpf-lb-mode "${get('bpf-lb-mode')}" (DSR / hybrid) is not modelled: podpath traces NodePorts in the default snat mode.`, data, 'bpf-lb-mode');
  const tunnel = routing === 'tunnel' ? ciliumDefaults[protocol as 'vxlan' | 'geneve'] : undefined;
  const port = Number(get('tunnel-port') ?? tunnel?.port ?? 0);
  return {
    podCIDR: pool,
    cni: {
      plugin: 'cilium',
      routing: routing as 'tunnel' | 'native',
      tunnelProtocol: protocol as 'vxlan' | 'geneve',
      kubeProxyReplacement,
      socketLB: get('bpf-lb-sock') !== undefined ? bool('bpf-lb-sock', kubeProxyReplacement) : kubeProxyReplacement,
      masquerade,
      bpfMasquerade: bool('enable-bpf-masquerade', false),
      nativeRoutingCIDR: parseCidr(nativeRoutingCIDR) ? nativeRoutingCIDR : '',
      maskSize,
      vni: 0,
      port,
      mtu: tunnel ? 1500 - ciliumDefaults.tunnelOverhead : 1500,
      device: tunnel?.device ?? '',
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

