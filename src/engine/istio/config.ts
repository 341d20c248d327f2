// istio-iptables' configuration: tools/common/config/config.go (Config, DefaultConfig) and the
// env defaults of tools/istio-iptables/pkg/constants/constants.go.

/** tools/common/config.Config: the fields that shape the rules (Go names, as params.yaml writes them). */
export interface IstioCaptureConfig {
  ProxyPort: string;
  InboundCapturePort: string;
  InboundTunnelPort: string;
  /** Comma lists: one set of owner rules per UID / GID. */
  ProxyUID: string;
  ProxyGID: string;
  /** "TPROXY", or "REDIRECT" ("" behaves as REDIRECT: run.go only tests for "TPROXY"). */
  InboundInterceptionMode: string;
  InboundTProxyMark: string;
  /** Used only by the policy-routing commands (ip rule / ip route), not by any iptables rule. */
  InboundTProxyRouteTable: string;
  InboundPortsInclude: string;
  InboundPortsExclude: string;
  OutboundIPRangesInclude: string;
  OutboundIPRangesExclude: string;
  OutboundPortsInclude: string;
  OutboundPortsExclude: string;
  RerouteVirtualInterfaces: string;
  ExcludeInterfaces: string;
  RedirectDNS: boolean;
  CaptureAllDNS: boolean;
  DNSServersV4: string[];
  DNSServersV6: string[];
  EnableIPv6: boolean;
  OwnerGroupsInclude: string;
  OwnerGroupsExclude: string;
  HostIPv4LoopbackCidr: string;
  DropInvalid: boolean;
  /** No effect on the rules. */
  DryRun: boolean;
  /** CNI only (ISTIO_DUAL_STACK): how EnableIPv6 is detected; no effect on the rules. */
  DualStack: boolean;
}

/** Every field at its Go zero value. */
export function zeroCaptureConfig(): IstioCaptureConfig {
  return {
    ProxyPort: '', InboundCapturePort: '', InboundTunnelPort: '', ProxyUID: '', ProxyGID: '',
    InboundInterceptionMode: '', InboundTProxyMark: '', InboundTProxyRouteTable: '',
    InboundPortsInclude: '', InboundPortsExclude: '', OutboundIPRangesInclude: '', OutboundIPRangesExclude: '',
    OutboundPortsInclude: '', OutboundPortsExclude: '', RerouteVirtualInterfaces: '', ExcludeInterfaces: '',
    RedirectDNS: false, CaptureAllDNS: false, DNSServersV4: [], DNSServersV6: [], EnableIPv6: false,
    OwnerGroupsInclude: '', OwnerGroupsExclude: '', HostIPv4LoopbackCidr: '', DropInvalid: false, DryRun: false, DualStack: false,
  };
}

/** config.DefaultConfig() (tools/common/config/config.go); OwnerGroupsInclude and HostIPv4LoopbackCidr are the env defaults (constants.go). */
export function defaultCaptureConfig(): IstioCaptureConfig {
  return {
    ...zeroCaptureConfig(),
    ProxyPort: '15001',
    InboundCapturePort: '15006',
    InboundTunnelPort: '15008',
    InboundTProxyMark: '1337',
    InboundTProxyRouteTable: '133',
    OwnerGroupsInclude: '*',
    OwnerGroupsExclude: '',
    HostIPv4LoopbackCidr: '127.0.0.1/32',
  };
}

/** tools/istio-iptables/pkg/config Split: comma list, empty items dropped, items not trimmed. */
export function splitList(s: string): string[] {
  return s === '' ? [] : s.split(',').filter((x) => x !== '');
}

