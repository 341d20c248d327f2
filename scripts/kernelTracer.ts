// The Linux kernel as the tracer of the conformance flows. For each ruleset the conformance runner
// builds (iptables or nftables mode), a node is set up in a private network namespace — its local
// IPs on eth0, a peer namespace on the wire for the senders — and the ruleset is loaded for real
// (iptables-nft-restore / ip6tables-nft-restore, nft -f). Each flow is then sent as real first
// packets of new connections, and the kernel's own record decides the outcome:
//   - `xtables-monitor --trace` (a raw-table TRACE rule) or `nft monitor trace` (meta nftrace set 1
//     in a chain before every other) gives the rules each packet hit, with their verdicts: the DNAT
//     destinations, a DROP or REJECT, and whether the masquerade mark was set (a rule of
//     KUBE-MARK-MASQ / mark-for-masquerade hit, what kube-proxy's test tracers call "masq");
//   - `conntrack -L` must hold each accepted packet's NAT binding, and it must be one the trace named.
// The kernel picks `statistic` / `numgen` branches at random, so each flow is sent as many
// connections and the set of outcomes is compared (the runner compares outputs as sets).
// A flow from one of the node's own addresses is sent from the node itself (the OUTPUT path, as a
// real node sends it). Flows the kernel cannot carry here are skipped and counted: SCTP (no SCTP
// socket in Node), and sources no namespace can send from.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tracers } from '../src/cli/conformanceRunner.ts';
import { renderRuleset } from '../src/engine/dataplane/iptablesSave.ts';
import { nftLoadOrder } from '../src/engine/dataplane/kubeProxyNftables.ts';
import type { TracerFlow, TracerResult } from '../src/engine/dataplane/ruleTracer.ts';

const sender = join(dirname(fileURLToPath(import.meta.url)), 'kernel-send.mjs');
const sh = (cmd: string, args: string[], input?: string) => execFileSync(cmd, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const v6 = (a: string) => a.includes(':');
const isLoopback = (a: string) => a.startsWith('127.') || a === '::1';
const ATTEMPTS = 32;
/** The filter chains whose ACCEPT kube-proxy's iptables test tracer reports (pkg/proxy/iptables/helpers_test.go). */
const acceptChains = new Set(['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']);

interface Packet {
  src: string;
  dst: string;
  dport: number;
  /** What the rules did, in order: [chain, rule text, verdict]. */
  hits: { chain: string; text: string; verdict: string }[];
}

/** One node namespace with one ruleset loaded. */
class KernelNode {
  private readonly node: string;
  private readonly peer: string;
  private readonly tmp = mkdtempSync(join(tmpdir(), 'pp-kernel-'));
  private readonly primary: Record<'4' | '6', string | undefined>;
  private readonly clientAddrs = new Set<string>();
  private readonly routes = new Set<string>();
  private loaded = false;

  constructor(
    readonly kind: 'iptables' | 'nftables',
    private readonly rules: string,
    readonly localIPs: string[],
    tag: string,
  ) {
    this.node = `${tag}-n`;
    this.peer = `${tag}-p`;
    const own = localIPs.filter((a) => !isLoopback(a));
    this.primary = { '4': own.find((a) => !v6(a)), '6': own.find(v6) };
    for (const ns of [this.node, this.peer]) {
      sh('ip', ['netns', 'add', ns]);
      this.in(ns, 'ip', 'link', 'set', 'lo', 'up');
    }
    const n = (...a: string[]) => this.in(this.node, ...a);
    const p = (...a: string[]) => this.in(this.peer, ...a);
    for (const s of ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.all.route_localnet=1']) n('sysctl', '-qw', s);
    n('ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'wire', 'netns', this.peer);
    for (const a of own) n('ip', 'addr', 'add', `${a}/${v6(a) ? 128 : 32}`, 'dev', 'eth0', ...(v6(a) ? ['nodad'] : []));
    n('ip', 'link', 'set', 'eth0', 'up');
    p('ip', 'link', 'set', 'wire', 'up');
    // The peer is the node's default gateway (169.254.1.1 / fd99::1); it forwards nothing.
    p('ip', 'addr', 'add', '169.254.1.1/32', 'dev', 'wire');
    p('ip', '-6', 'addr', 'add', 'fd99::1/128', 'dev', 'wire', 'nodad');
    n('ip', 'route', 'add', '169.254.1.1', 'dev', 'eth0');
    n('ip', 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0');
    n('ip', '-6', 'route', 'add', 'fd99::1', 'dev', 'eth0');
    n('ip', '-6', 'route', 'add', 'default', 'via', 'fd99::1', 'dev', 'eth0');
    for (const a of own) p('ip', ...(v6(a) ? ['-6'] : []), 'route', 'add', a, 'dev', 'wire');
  }

  private in(ns: string, ...args: string[]): string {
    return sh('ip', ['netns', 'exec', ns, ...args]);
  }

  /** Load the ruleset for the flows' family (the ruleset is either IPv4 or IPv6), and a trace rule. */
  private load(family: '4' | '6') {
    if (this.loaded) return;
    this.loaded = true;
    if (this.kind === 'iptables') {
      for (const c of ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts']) this.in(this.node, 'nfacct', 'add', c);
      const restore = family === '6' ? 'ip6tables-nft-restore' : 'iptables-nft-restore';
      sh('ip', ['netns', 'exec', this.node, restore], this.rules);
      sh('ip', ['netns', 'exec', this.node, restore, '--noflush'], '*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -j TRACE\n-A OUTPUT -j TRACE\nCOMMIT\n');
    } else {
      sh('ip', ['netns', 'exec', this.node, 'nft', '-f', '-'], this.rules);
      const fam = family === '6' ? 'ip6' : 'ip';
      sh('ip', ['netns', 'exec', this.node, 'nft', '-f', '-'], [`add table ${fam} pptrace`, `add chain ${fam} pptrace pre { type filter hook prerouting priority -350 ; }`, `add chain ${fam} pptrace out { type filter hook output priority -350 ; }`, `add rule ${fam} pptrace pre meta nftrace set 1`, `add rule ${fam} pptrace out meta nftrace set 1`].join('\n') + '\n');
    }
  }

  trace(flow: TracerFlow, attempt = 1): TracerResult | undefined {
    const family = v6(flow.dst) ? '6' : '4';
    if (flow.proto === 'sctp') return undefined;
    if (v6(flow.src) !== v6(flow.dst)) return undefined;
    this.load(family);
    const fromNode = this.localIPs.includes(flow.src);
    // A loopback source can only be sent by the node itself.
    if (!fromNode && isLoopback(flow.src)) return undefined;
    if (!fromNode && isLoopback(flow.dst)) return undefined;
    // An address sending to itself never leaves the sender's namespace.
    if (!fromNode && flow.src === flow.dst) return undefined;
    const via = this.primary[family];
    if (!via) return undefined;
    if (!fromNode) {
      if (!this.clientAddrs.has(flow.src)) {
        this.in(this.peer, 'ip', 'addr', 'add', `${flow.src}/${family === '6' ? 128 : 32}`, 'dev', 'wire', ...(family === '6' ? ['nodad'] : []));
        this.clientAddrs.add(flow.src);
      }
      if (!this.localIPs.includes(flow.dst) && !this.routes.has(flow.dst)) {
        this.in(this.peer, 'ip', ...(family === '6' ? ['-6'] : []), 'route', 'replace', flow.dst, 'via', via, 'dev', 'wire');
        this.routes.add(flow.dst);
      }
    }
    // xtables-monitor 1.8.9 cannot print IPv6 rules ("unsupported layer 4 protocol value") and
    // stops: for ip6tables the rule counters (zeroed before, read after) say which rules the flow hit.
    const counters = this.kind === 'iptables' && family === '6';
    const monitor = counters ? 'true' : this.kind === 'iptables' ? 'xtables-monitor --trace' : 'nft monitor trace';
    const traceFile = join(this.tmp, 'trace');
    const script = [
      `ip netns exec ${this.node} conntrack -F >/dev/null 2>&1; ip netns exec ${this.node} conntrack -F -f ipv6 >/dev/null 2>&1`,
      ...(counters ? ['raw', 'nat', 'filter'].map((t) => `ip netns exec ${this.node} ip6tables-nft -t ${t} -Z`) : []),
      `ip netns exec ${this.node} ${monitor} > ${traceFile} 2>&1 & M=$!`,
      // Ready when the listener prints a probe the node sends itself (to 127.0.0.9, port 9),
      // not after a fixed pause: on a busy machine the listener can take longer to start.
      ...(counters
        ? []
        : [`for i in $(seq 60); do ip netns exec ${this.node} bash -c 'echo > /dev/udp/127.0.0.9/9' 2>/dev/null; sleep 0.05; grep -qF '127.0.0.9' ${traceFile} && break; done`]),
      `ip netns exec ${fromNode ? this.node : this.peer} node ${sender} ${flow.proto} ${flow.src} ${flow.dst} ${flow.dport} ${ATTEMPTS}`,
      // Done when the listener has stopped writing (its events arrive after the packets).
      `p=-1; for i in $(seq 60); do s=$(stat -c %s ${traceFile}); [ "$s" = "$p" ] && break; p=$s; sleep 0.1; done`,
      'kill $M 2>/dev/null; wait $M 2>/dev/null',
      ...(counters ? [`ip netns exec ${this.node} ip6tables-nft-save -c > ${traceFile}`] : []),
      `ip netns exec ${this.node} conntrack -L -f ${family === '6' ? 'ipv6' : 'ipv4'} 2>/dev/null`,
    ].join('\n');
    const ct = sh('bash', ['-c', script]);
    const text = readFileSync(traceFile, 'utf8');
    const packets = counters ? [countedHits(text, flow)] : this.kind === 'iptables' ? parseXtablesTrace(text) : parseNftTrace(text);
    // The flow's own first packets (the node may also see replies or ICMP errors).
    const mine = packets.filter((p) => p.src === flow.src && p.dst === flow.dst && p.dport === flow.dport && p.hits.length);
    // A listener that lost events (netlink buffer overrun on a busy machine) gives a partial
    // picture: try the flow again rather than judge from it.
    if (!counters && mine.length < ATTEMPTS / 2) {
      if (attempt < 3) return this.trace(flow, attempt + 1);
      throw new Error(`the kernel's trace listener reported only ${mine.length} of ${ATTEMPTS} packets ${flow.src} → ${flow.dst}:${flow.dport}, three times`);
    }
    const outputs = new Set<string>();
    let masq = false;
    for (const p of mine) {
      for (const h of p.hits) {
        if (h.chain === 'KUBE-MARK-MASQ' || h.chain === 'mark-for-masquerade') masq = true;
        const dnat = /(?:--to-destination|dnat (?:ip6? )?to) (\S+)/.exec(h.text);
        if (dnat && h.verdict.toLowerCase() === 'accept') outputs.add(dnat[1]!);
        if (h.verdict.toLowerCase() === 'drop') outputs.add(/-j REJECT|\breject\b/.test(h.text) ? 'REJECT' : 'DROP');
        // kube-proxy's iptables test tracer reports an ACCEPT from its filter chains (helpers_test.go).
        if (h.verdict === 'ACCEPT' && h.text.includes(' -t filter ') && acceptChains.has(h.chain)) outputs.add('ACCEPT');
      }
    }
    // conntrack's NAT bindings must be among the DNATs the trace shows.
    for (const line of ct.split('\n')) {
      const m = /^\w+\s+\d+\s+\d+\s+(?:\w+\s+)?src=(\S+) dst=(\S+) sport=\d+ dport=(\d+) .*?src=(\S+) dst=\S+ sport=(\d+)/.exec(line);
      if (!m || m[1] !== flow.src || m[2] !== flow.dst || Number(m[3]) !== flow.dport) continue;
      if (m[4] === flow.dst && Number(m[5]) === flow.dport) continue;
      const to = v6(m[4]!) ? `[${m[4]}]:${m[5]}` : `${m[4]}:${m[5]}`;
      if (!outputs.has(to)) throw new Error(`conntrack holds a DNAT to ${to} that the trace of ${flow.src} → ${flow.dst}:${flow.dport} does not show`);
    }
    return { output: [...outputs].join(', '), masq, unordered: true };
  }

  close() {
    for (const ns of [this.node, this.peer]) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
    if (!process.env.KEEP) rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** The rules `iptables-save -c` counted ("[packets:bytes] -A CHAIN …"), as one packet's hits. */
function countedHits(text: string, flow: TracerFlow): Packet {
  const hits: Packet['hits'] = [];
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const m = /^\[(\d+):\d+\] -A (\S+) (.*)$/.exec(line);
    if (!m || m[1] === '0') continue;
    const target = /-j (\w+)/.exec(m[3]!)?.[1] ?? '';
    const verdict = target === 'DNAT' || target === 'ACCEPT' ? 'ACCEPT' : target === 'REJECT' || target === 'DROP' ? 'DROP' : 'CONTINUE';
    hits.push({ chain: m[2]!, text: `-6 -t ${table} -A ${m[2]} ${m[3]}`, verdict });
  }
  return { src: flow.src, dst: flow.dst, dport: flow.dport, hits };
}

/** xtables-monitor --trace: "PACKET: 2 <id> … SRC=… DST=… SPORT=… DPORT=…" and " TRACE: 2 <id> table:CHAIN:rule:0x..:VERDICT[:TARGET]  -4 -t table -A CHAIN …". */
export function parseXtablesTrace(text: string): Packet[] {
  const byId = new Map<string, Packet>();
  for (const line of text.split('\n')) {
    const pk = /^PACKET: \d+ (\w+) .*?SRC=(\S+) DST=(\S+) .*?DPORT=(\d+)/.exec(line);
    if (pk) {
      if (!byId.has(pk[1]!)) byId.set(pk[1]!, { src: pk[2]!, dst: pk[3]!, dport: Number(pk[4]), hits: [] });
      continue;
    }
    const tr = /^\s*TRACE: \d+ (\w+) (\w+):([^:]+):rule:0x[0-9a-f]+:(\w+)\S*\s+(.*)$/.exec(line);
    if (tr) byId.get(tr[1]!)?.hits.push({ chain: tr[3]!, text: tr[5]!, verdict: tr[4]! });
  }
  return [...byId.values()];
}

/** nft monitor trace: "trace id <id> ip <table> <chain> packet: … ip saddr … ip daddr … dport N" and "… <chain> rule <text> (verdict <v>)". */
export function parseNftTrace(text: string): Packet[] {
  const byId = new Map<string, Packet>();
  for (const line of text.split('\n')) {
    const pk = /^trace id (\w+) \S+ \S+ \S+ packet: .*?ip6? saddr (\S+) ip6? daddr (\S+) .*?(?:tcp|udp) dport (\d+)/.exec(line);
    if (pk) {
      if (!byId.has(pk[1]!)) byId.set(pk[1]!, { src: pk[2]!, dst: pk[3]!, dport: Number(pk[4]), hits: [] });
      continue;
    }
    const r = /^trace id (\w+) \S+ (\S+) (\S+) rule (.*) \(verdict ([^)]+)\)\s*$/.exec(line);
    // Only kube-proxy's table: the tracing table's own rule is not part of the answer.
    if (r && r[2] !== 'pptrace') byId.get(r[1]!)?.hits.push({ chain: r[3]!, text: r[4]!, verdict: r[5]!.split(' ')[0]! });
  }
  return [...byId.values()];
}

/** Hand-written rules may leave a comment of several words unquoted; iptables-restore needs the quotes. */
function quoteComments(rules: string): string {
  return rules
    .split('\n')
    .map((line) => {
      const w = line.split(' ');
      const i = w.indexOf('--comment');
      if (i < 0 || w[i + 1]?.startsWith('"')) return line;
      let j = i + 1;
      while (j < w.length && !/^[-!]/.test(w[j]!)) j++;
      return [...w.slice(0, i + 1), `"${w.slice(i + 1, j).join(' ')}"`, ...w.slice(j)].join(' ');
    })
    .join('\n');
}

/** Tracers backed by the kernel; one namespace pair per distinct ruleset, the last one kept. */
export function kernelTracers(tag: string): Tracers & { close(): void } {
  let current: { key: string; node: KernelNode } | undefined;
  let n = 0;
  const nodeFor = (kind: 'iptables' | 'nftables', rules: string, localIPs: string[]) => {
    const key = `${kind}\n${localIPs.join(',')}\n${rules}`;
    if (current?.key !== key) {
      current?.node.close();
      current = { key, node: new KernelNode(kind, rules, localIPs, `${tag}${n++}`) };
    }
    return current.node;
  };
  return {
    iptables: (rs, localIPs) => (flow) => nodeFor('iptables', quoteComments(renderRuleset(rs, { builtins: true })), localIPs).trace(flow),
    nftables: (lines, localIPs) => (flow) => nodeFor('nftables', nftLoadOrder(lines), localIPs).trace(flow),
    close: () => current?.node.close(),
  };
}
