// The istio-cni plugin in sidecar mode: from a pod's annotations and its istio-proxy container's
// environment to the istio-iptables Config it programs in the pod's network namespace.
// Sources (istio/istio): cni/pkg/plugin/sidecar_redirect.go (annotation keys, defaults,
// validation, NewRedirect), cni/pkg/plugin/sidecar_iptables_linux.go (Program: Redirect → Config),
// tools/common/config/config.go (DefaultConfig, FillConfigFromEnvironment).

import { defaultCaptureConfig, type IstioCaptureConfig } from './config.ts';
import { parseAddr, parsePrefix } from './netip.ts';

export interface SidecarPodInfo {
  annotations: Record<string, string>;
  /** The istio-proxy container's environment (ISTIO_META_DNS_CAPTURE, ISTIO_DUAL_STACK, INVALID_DROP). */
  proxyEnv?: Record<string, string>;
  /** istio-proxy securityContext runAsUser / runAsGroup (unset or 0: 1337). */
  proxyUID?: number;
  proxyGID?: number;
  /** The pod's addresses in interface order: EnableIPv6 follows the first usable one. */
  podIPs?: string[];
  /** The plugin's own environment: ISTIO_OUTBOUND_OWNER_GROUPS(_EXCLUDE), ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR. */
  pluginEnv?: Record<string, string>;
}

// sidecar_redirect.go: annotation keys (istio.io/api annotation names).
const KEY = {
  redirectMode: 'sidecar.istio.io/interceptionMode',
  includeIPCidrs: 'traffic.sidecar.istio.io/includeOutboundIPRanges',
  excludeIPCidrs: 'traffic.sidecar.istio.io/excludeOutboundIPRanges',
  excludeInboundPorts: 'traffic.sidecar.istio.io/excludeInboundPorts',
  includeInboundPorts: 'traffic.sidecar.istio.io/includeInboundPorts',
  excludeOutboundPorts: 'traffic.sidecar.istio.io/excludeOutboundPorts',
  includeOutboundPorts: 'traffic.sidecar.istio.io/includeOutboundPorts',
  excludeInterfaces: 'traffic.sidecar.istio.io/excludeInterfaces',
  kubevirtInterfaces: 'traffic.sidecar.istio.io/kubevirtInterfaces',
  rerouteVirtualInterfaces: 'istio.io/reroute-virtual-interfaces',
} as const;

/** strconv.ParseBool; undefined when the text is not a Go boolean. */
function parseBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** parsePorts: the whole list trimmed, each item trimmed and a 16-bit decimal. */
function validPortList(s: string): boolean {
  const t = s.trim();
  return t === '' || t.split(',').every((p) => /^\d+$/.test(p.trim()) && Number(p.trim()) <= 65535);
}
const validPortListWithWildcard = (s: string) => s === '*' || validPortList(s);
/** validateCIDRList: every comma item (not trimmed) must parse with netip.ParsePrefix. */
const validCIDRList = (s: string) => s === '' || s.split(',').every((c) => parsePrefix(c) !== undefined);
const validCIDRListWithWildcard = (s: string) => s === '*' || validCIDRList(s);
const validInterceptionMode = (s: string) => s === 'REDIRECT' || s === 'TPROXY';

/**
 * getAnnotationOrDefault: the annotation when present (an invalid value is an error: NewRedirect
 * fails and the plugin does not set up the pod), else the plugin's default.
 */
function annotationOr(pod: SidecarPodInfo, key: string, dflt: string, valid: (v: string) => boolean): { found: boolean; value: string } {
  const v = pod.annotations[key];
  if (v === undefined) return { found: false, value: dflt };
  if (!valid(v)) throw new Error(`annotation value error for ${key}: ${JSON.stringify(v)}`);
  return { found: true, value: v };
}

/** dedupPorts(splitPorts(...)): first occurrence kept. */
const dedup = (items: string[]) => items.filter((x, i) => items.indexOf(x) === i);

/**
 * The Config the CNI plugin programs for a sidecar pod: config.DefaultConfig(), then the plugin's
 * annotation defaults (sidecar_redirect.go: outbound "*", inbound "*" minus 15020/15021/15090,
 * outbound port 15020 excluded unless annotated, UID/GID 1337), copied as Program() does, then
 * FillConfigFromEnvironment (owner groups and loopback CIDR from the plugin's environment,
 * EnableIPv6 from the pod's first address). DNS capture from the proxy's ISTIO_META_DNS_CAPTURE
 * is always capture-all: the plugin cannot read the pod's resolv.conf.
 */
export function sidecarCaptureConfig(pod: SidecarPodInfo): IstioCaptureConfig {
  const env = pod.proxyEnv ?? {};
  const cfg = defaultCaptureConfig();
  cfg.ProxyPort = '15001'; // defaultRedirectToPort
  cfg.InboundInterceptionMode = annotationOr(pod, KEY.redirectMode, 'REDIRECT', validInterceptionMode).value;
  cfg.ProxyUID = pod.proxyUID ? String(pod.proxyUID) : '1337';
  cfg.ProxyGID = pod.proxyGID ? String(pod.proxyGID) : '1337';
  cfg.OutboundIPRangesInclude = annotationOr(pod, KEY.includeIPCidrs, '*', validCIDRListWithWildcard).value;
  cfg.OutboundIPRangesExclude = annotationOr(pod, KEY.excludeIPCidrs, '', validCIDRList).value;
  // The status port (15020) is the default exclusion; 15020, 15021 and 15090 are always appended
  // ("to sync with the non-CNI injection template"), duplicates dropped.
  let excludeInbound = annotationOr(pod, KEY.excludeInboundPorts, '15020', validPortListWithWildcard).value.trim();
  if (excludeInbound.length > 0 && !excludeInbound.endsWith(',')) excludeInbound += ',';
  cfg.InboundPortsExclude = dedup(`${excludeInbound}15020,15021,15090`.split(',')).join(',');
  cfg.InboundPortsInclude = annotationOr(pod, KEY.includeInboundPorts, '*', validPortListWithWildcard).value;
  cfg.OutboundPortsExclude = annotationOr(pod, KEY.excludeOutboundPorts, '15020', validPortListWithWildcard).value;
  cfg.OutboundPortsInclude = annotationOr(pod, KEY.includeOutboundPorts, '', validPortListWithWildcard).value;
  // Interface names are checked against the host by the plugin; not modelled.
  cfg.ExcludeInterfaces = annotationOr(pod, KEY.excludeInterfaces, '', () => true).value;
  // The deprecated kubevirtInterfaces only counts when reroute-virtual-interfaces is absent.
  const reroute = annotationOr(pod, KEY.rerouteVirtualInterfaces, '', () => true);
  cfg.RerouteVirtualInterfaces = reroute.found ? reroute.value : annotationOr(pod, KEY.kubevirtInterfaces, '', () => true).value;
  // Unparsable booleans count as false (the plugin only logs a warning).
  const flag = (name: string) => (env[name] === undefined ? false : parseBool(env[name]) ?? false);
  const dns = flag('ISTIO_META_DNS_CAPTURE');
  cfg.RedirectDNS = dns;
  cfg.CaptureAllDNS = dns;
  cfg.DualStack = flag('ISTIO_DUAL_STACK');
  cfg.DropInvalid = flag('INVALID_DROP');
  cfg.DryRun = false;

  // FillConfigFromEnvironment (config.go), in the pod's namespace.
  const penv = pod.pluginEnv ?? {};
  cfg.OwnerGroupsInclude = penv.ISTIO_OUTBOUND_OWNER_GROUPS ?? '*';
  cfg.OwnerGroupsExclude = penv.ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE ?? '';
  cfg.HostIPv4LoopbackCidr = penv.ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR ?? '127.0.0.1/32';
  cfg.EnableIPv6 = detectIPv6(pod.podIPs ?? [], cfg.DualStack);
  return cfg;
}

/**
 * config.go getLocalIP: the first address that is not loopback or link-local decides (IPv4-mapped
 * counts as IPv4); with dual stack, any IPv6 address among them turns IPv6 on.
 */
function detectIPv6(ips: string[], dualStack: boolean): boolean {
  for (const ip of ips) {
    const b = parseAddr(ip);
    if (!b) continue;
    const v4 = b.length === 4 ? b : b.slice(0, 10).every((x) => x === 0) && b[10] === 255 && b[11] === 255 ? b.slice(12) : undefined;
    if (v4) {
      if (v4[0] === 127 || (v4[0] === 169 && v4[1] === 254) || (v4[0] === 224 && v4[1] === 0 && v4[2] === 0)) continue;
      if (!dualStack) return false;
      continue;
    }
    const loop = b.slice(0, 15).every((x) => x === 0) && b[15] === 1;
    const linkLocal = b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
    const llMulticast = b[0] === 0xff && (b[1]! & 0x0f) === 0x02;
    if (loop || linkLocal || llMulticast) continue;
    return true;
  }
  return false;
}
