// The engine's public data shapes. Everything that crosses the Worker boundary is one of these:
// plain, structured-clonable data (no classes, no functions, no Maps).

import type { DiagnosticCode } from './model/diagnostics.ts';
import type { MeshConfig } from './meshTypes.ts';

export type * from './meshTypes.ts';
import type { AppBehaviorInfo } from './mesh/apps.ts';
import type { LegacyTranslation } from './mesh/legacyView.ts';

/** Where in the user's text an object or field came from. Lines and columns are 1-based. */
export interface SourceRef {
  /** 0-based index of the YAML document in the multi-document text. */
  doc: number;
  line: number;
  col: number;
}

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic extends SourceRef {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// Topology: what the diagram draws. Element ids are stable strings built by `ids` in ids.ts.

/** vtep: a VXLAN device (flannel.1, vxlan.calico); ipip: an IP-in-IP tunnel (Calico's tunl0). */
export type InterfaceKind = 'eth' | 'bridge' | 'vtep' | 'ipip' | 'veth';

export interface NetInterface {
  id: string;
  name: string;
  kind: InterfaceKind;
  /** CIDR notation for addressed interfaces, e.g. "10.244.1.1/24". */
  address?: string;
  mac: string;
  mtu: number;
}

export interface RouteEntry {
  dst: string;
  via?: string;
  dev: string;
  onlink?: boolean;
  scope?: 'link';
  src?: string;
  /**
   * Who installed it: the kernel for connected routes, flannel for its routes, BIRD (Calico's BGP
   * daemon) for remote IPAM blocks, Felix ("proto 80") for Calico's VXLAN routes, static otherwise.
   */
  proto: 'kernel' | 'flannel' | 'static' | 'bird' | '80';
  /** "blackhole": Calico's route for the node's own IPAM block (addresses not given to a pod are dropped). */
  type?: 'blackhole';
  /** A route MTU (Cilium's tunnel routes: "mtu 1450"). */
  mtu?: number;
}

export interface NeighbourEntry {
  ip: string;
  mac: string;
  dev: string;
}

export interface FdbEntry {
  mac: string;
  dev: string;
  /** The remote VTEP's underlay address. */
  dst: string;
}

export interface Container {
  name: string;
  image: string;
  ports: { name?: string; containerPort: number; protocol: Protocol }[];
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface PodInfo {
  id: string;
  namespace: string;
  name: string;
  node: string;
  ip: string;
  mac: string;
  labels: Record<string, string>;
  containers: Container[];
  /** The owning workload, e.g. "Deployment k8snet/my-nginx", when the pod was generated. */
  owner?: string;
  /** Cilium: the pod's security identity (shared by every pod with the same identity labels). */
  identity?: number;
  annotations?: Record<string, string>;
  /** Istio: the injected istio-proxy sidecar, and why it was injected. */
  sidecar?: SidecarInfo;
  /** Host end of the pod's veth pair, attached to cni0. */
  hostVeth: NetInterface;
  /** The pod's own eth0 (the container end of the veth pair). */
  eth0: NetInterface;
  source: SourceRef;
}

export interface NodeInfo {
  id: string;
  name: string;
  ip: string;
  podCIDR: string;
  roles: string[];
  taints: string[];
  interfaces: NetInterface[];
  routes: RouteEntry[];
  neighbours: NeighbourEntry[];
  fdb: FdbEntry[];
  pods: PodInfo[];
  source?: SourceRef;
}

export interface ServicePortInfo {
  name: string;
  port: number;
  targetPort: number | string;
  protocol: Protocol;
  /** 0 when the Service has no NodePort. */
  nodePort: number;
}

export interface EndpointInfo {
  ip: string;
  port: number;
  portName: string;
  protocol: Protocol;
  /** EndpointSlice conditions (ready unset means ready; serving defaults to ready). */
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  podId?: string;
}

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

export interface ServiceInfo {
  id: string;
  namespace: string;
  name: string;
  type: ServiceType;
  /** "None" for a headless Service; "" for ExternalName. */
  clusterIP: string;
  selector: Record<string, string>;
  ports: ServicePortInfo[];
  endpoints: EndpointInfo[];
  externalIPs: string[];
  loadBalancerIPs: string[];
  loadBalancerSourceRanges: string[];
  externalTrafficPolicy: 'Cluster' | 'Local';
  internalTrafficPolicy: 'Cluster' | 'Local';
  /** Only meaningful for LoadBalancer + externalTrafficPolicy Local; 0 otherwise. */
  healthCheckNodePort: number;
  /** sessionAffinity ClientIP: the timeout in seconds. */
  affinitySeconds?: number;
  externalName?: string;
  source: SourceRef;
}

/** kube-proxy's configuration (KubeProxyConfiguration, kubeproxy.config.k8s.io/v1alpha1). */
export interface KubeProxySettings {
  /** The mode the trace walks: iptables, or ipvs (simulated); nftables is generated but walked as iptables. */
  mode: 'iptables' | 'ipvs' | 'nftables';
  masqueradeBit: number;
  masqueradeAll: boolean;
  localhostNodePorts: boolean;
  /** null: every local address. */
  nodePortAddresses: string[] | null;
  /** The local-traffic detector's CIDR; null when detectLocalMode is not ClusterCIDR-like. */
  clusterCIDR: string | null;
}

/**
 * The pod network. Common fields: the pods' MTU, the tunnel device ("" without encapsulation), the
 * bridge the pods' veths are attached to ("" for a routed, bridgeless CNI), VXLAN VNI and UDP port.
 */
export type CniSettings =
  | { plugin: 'flannel'; backend: 'vxlan' | 'host-gw'; vni: number; port: number; mtu: number; device: string; bridge: string }
  | {
      plugin: 'calico';
      /** The IPPool's encapsulation: ipipMode / vxlanMode Always (or CrossSubnet), or neither (BGP-routed). */
      encapsulation: 'IPIP' | 'VXLAN' | 'None';
      crossSubnet: boolean;
      natOutgoing: boolean;
      /** IPAM block size (the IPPool's blockSize, default 26). */
      blockSize: number;
      vni: number;
      port: number;
      mtu: number;
      device: string;
      bridge: '';
    }
  | {
      plugin: 'cilium';
      /** routing-mode: tunnel (VXLAN or Geneve through cilium_vxlan / cilium_geneve) or native (the node network routes pod addresses). */
      routing: 'tunnel' | 'native';
      tunnelProtocol: 'vxlan' | 'geneve';
      /** kube-proxy-replacement: Cilium's BPF programs translate Services; kube-proxy does not run. */
      kubeProxyReplacement: boolean;
      /** bpf-lb-sock: with kube-proxy replacement, a pod's connect() to a Service is translated at the socket. */
      socketLB: boolean;
      /** enable-ipv4-masquerade, and whether BPF (enable-bpf-masquerade) or iptables (CILIUM_POST_nat) does it. */
      masquerade: boolean;
      bpfMasquerade: boolean;
      /** ipv4-native-routing-cidr: destinations inside it are not masqueraded (defaults to the pod CIDR). */
      nativeRoutingCIDR: string;
      /** cluster-pool-ipv4-mask-size: each node's pod CIDR. */
      maskSize: number;
      /** The VNI is the sender's security identity, per packet; 0 here. */
      vni: number;
      port: number;
      mtu: number;
      device: string;
      bridge: '';
    };

export interface ClusterSettings {
  podCIDR: string;
  serviceCIDR: string;
  nodeNetwork: string;
  dnsIP: string;
  clusterDomain: string;
  cni: CniSettings;
  kubeProxy: KubeProxySettings;
}

export interface Topology {
  settings: ClusterSettings;
  nodes: NodeInfo[];
  services: ServiceInfo[];
  /** Namespaces present (declared or used). */
  namespaces: string[];
  /** Each namespace's labels, with kubernetes.io/metadata.name set as the API server sets it. */
  namespaceLabels: Record<string, Record<string, string>>;
  policies: NetworkPolicyInfo[];
  /** Istio's traffic-management objects (networking.istio.io). */
  mesh: MeshConfig;
  /** What the applications do with a request (AppBehavior objects, podpath.dev; mesh/apps.ts). */
  apps?: AppBehaviorInfo[];
}

/** An injected Istio sidecar: Envoy runs as UID/GID 1337, and the pod's capture rules follow its annotations. */
export interface SidecarInfo {
  proxyUid: number;
  proxyGid: number;
  /** Why the injector injected it ("namespace label istio-injection=enabled", …). */
  reason: string;
  /** The pod annotations that change the capture rules (traffic.sidecar.istio.io/*, sidecar.istio.io/interceptionMode). */
  captureAnnotations: Record<string, string>;
}


export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values: string[] }[];
}

export interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except: string[] };
}

export interface PolicyPort {
  protocol: Protocol;
  /** A number, a named container port, or undefined for every port. */
  port?: number | string;
  endPort?: number;
}

export interface PolicyRule {
  peers: PolicyPeer[] | 'all';
  ports: PolicyPort[] | 'all';
}

export interface NetworkPolicyInfo {
  namespace: string;
  name: string;
  podSelector: LabelSelector;
  policyTypes: ('Ingress' | 'Egress')[];
  ingress: PolicyRule[];
  egress: PolicyRule[];
  source: SourceRef;
}

// ---------------------------------------------------------------------------------------------
// Packets: one header representation per protocol, outermost first.

export interface EthernetHeader { proto: 'ethernet'; src: string; dst: string; etherType: 'IPv4' | 'ARP' }
export interface ArpHeader { proto: 'arp'; op: 'request' | 'reply'; senderMac: string; senderIp: string; targetMac: string; targetIp: string }
export interface IPv4Header {
  proto: 'ipv4';
  src: string;
  dst: string;
  ttl: number;
  /** IPIP: an IPv4 packet carried inside (IP protocol 4, Calico's tunl0). */
  protocol: 'TCP' | 'UDP' | 'ICMP' | 'IPIP';
  totalLength: number;
  /** The IPv4 "don't fragment" flag. */
  df: boolean;
  /** Identification. */
  id: number;
  /** DSCP + ECN byte. */
  tos: number;
}
export interface TcpHeader {
  proto: 'tcp';
  srcPort: number;
  dstPort: number;
  flags: string[];
  seq: number;
  ack: number;
  window: number;
  /** As tcpdump prints them: "mss 1410", "sackOK", "TS val 1 ecr 0", "nop", "wscale 7". */
  options: string[];
}
export interface UdpHeader { proto: 'udp'; srcPort: number; dstPort: number; length: number }
export interface VxlanHeader { proto: 'vxlan'; flags: number; vni: number }
/** Geneve (RFC 8926) without options: protocol type 0x6558 (an Ethernet frame follows). */
export interface GeneveHeader { proto: 'geneve'; vni: number; protocolType: number }
/** ICMP: type, code and the 4 bytes after the checksum (echo id/seq, or unused / next-hop MTU). */
export interface IcmpHeader { proto: 'icmp'; type: number; code: number; rest: number }
export interface HttpPayload { proto: 'http'; firstLine: string; headers: [string, string][] }
/** A DNS message: questions "name type", answers "name type ttl data" (A and CNAME records). */
export interface DnsPayload { proto: 'dns'; id: number; flags: number; questions: string[]; answers: string[] }
/** Bytes no decoder claimed, as hex. */
export interface RawPayload { proto: 'raw'; hex: string }

export type Header = EthernetHeader | ArpHeader | IPv4Header | TcpHeader | UdpHeader | VxlanHeader | GeneveHeader | IcmpHeader | HttpPayload | DnsPayload | RawPayload;

export interface Packet {
  headers: Header[];
  /** Bytes on the wire including every header (Ethernet without FCS). */
  length: number;
}

// ---------------------------------------------------------------------------------------------
// Flows and traces.

export interface FlowSpec {
  /** "namespace/pod" of the client pod, a node's name (a process on the node), or "external[:IPv4]". */
  from: string;
  /** host:port as the client would type it (a Service name, FQDN, ClusterIP or pod IP). */
  to: string;
  protocol: 'TCP';
  /** The HTTP request the client sends over the connection (what a sidecar's Envoy routes on). */
  http?: { method: string; path: string; headers: Record<string, string>; /** The user logged in to the entry application (Bookinfo's /login); its calls carry it. */ user?: string };
  /** Many requests at once, as `fortio load -c <connections> -n <requests> -qps 0` sends them (mesh/load.ts). */
  load?: { connections: number; requests: number };
  /** Which Flow object (if any) described it. */
  source?: SourceRef;
  name: string;
}

export type MechanismKind =
  | 'dns'
  | 'socket'
  | 'veth'
  | 'bridge'
  | 'netfilter'
  | 'conntrack'
  | 'route'
  | 'vxlan-encap'
  | 'ipip-encap'
  | 'ipip-decap'
  | 'policy'
  | 'ebpf'
  | 'envoy'
  | 'wire'
  | 'vxlan-decap'
  | 'deliver';

/** One rule the netfilter walker tested, and whether it acted. */
export interface RuleStep {
  /** iptables: "nat" or "filter"; nftables: the table, "ip kube-proxy". */
  table: string;
  chain: string;
  /** 1-based position in the chain, as `iptables -L --line-numbers` prints it. */
  ruleNumber: number;
  /** The rule exactly as `iptables-save` prints it. */
  text: string;
  matched: boolean;
  /** What happened: "jump KUBE-SVC-…", "DNAT to 10.244.2.2:80", "statistic: not taken" … */
  effect: string;
}

export interface Hop {
  index: number;
  direction: 'request' | 'reply';
  /** Diagram element id where this hop happens (a pod, an interface, a node's netfilter, the wire). */
  at: string;
  /** Node name, when the hop happens on a node. */
  node?: string;
  mechanism: {
    kind: MechanismKind;
    /** Short name: "KUBE-SEP-ABC… DNAT", "route 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink". */
    title: string;
    /** One or two sentences on why, in plain words. */
    detail: string;
    rules?: RuleStep[];
    /** Where the fact comes from (a kernel, kube-proxy or flannel source file). */
    cite?: string;
  };
  before: Packet;
  after: Packet;
}

export type Verdict =
  | { kind: 'delivered'; to: string; message: string }
  | { kind: 'rejected' | 'dropped' | 'unreachable'; at: string; message: string };

export interface Trace {
  flow: FlowSpec;
  seed: number;
  hops: Hop[];
  verdict: Verdict;
  /** The backend the connection reached, when one did. */
  backend?: { podId: string; ip: string; port: number; node: string };
}

// ---------------------------------------------------------------------------------------------

export interface Snapshot {
  /** The editor text version this snapshot was computed from. */
  version: number;
  topology: Topology;
  diagnostics: Diagnostic[];
  /** Flows to offer: Flow objects from the text, or a default one. */
  flows: FlowSpec[];
  /** Istio 0.x objects in the text, each beside the objects that replaced it (mesh/legacyView.ts). */
  legacyTranslations: LegacyTranslation[];
  /** true when the text had errors that made the model unusable (the UI keeps the last good one). */
  failed: boolean;
}
