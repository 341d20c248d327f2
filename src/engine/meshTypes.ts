// Istio traffic management (networking.istio.io v1 / v1beta1 / v1alpha3, security.istio.io):
// the engine's data shapes for the mesh, re-exported by types.ts.

import type { SourceRef } from './types.ts';

/** exact / prefix / regex (RE2, whole string) — Istio's StringMatch. */
export type StringMatch = { exact: string } | { prefix: string } | { regex: string };

export interface HttpMatchInfo {
  name?: string;
  uri?: StringMatch;
  ignoreUriCase: boolean;
  method?: StringMatch;
  authority?: StringMatch;
  scheme?: StringMatch;
  /** Header name (lower case) → match; null: the header only has to be present. */
  headers: Record<string, StringMatch | null>;
  withoutHeaders: Record<string, StringMatch | null>;
  queryParams: Record<string, StringMatch | null>;
  port?: number;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  gateways?: string[];
}

export interface HttpRouteDestination {
  host: string;
  subset?: string;
  port?: number;
  /** Relative weight; Istio treats a lone destination without weight as 100. */
  weight: number;
}

export interface HttpRouteInfo {
  name?: string;
  /** Empty: matches every request. Blocks are ORed, conditions inside a block ANDed. */
  match: HttpMatchInfo[];
  route: HttpRouteDestination[];
  fault?: { delay?: { ms: number; percent: number }; abort?: { status: number; percent: number } };
  /** Route timeout in ms; undefined: none (Istio disables Envoy's 15 s default). */
  timeoutMs?: number;
  retries?: { attempts: number; perTryTimeoutMs?: number; retryOn?: string };
  mirror?: { host: string; subset?: string; percent: number };
  redirect?: { uri?: string; authority?: string; code: number };
  directResponse?: { status: number };
  rewrite?: { uri?: string; authority?: string };
  source: SourceRef;
}

/** A VirtualService tcp route: L4 match (ports, subnets, source) and weighted destinations. */
export interface TcpRouteInfo {
  /** Empty: every connection. Blocks are ORed, conditions inside a block ANDed. */
  match: { port?: number; destinationSubnets: string[]; sourceLabels?: Record<string, string>; sourceNamespace?: string; gateways?: string[] }[];
  route: HttpRouteDestination[];
  source: SourceRef;
}

export interface VirtualServiceInfo {
  namespace: string;
  name: string;
  hosts: string[];
  /** Empty: "mesh" (every sidecar). */
  gateways: string[];
  http: HttpRouteInfo[];
  tcp: TcpRouteInfo[];
  exportTo: string[];
  source: SourceRef;
}

export interface TrafficPolicyInfo {
  loadBalancer?: string;
  tlsMode?: string;
  /** Envoy's circuit breakers for the cluster (each unset one: 2^32−1) and connection reuse. */
  connectionPool?: { http1MaxPendingRequests?: number; http2MaxRequests?: number; maxRequestsPerConnection?: number; maxRetries?: number; tcpMaxConnections?: number };
  outlierDetection?: { consecutive5xxErrors?: number; consecutiveGatewayErrors?: number; intervalMs?: number; baseEjectionTimeMs?: number; maxEjectionPercent?: number; minHealthPercent?: number };
  /** portLevelSettings: a port's own policy, merged over the rest for that port. */
  portLevel?: { port: number; policy: TrafficPolicyInfo }[];
}

export interface DestinationRuleInfo {
  namespace: string;
  name: string;
  host: string;
  subsets: { name: string; labels: Record<string, string>; trafficPolicy?: TrafficPolicyInfo }[];
  trafficPolicy?: TrafficPolicyInfo;
  exportTo: string[];
  source: SourceRef;
}

export interface GatewayInfo {
  namespace: string;
  name: string;
  selector: Record<string, string>;
  servers: { port: number; portName: string; protocol: string; hosts: string[] }[];
  source: SourceRef;
}

/** A ServiceEntry: hosts outside (or inside) the mesh added to Istio's service registry. */
export interface ServiceEntryInfo {
  namespace: string;
  name: string;
  hosts: string[];
  addresses: string[];
  /** targetPort: where the endpoints listen, when not on the port itself. */
  ports: { number: number; name: string; protocol: string; targetPort?: number }[];
  location: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  resolution: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  endpoints: { address: string; labels: Record<string, string> }[];
  source: SourceRef;
}

export interface PeerAuthenticationInfo {
  namespace: string;
  name: string;
  /** Empty: every workload of the namespace (or of the mesh, in the root namespace istio-system). */
  selector: Record<string, string>;
  mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE' | 'UNSET';
  source: SourceRef;
}

export interface MeshConfig {
  virtualServices: VirtualServiceInfo[];
  destinationRules: DestinationRuleInfo[];
  gateways: GatewayInfo[];
  serviceEntries: ServiceEntryInfo[];
  peerAuthentications: PeerAuthenticationInfo[];
  /** meshConfig.outboundTrafficPolicy.mode (ConfigMap istio-system/istio, key mesh): ALLOW_ANY by default. */
  outboundTrafficPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY';
}
