// Name resolution as a pod's resolver does it: /etc/resolv.conf written by the kubelet with
// "search <ns>.svc.<domain> svc.<domain> <domain>" and "options ndots:5", answered by kube-dns
// (kubelet pkg/kubelet/network/dns/dns.go; Kubernetes "DNS for Services and Pods").

import type { PodInfo, ServiceInfo, Topology } from '../types.ts';
import { parseIPv4 } from '../util/ipv4.ts';
import { worldAddress } from '../mesh/routing.ts';

export type Resolution =
  | { ok: true; ip: string; port: number; service?: ServiceInfo; detail: string }
  | { ok: false; detail: string };

export function resolveTarget(t: Topology, client: PodInfo, to: string): Resolution {
  const i = to.lastIndexOf(':');
  const host = to.slice(0, i);
  const port = Number(to.slice(i + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { ok: false, detail: `"${to}" has no valid port.` };
  if (parseIPv4(host) !== undefined) {
    const service = t.services.find((s) => s.clusterIP === host);
    return { ok: true, ip: host, port, service, detail: `${host} is an IP address: no DNS lookup.` };
  }
  const domain = t.settings.clusterDomain;
  const search = [`${client.namespace}.svc.${domain}`, `svc.${domain}`, domain];
  const fqdn = host.endsWith('.');
  const name = fqdn ? host.slice(0, -1) : host;
  const dots = name.split('.').length - 1;
  // With ndots:5 a name with fewer than five dots goes through the search list first.
  const candidates = fqdn ? [name] : dots < 5 ? [...search.map((s) => `${name}.${s}`), name] : [name, ...search.map((s) => `${name}.${s}`)];
  const tried: string[] = [];
  for (const c of candidates) {
    tried.push(c);
    const m = new RegExp(`^([a-z0-9-]+)\\.([a-z0-9-]+)\\.svc\\.${domain.replace(/\./g, '\\.')}$`).exec(c);
    const svc = m && t.services.find((s) => s.name === m[1] && s.namespace === m[2]);
    if (!svc) continue;
    const misses = tried.length > 1 ? ` (${tried.slice(0, -1).join(', ')}: NXDOMAIN)` : '';
    const via = `resolv.conf: nameserver ${t.settings.dnsIP}, search ${search.join(' ')}, options ndots:5. `;
    if (svc.clusterIP === 'None') {
      const ep = svc.endpoints[0];
      if (!ep) return { ok: false, detail: `${via}${c} is a headless Service with no ready endpoints: the name has no A records.` };
      return { ok: true, ip: ep.ip, port, detail: `${via}Query ${c}${misses}: headless Service, so kube-dns answers with the pod IPs themselves (${svc.endpoints.map((e) => e.ip).join(', ')}); the client uses ${ep.ip}.` };
    }
    return { ok: true, ip: svc.clusterIP, port, service: svc, detail: `${via}Query ${c}${misses} → A ${svc.clusterIP} (the Service's ClusterIP).` };
  }
  // A ServiceEntry host: outside the cluster DNS. Istio's DNS proxy (ISTIO_META_DNS_CAPTURE) answers
  // it with the entry's address; without it the name resolves upstream — podpath has no DNS beyond
  // the cluster, so it uses the entry's address or its first static endpoint either way.
  const se = t.mesh.serviceEntries.find((e) => e.hosts.includes(name));
  const seIP = se && (se.addresses.find((a) => parseIPv4(a) !== undefined) ?? se.endpoints.map((e) => e.address).find((a) => parseIPv4(a) !== undefined));
  if (se && seIP) return { ok: true, ip: seIP, port, detail: `${name} is no cluster name (${tried.join(', ')}: NXDOMAIN) but ServiceEntry ${se.namespace}/${se.name} lists it; podpath resolves it to ${seIP}, the entry's ${se.addresses.length ? 'address' : 'endpoint'} (it has no DNS outside the cluster).` };
  // Without an address, CoreDNS forwards the name upstream ("forward . /etc/resolv.conf" in its
  // default Corefile); the Internet's answer is stood in for by a TEST-NET-1 address (mesh/routing.ts).
  if (se && se.resolution.startsWith('DNS')) {
    const world = worldAddress(name);
    return { ok: true, ip: world, port, detail: `${name} is no cluster name (${tried.join(', ')}: NXDOMAIN); kube-dns forwards it upstream, which answers for ServiceEntry ${se.namespace}/${se.name}'s host. podpath has no Internet: ${world} (TEST-NET-1) stands in for that answer.` };
  }
  return { ok: false, detail: `No Service answers to "${host}" from namespace ${client.namespace}: tried ${tried.join(', ')} — all NXDOMAIN.` };
}
