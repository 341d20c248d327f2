// The service registry a sidecar sees, as istiod builds it for proxy-config (proxyConfig.ts):
// Kubernetes Services and ServiceEntry hosts with their ports, protocols and endpoints, and the
// ports this pod serves itself. Derived with mesh/routing.ts's helpers, so the tables and the trace
// cannot disagree on a service or an endpoint.
//
// Sources (istio/istio):
// - pkg/config/protocol/instance.go Parse, pilot/pkg/serviceregistry/kube/conversion.go (a port's
//   protocol from its name).
// - pilot/pkg/serviceregistry/serviceentry/conversion.go (ServiceEntry hosts as services: a cluster
//   per host and port, typed by resolution).
// - pilot/pkg/networking/core/httproute.go (generateVirtualHostDomains: a host's domains).

import type { PodInfo, ServiceInfo, Topology } from '../types.ts';
import { portProtocol, serviceForHost, serviceFqdn, worldAddress, type PortProtocol } from './routing.ts';

export { portProtocol, type PortProtocol };


/** How Envoy finds a cluster's endpoints (the TYPE column of proxy-config clusters). */
export type ClusterType = 'EDS' | 'ORIGINAL_DST' | 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS';

export const ref = (o: { name: string; namespace: string }) => `${o.name}.${o.namespace}`;
export const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A ServiceEntry port's protocol (its `protocol` field, istio/api service_entry.proto Port). */
function entryPortProtocol(protocol: string): PortProtocol {
  if (['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB'].includes(protocol)) return 'http';
  if (['TCP', 'TLS', 'HTTPS', 'MONGO', 'MYSQL', 'REDIS'].includes(protocol)) return 'tcp';
  return 'auto';
}

interface HostEndpoint {
  ip: string;
  port: number;
  labels: Record<string, string>;
  pod?: string;
}

/**
 * One host of the service registry a sidecar sees (pilot/pkg/model.Service): a Kubernetes Service
 * ("<name>.<ns>.svc.<domain>") or a ServiceEntry host, with its ports and endpoints per port.
 */
export interface RegistryHost {
  fqdn: string;
  namespace: string;
  /** The address a TCP listener binds: the ClusterIP, or the ServiceEntry's first address. */
  vip?: string;
  ports: { port: number; protocol: PortProtocol }[];
  type: ClusterType;
  domains: (proxyNamespace: string) => string[];
  /** The endpoints EDS (or DNS) gives a cluster of this port; none for ORIGINAL_DST. */
  endpoints: (port: number) => HostEndpoint[];
}

export function registry(t: Topology): RegistryHost[] {
  const d = t.settings.clusterDomain;
  const pods = new Map(t.nodes.flatMap((n) => n.pods).map((p) => [p.id, p]));
  const out: RegistryHost[] = [];
  for (const svc of t.services) {
    const vip = svc.clusterIP !== '' && svc.clusterIP !== 'None' ? svc.clusterIP : undefined;
    const ports = svc.ports.filter((p) => p.protocol === 'TCP');
    if (!ports.length) continue;
    out.push({
      fqdn: serviceFqdn(svc, d),
      namespace: svc.namespace,
      vip,
      ports: ports.map((p) => ({ port: p.port, protocol: portProtocol(p) })),
      type: svc.type === 'ExternalName' ? 'STRICT_DNS' : vip ? 'EDS' : 'ORIGINAL_DST',
      domains: (ns) => virtualHostDomains(svc, ns, d),
      // The ready endpoints of the port (routing.ts picks from the same list).
      endpoints: (port) => {
        if (!vip) return [];
        const sp = ports.find((p) => p.port === port)!;
        return svc.endpoints.filter((e) => e.ready && e.portName === sp.name).map((e) => {
          const p = e.podId ? pods.get(e.podId) : undefined;
          return { ip: e.ip, port: e.port, labels: p?.labels ?? {}, ...(p ? { pod: p.id } : {}) };
        });
      },
    });
  }
  // ServiceEntry hosts (serviceentry/conversion.go convertServices): a cluster per host and port,
  // resolved as the entry says (NONE: the original destination; STATIC: its endpoints; DNS: Envoy
  // resolves the endpoints' names, or the host itself).
  for (const se of t.mesh.serviceEntries ?? []) {
    for (const host of se.hosts) {
      if (serviceForHost(t, host, se.namespace) || out.some((h) => h.fqdn === host)) continue;
      const type: ClusterType = se.resolution === 'STATIC' ? 'EDS' : se.resolution === 'NONE' ? 'ORIGINAL_DST' : se.resolution === 'DNS' ? 'STRICT_DNS' : 'LOGICAL_DNS';
      out.push({
        fqdn: host,
        namespace: se.namespace,
        vip: se.addresses[0],
        ports: se.ports.map((p) => ({ port: p.number, protocol: entryPortProtocol(p.protocol) })),
        type,
        domains: () => [host, ...se.addresses],
        endpoints: (port) => {
          if (type === 'ORIGINAL_DST') return [];
          // targetPort: where the endpoints listen. A DNS host without endpoints: the TEST-NET-1
          // stand-in routing.ts uses for its DNS answer (podpath has no Internet).
          const to = se.ports.find((p) => p.number === port)?.targetPort ?? port;
          const eps = se.endpoints.map((e) => ({ ip: e.address, port: to, labels: e.labels }));
          return eps.length || type === 'EDS' ? eps : [{ ip: host.startsWith('*') ? host : worldAddress(host), port: to, labels: {} }];
        },
      });
    }
  }
  return out.sort((a, b) => cmp(a.fqdn, b.fqdn));
}

/**
 * generateVirtualHostDomains: the FQDN; the short name when the service is in the proxy's
 * namespace; "<name>.<namespace>" and "<name>.<namespace>.svc"; the VIP. Ports are not added:
 * Istio ignores the port in the Host header for sidecars (SIDECAR_IGNORE_PORT_IN_HOST_MATCH).
 */
export function virtualHostDomains(svc: ServiceInfo, proxyNamespace: string, domain: string): string[] {
  const out = [serviceFqdn(svc, domain)];
  if (svc.namespace === proxyNamespace) out.push(svc.name);
  out.push(`${svc.name}.${svc.namespace}.svc`, `${svc.name}.${svc.namespace}`);
  if (svc.clusterIP !== '' && svc.clusterIP !== 'None') out.push(svc.clusterIP);
  return out;
}

/** Services whose endpoints include this pod: the ports its inbound listener and clusters serve. */
export function inboundPorts(t: Topology, pod: PodInfo): { port: number; protocol: PortProtocol; servicePort: number }[] {
  const seen = new Map<number, { port: number; protocol: PortProtocol; servicePort: number }>();
  for (const svc of t.services) {
    for (const e of svc.endpoints) {
      if (e.podId !== pod.id || e.protocol !== 'TCP' || seen.has(e.port)) continue;
      const sp = svc.ports.find((p) => p.name === e.portName) ?? svc.ports[0];
      seen.set(e.port, { port: e.port, protocol: sp ? portProtocol(sp) : 'auto', servicePort: sp?.port ?? e.port });
    }
  }
  return [...seen.values()].sort((a, b) => a.port - b.port);
}
