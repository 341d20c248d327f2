// Istio's sidecar traffic capture: the iptables rules istio-iptables (the istio-init container)
// and the istio-cni plugin write into a pod's network namespace, as the exact text they hand to
// iptables-restore. Sources (istio/istio): tools/istio-iptables/pkg/capture/run.go (the rules and
// their order), tools/istio-iptables/pkg/builder/iptables_builder_impl.go (how rules become
// restore input), tools/istio-iptables/pkg/constants/constants.go (chain names, built-ins, marks),
// tools/common/config/config.go (the Config fields and DefaultConfig). Conformance:
// ../shared/conformance/istio-iptables (README section 6).

import { splitList, type IstioCaptureConfig } from './config.ts';
import { formatPrefix, is4, isLoopback, parsePrefix, type NetipPrefix } from './netip.ts';

export { defaultCaptureConfig, splitList, zeroCaptureConfig, type IstioCaptureConfig } from './config.ts';
export { sidecarCaptureConfig, type SidecarPodInfo } from './sidecarRedirect.ts';

export type CaptureTable = 'filter' | 'mangle' | 'nat' | 'raw';

/** One rule as the builder keeps it: params start with "-A <chain>" or "-I <chain> <n>". */
export interface CaptureRule {
  table: CaptureTable;
  chain: string;
  params: string[];
}

export interface CaptureRules {
  ipv4: CaptureRule[];
  /** Empty unless EnableIPv6 (the builder drops every IPv6 rule otherwise). */
  ipv6: CaptureRule[];
}

// constants.go: chain names.
const OUTPUT = 'ISTIO_OUTPUT';
const OUTPUT_DNS = 'ISTIO_OUTPUT_DNS';
const INBOUND = 'ISTIO_INBOUND';
const DIVERT = 'ISTIO_DIVERT';
const TPROXY_CHAIN = 'ISTIO_TPROXY';
const REDIRECT_CHAIN = 'ISTIO_REDIRECT';
const IN_REDIRECT = 'ISTIO_IN_REDIRECT';
const DROP_CHAIN = 'ISTIO_DROP';
/** constants.go OutboundMark: Envoy's own calls to its pod IP in TPROXY mode. */
const OUTBOUND_MARK = '1338';
/** constants.go IstioAgentDNSListenerPort. */
const DNS_PORT = '15053';
/** constants.go BuiltInChainsAndTargetsMap: never declared with -N. */
const BUILTIN = new Set(['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING', 'ACCEPT', 'RETURN', 'DROP']);
/** run.go: the placeholder AppendVersionedRule replaces with the family's address. */
const VERSIONED = '\0ip';

interface NetworkRange {
  wildcard: boolean;
  cidrs: NetipPrefix[];
  hasLoopback: boolean;
}

/**
 * run.go separateV4V6: "*" is a wildcard for both families; otherwise each item is parsed with
 * netip.ParsePrefix and sorted by family (IPv4-mapped IPv6 counts as IPv6). Unparsable items are
 * skipped ("Ignoring error for bug compatibility"), so a bare address without "/bits" is ignored.
 */
function separateV4V6(list: string): [NetworkRange, NetworkRange] {
  if (list === '*') return [{ wildcard: true, cidrs: [], hasLoopback: false }, { wildcard: true, cidrs: [], hasLoopback: false }];
  const v4: NetworkRange = { wildcard: false, cidrs: [], hasLoopback: false };
  const v6: NetworkRange = { wildcard: false, cidrs: [], hasLoopback: false };
  for (const item of splitList(list)) {
    const p = parsePrefix(item);
    if (!p) continue;
    const r = is4(p.bytes) ? v4 : v6;
    r.cidrs.push(p);
    if (isLoopback(p.bytes)) r.hasLoopback = true;
  }
  return [v4, v6];
}

/** iptables_builder_impl.go: AppendRule / InsertRule go to both families; the V6 variants only with EnableIPv6. */
class Builder {
  readonly ipv4: CaptureRule[] = [];
  readonly ipv6: CaptureRule[] = [];
  constructor(private readonly ipv6On: boolean) {}
  appendV4(chain: string, table: CaptureTable, ...params: string[]) {
    this.ipv4.push({ table, chain, params: ['-A', chain, ...params] });
  }
  appendV6(chain: string, table: CaptureTable, ...params: string[]) {
    if (this.ipv6On) this.ipv6.push({ table, chain, params: ['-A', chain, ...params] });
  }
  append(chain: string, table: CaptureTable, ...params: string[]) {
    this.appendV4(chain, table, ...params);
    this.appendV6(chain, table, ...params);
  }
  /** AppendVersionedRule: the same rule with an IPv4 and an IPv6 value in the VERSIONED slot. */
  appendVersioned(v4: string, v6: string, chain: string, table: CaptureTable, ...params: string[]) {
    this.appendV4(chain, table, ...params.map((p) => (p === VERSIONED ? v4 : p)));
    this.appendV6(chain, table, ...params.map((p) => (p === VERSIONED ? v6 : p)));
  }
  insertV4(chain: string, table: CaptureTable, pos: number, ...params: string[]) {
    this.ipv4.push({ table, chain, params: ['-I', chain, String(pos), ...params] });
  }
  insertV6(chain: string, table: CaptureTable, pos: number, ...params: string[]) {
    if (this.ipv6On) this.ipv6.push({ table, chain, params: ['-I', chain, String(pos), ...params] });
  }
  insert(chain: string, table: CaptureTable, pos: number, ...params: string[]) {
    this.insertV4(chain, table, pos, ...params);
    this.insertV6(chain, table, pos, ...params);
  }
}

/**
 * The rules of IptablesConfigurator.Run (run.go), in the order it adds them. Throws for an
 * OutboundIPRangesExclude of "*" (Run returns "invalid value for OUTBOUND_IP_RANGES_EXCLUDE").
 */
export function captureRules(cfg: IstioCaptureConfig): CaptureRules {
  const b = new Builder(cfg.EnableIPv6);
  const tproxy = cfg.InboundInterceptionMode === 'TPROXY';
  const loopback4 = cfg.HostIPv4LoopbackCidr;
  const [exclude4, exclude6] = separateV4V6(cfg.OutboundIPRangesExclude);
  if (exclude4.wildcard) throw new Error('invalid value for OUTBOUND_IP_RANGES_EXCLUDE');
  const [include4, include6] = separateV4V6(cfg.OutboundIPRangesInclude);
  // run.go: RedirectDNS without CaptureAllDNS and without any resolver disables DNS capture.
  const redirectDNS = cfg.RedirectDNS && (cfg.CaptureAllDNS || cfg.DNSServersV4.length > 0 || cfg.DNSServersV6.length > 0);

  // shortCircuitExcludeInterfaces: excluded NICs skip the nat (and, with TPROXY, mangle) rules.
  for (const nic of splitList(cfg.ExcludeInterfaces)) {
    b.append('PREROUTING', 'nat', '-i', nic, '-j', 'RETURN');
    b.append('OUTPUT', 'nat', '-o', nic, '-j', 'RETURN');
  }
  if (tproxy) {
    for (const nic of splitList(cfg.ExcludeInterfaces)) {
      b.append('PREROUTING', 'mangle', '-i', nic, '-j', 'RETURN');
      b.append('OUTPUT', 'mangle', '-o', nic, '-j', 'RETURN');
    }
  }
  // shortCircuitKubeInternalInterface: each virtual interface is inserted at the top of PREROUTING.
  for (const nic of splitList(cfg.RerouteVirtualInterfaces)) b.insert('PREROUTING', 'nat', 1, '-i', nic, '-j', 'RETURN');
  if (cfg.DropInvalid) {
    b.append('PREROUTING', 'mangle', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', DROP_CHAIN);
    b.append(DROP_CHAIN, 'mangle', '-j', 'DROP');
  }
  // The HBONE tunnel port is never redirected; ISTIO_REDIRECT / ISTIO_IN_REDIRECT lead to Envoy's listeners.
  b.append(INBOUND, 'nat', '-p', 'tcp', '--dport', cfg.InboundTunnelPort, '-j', 'RETURN');
  b.append(REDIRECT_CHAIN, 'nat', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', cfg.ProxyPort);
  b.append(IN_REDIRECT, 'nat', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', cfg.InboundCapturePort);

  inboundPortsInclude(b, cfg, tproxy, loopback4);

  // Every protocol enters ISTIO_OUTPUT; UDP is only ever redirected by the DNS rules.
  b.append('OUTPUT', 'nat', '-j', OUTPUT);
  // Port exclusions come before the loopback rules (run.go: "before connections back to self").
  for (const port of splitList(cfg.OutboundPortsExclude)) {
    b.append(OUTPUT, 'nat', '-p', 'tcp', '--dport', port, '-j', 'RETURN');
    b.append(OUTPUT, 'nat', '-p', 'udp', '--dport', port, '-j', 'RETURN');
  }
  // 127.0.0.6 (::6): the source Envoy binds for inbound passthrough to the app.
  b.appendVersioned('127.0.0.6/32', '::6/128', OUTPUT, 'nat', '-o', 'lo', '-s', VERSIONED, '-j', 'RETURN');

  const keepLoopbackReturn = !include4.hasLoopback && !include6.hasLoopback;
  for (const uid of splitList(cfg.ProxyUID)) {
    // Envoy calling its own pod IP (a Service VIP that resolved to itself) goes through its inbound listener.
    if (redirectDNS) {
      b.appendVersioned(loopback4, '::1/128', OUTPUT, 'nat', '-o', 'lo', '!', '-d', VERSIONED, '-p', 'tcp', '-m', 'multiport', '!', '--dports', `53,${cfg.InboundTunnelPort}`, '-m', 'owner', '--uid-owner', uid, '-j', IN_REDIRECT);
    } else {
      b.appendVersioned(loopback4, '::1/128', OUTPUT, 'nat', '-o', 'lo', '!', '-d', VERSIONED, '-p', 'tcp', '!', '--dport', cfg.InboundTunnelPort, '-m', 'owner', '--uid-owner', uid, '-j', IN_REDIRECT);
    }
    // App-to-app over lo is not captured, unless an include range is a loopback range.
    if (keepLoopbackReturn) {
      if (redirectDNS) b.append(OUTPUT, 'nat', '-o', 'lo', '-p', 'tcp', '!', '--dport', '53', '-m', 'owner', '!', '--uid-owner', uid, '-j', 'RETURN');
      else b.append(OUTPUT, 'nat', '-o', 'lo', '-m', 'owner', '!', '--uid-owner', uid, '-j', 'RETURN');
    }
    // Envoy's own traffic, any protocol, is never captured again.
    b.append(OUTPUT, 'nat', '-m', 'owner', '--uid-owner', uid, '-j', 'RETURN');
  }
  for (const gid of splitList(cfg.ProxyGID)) {
    // run.go: the GID self-redirect excludes only the tunnel port, even with DNS capture.
    b.appendVersioned(loopback4, '::1/128', OUTPUT, 'nat', '-o', 'lo', '!', '-d', VERSIONED, '-p', 'tcp', '!', '--dport', cfg.InboundTunnelPort, '-m', 'owner', '--gid-owner', gid, '-j', IN_REDIRECT);
    if (keepLoopbackReturn) {
      if (redirectDNS) b.append(OUTPUT, 'nat', '-o', 'lo', '-p', 'tcp', '!', '--dport', '53', '-m', 'owner', '!', '--gid-owner', gid, '-j', 'RETURN');
      else b.append(OUTPUT, 'nat', '-o', 'lo', '-m', 'owner', '!', '--gid-owner', gid, '-j', 'RETURN');
    }
    b.append(OUTPUT, 'nat', '-m', 'owner', '--gid-owner', gid, '-j', 'RETURN');
  }

  // handleCaptureByOwnerGroup with config.ParseInterceptFilter (tools/istio-iptables/pkg/config):
  // include "*" → one RETURN per excluded group; otherwise one rule RETURNing every group not listed
  // (with an empty include list that is a bare "-j RETURN": nothing is captured).
  if (cfg.OwnerGroupsInclude === '*') {
    for (const g of splitList(cfg.OwnerGroupsExclude)) b.append(OUTPUT, 'nat', '-m', 'owner', '--gid-owner', g, '-j', 'RETURN');
  } else {
    b.append(OUTPUT, 'nat', ...splitList(cfg.OwnerGroupsInclude).flatMap((g) => ['-m', 'owner', '!', '--gid-owner', g]), '-j', 'RETURN');
  }

  if (redirectDNS) setupDNSRedir(b, cfg);

  // Localhost (Envoy-aware apps, container-to-container) is not captured.
  b.appendVersioned(loopback4, '::1/128', OUTPUT, 'nat', '-d', VERSIONED, '-j', 'RETURN');
  // Exclusions before inclusions.
  for (const c of exclude4.cidrs) b.appendV4(OUTPUT, 'nat', '-d', formatPrefix(c), '-j', 'RETURN');
  for (const c of exclude6.cidrs) b.appendV6(OUTPUT, 'nat', '-d', formatPrefix(c), '-j', 'RETURN');
  for (const port of splitList(cfg.OutboundPortsInclude)) b.append(OUTPUT, 'nat', '-p', 'tcp', '--dport', port, '-j', REDIRECT_CHAIN);
  outboundIncludeRules(include4, cfg, (...p) => b.appendV4(...p), (...p) => b.insertV4(...p));
  outboundIncludeRules(include6, cfg, (...p) => b.appendV6(...p), (...p) => b.insertV6(...p));

  if (tproxy) {
    // Save the TPROXY mark as the connection mark; Envoy's traffic already marked is left alone.
    b.append('PREROUTING', 'mangle', '-p', 'tcp', '-m', 'mark', '--mark', cfg.InboundTProxyMark, '-j', 'CONNMARK', '--save-mark');
    b.append('OUTPUT', 'mangle', '-p', 'tcp', '-o', 'lo', '-m', 'mark', '--mark', cfg.InboundTProxyMark, '-j', 'RETURN');
    // Envoy's calls to its own pod IP get mark 1338, which the inbound rules below let through.
    for (const uid of splitList(cfg.ProxyUID)) b.appendVersioned(loopback4, '::1/128', 'OUTPUT', 'mangle', '!', '-d', VERSIONED, '-p', 'tcp', '-o', 'lo', '-m', 'owner', '--uid-owner', uid, '-j', 'MARK', '--set-mark', OUTBOUND_MARK);
    for (const gid of splitList(cfg.ProxyGID)) b.appendVersioned(loopback4, '::1/128', 'OUTPUT', 'mangle', '!', '-d', VERSIONED, '-p', 'tcp', '-o', 'lo', '-m', 'owner', '--gid-owner', gid, '-j', 'MARK', '--set-mark', OUTBOUND_MARK);
    b.append('OUTPUT', 'mangle', '-p', 'tcp', '-m', 'connmark', '--mark', cfg.InboundTProxyMark, '-j', 'CONNMARK', '--restore-mark');
    // Inserted on top of ISTIO_INBOUND: already-marked packets, Envoy's passthrough source, and
    // app-to-app traffic over lo without mark 1338 are not diverted.
    b.insert(INBOUND, 'mangle', 1, '-p', 'tcp', '-m', 'mark', '--mark', cfg.InboundTProxyMark, '-j', 'RETURN');
    b.insertV4(INBOUND, 'mangle', 2, '-p', 'tcp', '-s', '127.0.0.6/32', '-i', 'lo', '-j', 'RETURN');
    b.insertV6(INBOUND, 'mangle', 2, '-p', 'tcp', '-s', '::6/128', '-i', 'lo', '-j', 'RETURN');
    b.insert(INBOUND, 'mangle', 3, '-p', 'tcp', '-i', 'lo', '-m', 'mark', '!', '--mark', OUTBOUND_MARK, '-j', 'RETURN');
  }
  return { ipv4: b.ipv4, ipv6: b.ipv6 };
}

/** run.go handleInboundPortsInclude: nothing without inbound ports; nat REDIRECT or mangle TPROXY. */
function inboundPortsInclude(b: Builder, cfg: IstioCaptureConfig, tproxy: boolean, loopback4: string) {
  if (cfg.InboundPortsInclude === '') return;
  const table: CaptureTable = tproxy ? 'mangle' : 'nat';
  if (tproxy) {
    // ISTIO_DIVERT: packets of established connections are marked and accepted (policy routing
    // delivers them locally); ISTIO_TPROXY hands new connections to Envoy's inbound listener.
    b.append(DIVERT, 'mangle', '-j', 'MARK', '--set-mark', cfg.InboundTProxyMark);
    b.append(DIVERT, 'mangle', '-j', 'ACCEPT');
    b.appendVersioned(loopback4, '::1/128', TPROXY_CHAIN, 'mangle', '!', '-d', VERSIONED, '-p', 'tcp', '-j', 'TPROXY', '--tproxy-mark', `${cfg.InboundTProxyMark}/0xffffffff`, '--on-port', cfg.InboundCapturePort);
  }
  b.append('PREROUTING', table, '-p', 'tcp', '-j', INBOUND);
  if (cfg.InboundPortsInclude === '*') {
    // Exclusions are used only with the wildcard.
    for (const port of splitList(cfg.InboundPortsExclude)) b.append(INBOUND, table, '-p', 'tcp', '--dport', port, '-j', 'RETURN');
    if (tproxy) {
      b.append(INBOUND, 'mangle', '-p', 'tcp', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', DIVERT);
      b.append(INBOUND, 'mangle', '-p', 'tcp', '-j', TPROXY_CHAIN);
    } else {
      b.append(INBOUND, 'nat', '-p', 'tcp', '-j', IN_REDIRECT);
    }
    return;
  }
  for (const port of splitList(cfg.InboundPortsInclude)) {
    if (tproxy) {
      b.append(INBOUND, 'mangle', '-p', 'tcp', '--dport', port, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', DIVERT);
      b.append(INBOUND, 'mangle', '-p', 'tcp', '--dport', port, '-j', TPROXY_CHAIN);
    } else {
      b.append(INBOUND, 'nat', '-p', 'tcp', '--dport', port, '-j', IN_REDIRECT);
    }
  }
}

type Append = (chain: string, table: CaptureTable, ...params: string[]) => void;
type Insert = (chain: string, table: CaptureTable, pos: number, ...params: string[]) => void;

/**
 * run.go handleOutboundIncludeRules, per family: "*" → everything left goes to ISTIO_REDIRECT;
 * CIDRs → one rule each. Traffic entering on a virtual interface is redirected like outbound
 * traffic (inserted at the top of PREROUTING, so the last one inserted ends up first).
 */
function outboundIncludeRules(range: NetworkRange, cfg: IstioCaptureConfig, append: Append, insert: Insert) {
  if (range.wildcard) {
    append(OUTPUT, 'nat', '-j', REDIRECT_CHAIN);
    for (const nic of splitList(cfg.RerouteVirtualInterfaces)) insert('PREROUTING', 'nat', 1, '-i', nic, '-j', REDIRECT_CHAIN);
    return;
  }
  for (const cidr of range.cidrs) {
    for (const nic of splitList(cfg.RerouteVirtualInterfaces)) insert('PREROUTING', 'nat', 1, '-i', nic, '-d', formatPrefix(cidr), '-j', REDIRECT_CHAIN);
    append(OUTPUT, 'nat', '-d', formatPrefix(cidr), '-j', REDIRECT_CHAIN);
  }
}

/**
 * run.go SetupDNSRedir + addDNSConntrackZones: DNS (tcp and udp port 53) to the pod's resolvers,
 * or to any address with CaptureAllDNS, goes to the agent's DNS proxy on 15053; raw-table rules
 * put DNS packets in conntrack zone 1 (proxy ↔ upstream) or 2 (app ↔ proxy).
 */
function setupDNSRedir(b: Builder, cfg: IstioCaptureConfig) {
  const all = cfg.CaptureAllDNS;
  b.append('OUTPUT', 'raw', '-j', OUTPUT_DNS);
  if (all || cfg.DNSServersV4.length) b.appendV4(OUTPUT, 'nat', '-j', OUTPUT_DNS);
  if (all || cfg.DNSServersV6.length) b.appendV6(OUTPUT, 'nat', '-j', OUTPUT_DNS);
  if (all) {
    b.append(OUTPUT_DNS, 'nat', '-p', 'tcp', '--dport', '53', '-j', 'REDIRECT', '--to-ports', DNS_PORT);
  } else {
    for (const s of cfg.DNSServersV4) b.appendV4(OUTPUT_DNS, 'nat', '-p', 'tcp', '--dport', '53', '-d', `${s}/32`, '-j', 'REDIRECT', '--to-ports', DNS_PORT);
    for (const s of cfg.DNSServersV6) b.appendV6(OUTPUT_DNS, 'nat', '-p', 'tcp', '--dport', '53', '-d', `${s}/128`, '-j', 'REDIRECT', '--to-ports', DNS_PORT);
  }
  // run.go writes "--to-port" (singular) for UDP; iptables accepts the abbreviation.
  if (all) {
    b.append(OUTPUT_DNS, 'nat', '-p', 'udp', '--dport', '53', '-j', 'REDIRECT', '--to-port', DNS_PORT);
  } else {
    for (const s of cfg.DNSServersV4) b.appendV4(OUTPUT_DNS, 'nat', '-p', 'udp', '--dport', '53', '-d', `${s}/32`, '-j', 'REDIRECT', '--to-port', DNS_PORT);
    for (const s of cfg.DNSServersV6) b.appendV6(OUTPUT_DNS, 'nat', '-p', 'udp', '--dport', '53', '-d', `${s}/128`, '-j', 'REDIRECT', '--to-port', DNS_PORT);
  }
  for (const uid of splitList(cfg.ProxyUID)) {
    b.append(OUTPUT_DNS, 'raw', '-p', 'udp', '--dport', '53', '-m', 'owner', '--uid-owner', uid, '-j', 'CT', '--zone', '1');
    b.append(OUTPUT_DNS, 'raw', '-p', 'udp', '--sport', DNS_PORT, '-m', 'owner', '--uid-owner', uid, '-j', 'CT', '--zone', '2');
  }
  for (const gid of splitList(cfg.ProxyGID)) {
    b.append(OUTPUT_DNS, 'raw', '-p', 'udp', '--dport', '53', '-m', 'owner', '--gid-owner', gid, '-j', 'CT', '--zone', '1');
    b.append(OUTPUT_DNS, 'raw', '-p', 'udp', '--sport', DNS_PORT, '-m', 'owner', '--gid-owner', gid, '-j', 'CT', '--zone', '2');
  }
  if (all) {
    b.append('PREROUTING', 'raw', '-j', INBOUND);
    b.append(OUTPUT_DNS, 'raw', '-p', 'udp', '--dport', '53', '-j', 'CT', '--zone', '2');
    b.append(INBOUND, 'raw', '-p', 'udp', '--sport', '53', '-j', 'CT', '--zone', '1');
    return;
  }
  if (cfg.DNSServersV4.length) b.appendV4('PREROUTING', 'raw', '-j', INBOUND);
  for (const s of cfg.DNSServersV4) {
    b.appendV4(OUTPUT_DNS, 'raw', '-p', 'udp', '--dport', '53', '-d', `${s}/32`, '-j', 'CT', '--zone', '2');
    b.appendV4(INBOUND, 'raw', '-p', 'udp', '--sport', '53', '-s', `${s}/32`, '-j', 'CT', '--zone', '1');
  }
  if (cfg.DNSServersV6.length) b.appendV6('PREROUTING', 'raw', '-j', INBOUND);
  for (const s of cfg.DNSServersV6) {
    b.appendV6(OUTPUT_DNS, 'raw', '-p', 'udp', '--dport', '53', '-d', `${s}/128`, '-j', 'CT', '--zone', '2');
    b.appendV6(INBOUND, 'raw', '-p', 'udp', '--sport', '53', '-s', `${s}/128`, '-j', 'CT', '--zone', '1');
  }
}

/**
 * iptables_builder_impl.go buildRestore: per table, "-N" for every non-built-in chain that holds a
 * rule (in first-use order) and then for every jump target still undeclared (a chain is known by
 * "chain:table"; only a rule's last "-j X" counts), then the rules in the order they were added.
 * Tables sorted by name, empty ones left out; "* nat" with a space; each block ends with COMMIT.
 */
export function restoreText(rules: CaptureRule[]): string {
  const tables = new Map<string, string[]>([['filter', []], ['nat', []], ['mangle', []]]);
  const lines = (t: string) => {
    let l = tables.get(t);
    if (!l) tables.set(t, (l = []));
    return l;
  };
  const seen = new Set<string>();
  const declare = (chain: string, table: string) => {
    const key = `${chain}:${table}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (!BUILTIN.has(chain)) lines(table).push(`-N ${chain}`);
  };
  for (const r of rules) declare(r.chain, r.table);
  for (const r of rules) if (r.params.length >= 2 && r.params[r.params.length - 2] === '-j') declare(r.params[r.params.length - 1]!, r.table);
  for (const r of rules) lines(r.table).push(r.params.join(' '));
  let out = '';
  for (const t of [...tables.keys()].sort()) {
    const l = tables.get(t)!;
    if (l.length) out += `* ${t}\n${l.join('\n')}\nCOMMIT\n`;
  }
  return out;
}

export interface RestoreInputs {
  /** Input of "iptables-restore --noflush". */
  ipv4: string;
  /** Input of "ip6tables-restore --noflush" ("" unless EnableIPv6). */
  ipv6: string;
}

/** What istio-iptables (and the CNI plugin, in the pod's namespace) gives iptables-restore. */
export function captureRestore(cfg: IstioCaptureConfig): RestoreInputs {
  const r = captureRules(cfg);
  return { ipv4: restoreText(r.ipv4), ipv6: restoreText(r.ipv6) };
}

/**
 * The command log of istio-iptables' own test (run_test.go TestIptables, with the fake executor of
 * tools/istio-iptables/pkg/dependencies/stub.go): iptables-save and ip6tables-save (the state
 * check before applying), the stdin lines of iptables-restore and ip6tables-restore (the commands
 * themselves are not logged when they get stdin), then iptables-save (and ip6tables-save with
 * IPv6) for the final state dump; joined with newlines.
 */
export function captureCommandLog(cfg: IstioCaptureConfig): string {
  const { ipv4, ipv6 } = captureRestore(cfg);
  const stdin = (s: string) => (s === '' ? [] : s.replace(/\n$/, '').split('\n'));
  return ['iptables-save', 'ip6tables-save', ...stdin(ipv4), ...stdin(ipv6), 'iptables-save', ...(cfg.EnableIPv6 ? ['ip6tables-save'] : [])].join('\n');
}

/** The istio-cni plugin (sidecar mode): the IPv4 restore input it runs in the pod's namespace (its dry-run golden). */
export function cniRestore(cfg: IstioCaptureConfig): string {
  return captureRestore(cfg).ipv4;
}

/**
 * The routing set-up istio-iptables does next to the rules (tools/istio-iptables/pkg/capture/
 * run_linux.go ConfigureRoutes, via netlink; skipped in dry-run mode), as the equivalent ip
 * commands: with IPv6 the ::6 passthrough source on lo; in TPROXY mode with inbound ports, a
 * policy rule sending packets with the TPROXY mark to InboundTProxyRouteTable, whose only route
 * delivers everything locally on lo.
 */
export function captureRouteCommands(cfg: IstioCaptureConfig): string[] {
  const out: string[] = [];
  if (cfg.EnableIPv6) out.push('ip -6 addr add ::6/128 dev lo');
  if (cfg.InboundPortsInclude !== '' && cfg.InboundInterceptionMode === 'TPROXY') {
    const families = cfg.EnableIPv6 ? ['-4', '-6'] : ['-4'];
    for (const f of families) out.push(`ip ${f} rule add fwmark ${cfg.InboundTProxyMark} lookup ${cfg.InboundTProxyRouteTable}`);
    for (const f of families) out.push(`ip ${f} route add local ${f === '-4' ? '0.0.0.0/0' : '::/0'} dev lo table ${cfg.InboundTProxyRouteTable}`);
  }
  return out;
}
