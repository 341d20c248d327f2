// The Linux kernel as the judge of Istio's sidecar capture rules (section "istio" of
// scripts/kernel-check.ts). For every case of ../shared/conformance/istio-iptables (found by layout,
// as the conformance runner finds them):
// 1. Load: the Config is built as src/cli/istioIptablesCases.ts builds it, the engine writes the
//    restore input (captureRestore), and it is applied to a fresh pod-like network namespace with
//    `iptables-restore --noflush` (and `ip6tables-restore --noflush` for an IPv6 block), as
//    istio-iptables does; then the routing commands (captureRouteCommands: TPROXY policy routing,
//    ::6 on lo). The kernel must accept all of it. Then `iptables-save` of the namespace must hold
//    exactly the chains the engine's own application of that input (restoreNoflush, used by the
//    walker) says they hold, rule for rule and in order — so every `-I <chain> <n>` landed where the
//    engine put it. Both sides are normalised by iptables itself: the engine's final chains are
//    loaded, as plain -A rules, into a second namespace and saved back.
// 2. Flows: every flow of flows.yaml is sent for real as the first packet of a new connection, one
//    per flow, with a fixed source port so the kernel's records of it can be picked out exactly:
//    - outbound: from a process in the pod namespace running as the flow's uid/gid (setpriv --reuid
//      --regid --clear-groups), bound to the flow's source; the kernel's route for it must leave by
//      the flow's oif;
//    - inbound on lo: from a process in the pod itself (the conventions' app identity);
//    - inbound on another interface: from a namespace behind that interface (a veth pair).
//    The kernel's outcome comes from its own records:
//    - REDIRECT: conntrack's reply tuple for the connection has source port = the listener port;
//    - TPROXY: the TPROXY rule counted the packet and a transparent listener (IP_TRANSPARENT) on
//      --on-port holds the half-open connection under the original destination (ss state syn-recv);
//    - otherwise the rules counted (iptables-save -c, before/after): an ACCEPT target (with the mark
//      the packet carried into INPUT, seen by an nftables set), a RETURN target, or neither (the
//      built-in chain's policy).
//    The set of rules the kernel counted must also be exactly the set the engine's walker matched
//    (table, chain, position), in the chains only this packet's hook reaches.
//    To keep the counters to the one packet, replies are dropped before the raw table (an nftables
//    chain at priority -350: SYN-ACK, RST, ICMP; non-TCP/UDP such as MLD too), the namespaces
//    behind the interfaces drop what reaches them, and neighbours are static.
//    An ESTABLISHED flow (inbound TCP from a peer) is replayed as the first data segment of a
//    connection that was let through the handshake (listeners on the destination and redirect
//    ports; the capture's own transparent listener for TPROXY): the rules that segment hits.
//    Flows that cannot be reproduced (another protocol or state, a source no namespace can send
//    from, a send the kernel refuses) are SKIPPED with the reason and counted, never passed.
// Only namespaces made here carry traffic; each case's namespaces and processes are removed when it
// ends, also on failure, and on exit. Every command runs with a time limit.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import yaml from 'js-yaml';
import { findCases } from '../src/cli/conformanceRunner.ts';
import { caseCaptureConfig, isIstioIptablesCase } from '../src/cli/istioIptablesCases.ts';
import { captureRestore, captureRouteCommands, type IstioCaptureConfig } from '../src/engine/istio/captureRules.ts';
import { captureRulesets, walkPodFlow, type CaptureOutcome, type PodFlow, type PodInterfaces } from '../src/engine/istio/captureWalk.ts';
import { tableBuiltins } from '../src/engine/dataplane/netfilter.ts';
import type { NetfilterTable, Ruleset } from '../src/engine/dataplane/kubeProxyIptables.ts';
import { parseIPv6 } from '../src/engine/util/ip.ts';

type Doc = Record<string, unknown>;
type Family = '4' | '6';

const TIMEOUT_MS = 10_000;
/** PODPATH_KERNEL_VERBOSE=1: each flow's kernel evidence and counted rules. */
const VERBOSE = !!process.env.PODPATH_KERNEL_VERBOSE;
/** The peers drop what reaches them (replies to the pod's outbound flows) unless let through. */
const PEER_DROP = 'add rule inet ppq pre iifname "wire" meta l4proto { tcp, udp } drop';
const sh = (cmd: string, args: string[], input?: string) => execFileSync(cmd, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: TIMEOUT_MS });
const inNs = (ns: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, ...args]);
const inNsInput = (ns: string, input: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, ...args], input);
/** ip(8) in a namespace without `ip netns exec`'s mount namespace. */
const ipn = (ns: string, ...args: string[]) => sh('ip', ['-n', ns, ...args]);
/** Shell: wait (at most ~1 s) until a packet has passed the pod's PREROUTING, then a little longer for INPUT. */
const AWAIT_PREROUTING = 'for i in $(seq 100); do nft list counter inet ppk seen | grep -q "packets [1-9]" && break; sleep 0.01; done; sleep 0.01';
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const stderrOf = (e: unknown) => String((e as { stderr?: string }).stderr || (e as Error).message || e).trim().split('\n').slice(0, 3).join(' / ');
const isV6 = (a: string) => a.includes(':');
const canon = (a: string) => (isV6(a) ? String(parseIPv6(a) ?? a) : a);
const sameAddr = (a: string, b: string) => canon(a) === canon(b);

// ---------------------------------------------------------------------------------------------
// The case: its Config exactly as the conformance runner builds it (caseCaptureConfig).

const load = (file: string) => (yaml.load(readFileSync(file, 'utf8')) ?? {}) as Doc;
const caseConfig = (params: Doc): IstioCaptureConfig => caseCaptureConfig(params);

interface Flow {
  name: string;
  direction: 'inbound' | 'outbound';
  proto: string;
  src: string;
  dst: string;
  sport?: number;
  dport: number;
  iif?: string;
  oif?: string;
  uid?: number;
  gid?: number;
  ctstate?: string;
  expected: { result: string; toPort?: number; setsMark?: string };
}

function flowsOf(doc: Doc): Flow[] {
  const num = (v: unknown) => (v === undefined ? undefined : Number(v));
  const str = (v: unknown) => (v === undefined ? undefined : String(v));
  return ((doc.flows ?? []) as Doc[]).map((f) => ({
    name: String(f.name),
    direction: f.direction === 'inbound' ? 'inbound' : 'outbound',
    proto: String(f.proto),
    src: String(f.src),
    dst: String(f.dst),
    sport: num(f.sport),
    dport: Number(f.dport),
    iif: str(f.iif),
    oif: str(f.oif),
    uid: num(f.uid),
    gid: num(f.gid),
    ctstate: str(f.ctstate),
    expected: { result: String(f.result), toPort: num(f.to_port), setsMark: str(f.sets_mark) },
  }));
}

/** conventions.pod ({ eth0: 10.244.1.5/24, eth0_ipv6: fd00:…/64 }) → interface → CIDRs. */
function podCidrs(doc: Doc): Map<string, string[]> {
  const pod = ((doc.conventions as Doc | undefined)?.pod ?? {}) as Record<string, string>;
  const out = new Map<string, string[]>();
  for (const [key, cidr] of Object.entries(pod)) {
    const iface = key.replace(/_ipv[46]$/, '');
    out.set(iface, [...(out.get(iface) ?? []), String(cidr)]);
  }
  return out;
}

function identity(doc: Doc, who: string): { uid: number; gid: number } {
  const id = (((doc.conventions as Doc | undefined)?.identities ?? {}) as Record<string, { uid?: number; gid?: number }>)[who];
  return { uid: Number(id?.uid ?? 1000), gid: Number(id?.gid ?? id?.uid ?? 1000) };
}

// ---------------------------------------------------------------------------------------------
// iptables-save text.

interface SavedRule {
  text: string;
  packets: number;
  target: string;
}
type SavedTable = Map<string, SavedRule[]>; // chain (declaration order) → rules
type Saved = Map<string, SavedTable>;

function parseSave(text: string): Saved {
  const out: Saved = new Map();
  let t: SavedTable | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      t = new Map();
      out.set(line.slice(1).trim(), t);
      continue;
    }
    if (!t) continue;
    const c = /^:(\S+) /.exec(line);
    if (c) {
      t.set(c[1]!, []);
      continue;
    }
    const r = /^(?:\[(\d+):\d+\] )?-A (\S+) (.*)$/.exec(line);
    if (!r) continue;
    const targets = [...` ${r[3]}`.matchAll(/ -[jg] (\S+)/g)];
    if (!t.has(r[2]!)) t.set(r[2]!, []);
    t.get(r[2]!)!.push({ text: r[3]!, packets: Number(r[1] ?? 0), target: targets.at(-1)?.[1] ?? '' });
  }
  return out;
}

const builtinsOf = (table: string) => tableBuiltins[table as NetfilterTable] ?? [];

/** The engine's final chains as iptables-restore input made of -A rules only (no -I, no --noflush). */
function renderEngine(rs: Ruleset): string {
  let out = '';
  for (const [table, chains] of Object.entries(rs.tables)) {
    if (!chains || !chains.some((c) => c.rules.length || !builtinsOf(table).includes(c.name))) continue;
    out += `*${table}\n`;
    for (const c of chains) out += builtinsOf(table).includes(c.name) ? `:${c.name} ACCEPT [0:0]\n` : `:${c.name} - [0:0]\n`;
    for (const c of chains) for (const r of c.rules) out += `-A ${c.name} ${r}\n`;
    out += 'COMMIT\n';
  }
  return out;
}

/** The first difference between two saved states (tables holding rules or own chains; built-in declarations aside). */
function layoutDifference(kernel: Saved, engine: Saved): string | undefined {
  const used = (s: Saved) =>
    new Set([...s].filter(([name, t]) => [...t].some(([c, rules]) => rules.length || !builtinsOf(name).includes(c))).map(([name]) => name));
  const [kt, et] = [used(kernel), used(engine)];
  for (const name of new Set([...kt, ...et])) {
    if (!kt.has(name)) return `table ${name}: the engine has rules in it, the kernel none`;
    if (!et.has(name)) return `table ${name}: the kernel has rules in it, the engine none`;
    const [k, e] = [kernel.get(name)!, engine.get(name)!];
    const own = (t: SavedTable) => [...t.keys()].filter((c) => !builtinsOf(name).includes(c)).sort().join(' ');
    if (own(k) !== own(e)) return `table ${name}: the kernel has chains {${own(k)}}, the engine {${own(e)}}`;
    for (const chain of new Set([...k.keys(), ...e.keys()])) {
      const [kr, er] = [k.get(chain) ?? [], e.get(chain) ?? []];
      for (let i = 0; i < Math.max(kr.length, er.length); i++) {
        if (kr[i]?.text !== er[i]?.text) return `${name} ${chain} rule ${i + 1}: the kernel holds ${JSON.stringify(kr[i]?.text ?? '(nothing)')}, the engine ${JSON.stringify(er[i]?.text ?? '(nothing)')}`;
      }
    }
  }
  return undefined;
}

/** table → chain → the built-in chains from which it is reachable (by -j / -g). */
function reachers(saved: Saved): Map<string, Map<string, Set<string>>> {
  const out = new Map<string, Map<string, Set<string>>>();
  for (const [table, chains] of saved) {
    const m = new Map<string, Set<string>>();
    for (const b of builtinsOf(table)) {
      if (!chains.has(b)) continue;
      const stack = [b];
      const seen = new Set<string>();
      while (stack.length) {
        const c = stack.pop()!;
        if (seen.has(c)) continue;
        seen.add(c);
        if (!m.has(c)) m.set(c, new Set());
        m.get(c)!.add(b);
        for (const r of chains.get(c) ?? []) if (chains.has(r.target) && !builtinsOf(table).includes(r.target)) stack.push(r.target);
      }
    }
    out.set(table, m);
  }
  return out;
}

type PathKind = 'out' | 'out-lo' | 'in' | 'in-lo';

/**
 * The hooks, per table, that the flow's packets walk in the namespace while it is measured (the
 * first packet; for an ESTABLISHED flow also the pod's own ACKs). A packet looped over lo walks
 * OUTPUT and then PREROUTING, but the nat table only once: its NAT is decided in OUTPUT.
 */
function walkedHooks(kind: PathKind, established: boolean): Record<string, string[]> {
  const w: Record<string, string[]> =
    kind === 'out'
      ? { raw: ['OUTPUT'], mangle: ['OUTPUT', 'POSTROUTING'], nat: ['OUTPUT', 'POSTROUTING'], filter: ['OUTPUT'] }
      : kind === 'in'
        ? { raw: ['PREROUTING'], mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'POSTROUTING'], nat: ['PREROUTING', 'INPUT', 'POSTROUTING'], filter: ['INPUT', 'FORWARD'] }
        : { raw: ['OUTPUT', 'PREROUTING'], mangle: ['OUTPUT', 'POSTROUTING', 'PREROUTING', 'INPUT'], nat: ['OUTPUT', 'POSTROUTING'], filter: ['OUTPUT', 'INPUT'] };
  if (established) for (const t of ['raw', 'mangle', 'filter']) w[t] = [...new Set([...w[t]!, 'OUTPUT', 'POSTROUTING'])];
  return w;
}

/**
 * Chains whose counters belong to the flow's hook alone: reachable from it and from no other hook
 * the packets walk in that table. `shared`: reachable from the hook but also from another walked
 * one — their counters cannot be attributed, so both sides leave them out.
 */
function scope(reach: Map<string, Map<string, Set<string>>>, hook: string, kind: PathKind, established: boolean) {
  const walked = walkedHooks(kind, established);
  const own = new Set<string>();
  const shared = new Set<string>();
  for (const [table, chains] of reach) {
    for (const [chain, from] of chains) {
      if (!from.has(hook)) continue;
      const others = [...from].filter((b) => b !== hook && (walked[table] ?? []).includes(b));
      (others.length ? shared : own).add(`${table} ${chain}`);
    }
  }
  return { own, shared };
}

// ---------------------------------------------------------------------------------------------
// Helper programs, run inside the namespaces (Perl: it starts in milliseconds and sets
// IP_TRANSPARENT, which Node cannot).

const SENDER = String.raw`# pp-send.pl tcp|udp <src> <sport> <dst> <dport> [established]
# One first packet (a SYN by a non-blocking connect, or one UDP datagram) from src:sport; or, with
# "established", a full connection that sends one data segment when told to ("go" on stdin).
use strict; use warnings; use Errno;
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK);
use Socket qw(AF_INET AF_INET6 SOCK_STREAM SOCK_DGRAM SOL_SOCKET SO_REUSEADDR pack_sockaddr_in pack_sockaddr_in6 inet_pton);
my ($proto, $src, $sport, $dst, $dport, $mode) = @ARGV;
$mode //= '';
my $af = $dst =~ /:/ ? AF_INET6 : AF_INET;
sub addr { my ($a, $p) = @_; my $n = inet_pton($af, $a) // die "bad address $a\n"; $af == AF_INET6 ? pack_sockaddr_in6($p, $n) : pack_sockaddr_in($p, $n) }
socket(my $s, $af, $proto eq 'udp' ? SOCK_DGRAM : SOCK_STREAM, 0) or die "socket: $!\n";
setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);
bind($s, addr($src, $sport)) or die "bind $src port $sport: $!\n";
$| = 1;
if ($proto eq 'udp') { defined(send($s, "podpath", 0, addr($dst, $dport))) or die "send: $!\n"; exit 0; }
if ($mode eq 'established') {
  connect($s, addr($dst, $dport)) or die "connect: $!\n";
  print "up\n";
  my $go = <STDIN>;
  syswrite($s, "podpath") or die "write: $!\n";
  print "sent\n";
  my $bye = <STDIN>;
  exit 0;
}
fcntl($s, F_SETFL, fcntl($s, F_GETFL, 0) | O_NONBLOCK);
connect($s, addr($dst, $dport)) or $!{EINPROGRESS} or die "connect: $!\n";
exit 0;
`;

const LISTENER = String.raw`# pp-listen.pl 4|6 <port> [transparent]: a TCP listener (IP_TRANSPARENT / IPV6_TRANSPARENT for
# TPROXY) that never accepts; the kernel completes handshakes into its backlog. Ends with stdin.
use strict; use warnings;
use Socket qw(AF_INET AF_INET6 SOCK_STREAM SOL_SOCKET SO_REUSEADDR INADDR_ANY pack_sockaddr_in pack_sockaddr_in6 inet_pton);
my ($fam, $port, $transparent) = @ARGV;
my $v6 = $fam eq '6';
socket(my $s, $v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0) or die "socket: $!\n";
setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);
if ($v6) { setsockopt($s, 41, 26, 1) or die "IPV6_V6ONLY: $!\n"; }
if ($transparent) { ($v6 ? setsockopt($s, 41, 75, 1) : setsockopt($s, 0, 19, 1)) or die "IP_TRANSPARENT: $!\n"; }
bind($s, $v6 ? pack_sockaddr_in6($port, inet_pton(AF_INET6, '::')) : pack_sockaddr_in($port, INADDR_ANY)) or die "bind port $port: $!\n";
listen($s, 128) or die "listen: $!\n";
$| = 1;
print "ready\n";
my $end = <STDIN>;
`;

/** Read a child's stdout until a line equals `want` (or it ends, or time runs out). */
function waitLine(p: ChildProcess, want: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (v: boolean) => {
      clearTimeout(timer);
      p.stdout?.off('data', onData);
      p.off('exit', onExit);
      resolve(v);
    };
    const onData = (d: Buffer) => {
      buf += d.toString();
      if (buf.split('\n').includes(want)) done(true);
    };
    const onExit = () => done(false);
    const timer = setTimeout(() => done(false), ms);
    p.stdout?.on('data', onData);
    p.once('exit', onExit);
  });
}

// ---------------------------------------------------------------------------------------------
// Namespaces and processes of one case; removed by close() (and on exit, whatever happened).

const open = new Set<Lab>();
process.on('exit', () => {
  for (const lab of open) lab.close();
});

class Lab {
  private readonly names: string[] = [];
  private readonly procs: ChildProcess[] = [];
  constructor() {
    open.add(this);
  }
  ns(name: string): string {
    sh('ip', ['netns', 'add', name]);
    this.names.push(name);
    return name;
  }
  spawn(ns: string, args: string[]): ChildProcess {
    const p = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    p.stderr?.setEncoding('utf8');
    p.on('error', () => {});
    p.stdin?.on('error', () => {});
    this.procs.push(p);
    return p;
  }
  close() {
    // `ip netns exec` execs the command, so each pid is the helper itself.
    for (const p of this.procs.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const n of this.names.splice(0)) {
      try {
        sh('ip', ['netns', 'del', n]);
      } catch {
        /* already gone */
      }
    }
    open.delete(this);
  }
}

// ---------------------------------------------------------------------------------------------
// IPv4 / IPv6 arithmetic for the addresses of the test links.

function v4ToNum(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}
function numToV4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}
function v6ToStr(b: bigint): string {
  return Array.from({ length: 8 }, (_, i) => ((b >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
}
/** Another host address in the same prefix (the network's first host, or its second if that is `addr`). */
function gatewayFor(cidr: string): string {
  const [addr, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (isV6(addr!)) {
    const a = parseIPv6(addr!)!;
    const net = (a >> BigInt(128 - bits)) << BigInt(128 - bits);
    return v6ToStr(net + 1n === a ? net + 2n : net + 1n);
  }
  const a = v4ToNum(addr!);
  const size = 2 ** (32 - bits);
  const net = a - (a % size);
  return numToV4(net + 1 === a ? net + 2 : net + 1);
}

// ---------------------------------------------------------------------------------------------

interface Outcome {
  result: string;
  toPort?: number;
  setsMark?: string;
}
const show = (o: Outcome) => `${o.result}${o.toPort !== undefined ? ` to ${o.toPort}` : ''}${o.setsMark !== undefined ? ` mark ${o.setsMark}` : ''}`;
const sameOutcome = (a: Outcome, b: Outcome) => a.result === b.result && a.toPort === b.toPort && a.setsMark === b.setsMark;

function engineOutcome(o: CaptureOutcome): Outcome {
  return { result: o.result, toPort: o.toPort, setsMark: o.setsMark === undefined ? undefined : String(o.setsMark) };
}

interface Evidence {
  before: Saved;
  after: Saved;
  conntrack: string;
  synRecv: string;
  marks: number[];
}

/** What the kernel did with the flow's packet, from its records. */
function kernelOutcome(flow: Flow, sport: number, kind: PathKind, own: Set<string>, ev: Evidence) {
  const hits: { key: string; text: string; target: string }[] = [];
  for (const [table, chains] of ev.after) {
    for (const [chain, rules] of chains) {
      if (!own.has(`${table} ${chain}`)) continue;
      rules.forEach((r, i) => {
        const was = ev.before.get(table)?.get(chain)?.[i]?.packets ?? 0;
        if (r.packets > was) hits.push({ key: `${table} ${chain} #${i + 1}`, text: `${table} ${chain}: ${r.text}`, target: r.target });
      });
    }
  }
  const notes: string[] = [];
  let why = 'rule counters';
  // conntrack: the connection by its exact original tuple; a NAT shows in the reply tuple.
  let nat: { ip: string; port: number } | undefined;
  for (const line of ev.conntrack.split('\n')) {
    const m = /src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+) .*?src=(\S+) dst=\S+ sport=(\d+) dport=\d+/.exec(line);
    if (!m || !sameAddr(m[1]!, flow.src) || !sameAddr(m[2]!, flow.dst) || Number(m[3]) !== sport || Number(m[4]) !== flow.dport) continue;
    if (!sameAddr(m[5]!, flow.dst) || Number(m[6]) !== flow.dport) nat = { ip: m[5]!, port: Number(m[6]) };
  }
  // The NAT of a connection looped over lo was decided in OUTPUT, not by the PREROUTING rules an
  // inbound-on-lo flow is about; an ESTABLISHED packet only inherits its connection's NAT.
  const natCounts = kind !== 'in-lo' && !flow.ctstate;
  let out: Outcome;
  const tproxy = hits.find((h) => h.target === 'TPROXY');
  if (nat && natCounts) {
    out = { result: 'REDIRECT', toPort: nat.port };
    why = `conntrack reply tuple from ${nat.ip}:${nat.port}`;
    if (!hits.some((h) => h.target === 'REDIRECT')) notes.push(`conntrack shows NAT to ${nat.ip}:${nat.port} without a counted REDIRECT rule`);
  } else if (tproxy) {
    const onPort = Number(/--on-port (\d+)/.exec(tproxy.text)?.[1]);
    const held = ev.synRecv.split('\n').some((l) => {
      const w = l.trim().split(/\s+/);
      const split = (s = '') => [s.slice(0, s.lastIndexOf(':')).replace(/^\[|\]$/g, ''), Number(s.slice(s.lastIndexOf(':') + 1))] as const;
      const [la, lp] = split(w[2]);
      const [pa, pp] = split(w[3]);
      return la && pa && sameAddr(la, flow.dst) && lp === flow.dport && sameAddr(pa, flow.src) && pp === sport;
    });
    out = held ? { result: 'TPROXY', toPort: onPort } : { result: 'DROP' };
    why = held ? `TPROXY rule counted; half-open connection ${flow.dst}:${flow.dport} held by the transparent listener; marks at INPUT [${ev.marks.join(', ')}]` : why;
    if (!held) notes.push(`the TPROXY rule counted the packet but no transparent listener on ${onPort} holds the connection (TPROXY drops it)`);
  } else if (hits.some((h) => h.target === 'DROP' || h.target === 'REJECT')) {
    out = { result: hits.find((h) => h.target === 'DROP' || h.target === 'REJECT')!.target };
  } else if (hits.some((h) => h.target === 'ACCEPT')) {
    const marks = flow.direction === 'inbound' ? ev.marks.filter((m) => m !== 0) : [];
    out = { result: 'ACCEPT', ...(marks.length === 1 ? { setsMark: String(marks[0]) } : {}) };
    why = `ACCEPT target counted; marks at INPUT [${marks.join(', ')}]`;
    if (marks.length > 1) notes.push(`marks seen at INPUT: ${marks.join(', ')}`);
  } else if (hits.some((h) => h.target === 'RETURN')) {
    out = { result: 'RETURN' };
  } else {
    out = { result: 'ACCEPT' };
  }
  return { outcome: out, hits, notes, why };
}

export interface IstioKernelSummary {
  failures: number;
  skipped: number;
}

/**
 * Section "istio" of kernel-check: every case under `root`. `fail` prints and counts a failure.
 */
export async function kernelIstio(root: string, tag: string, fail: (msg: string) => void): Promise<IstioKernelSummary> {
  const started = Date.now();
  const tmp = mkdtempSync(join(tmpdir(), 'pp-istio-'));
  chmodSync(tmp, 0o755); // the senders run as the flows' uids
  const removeTmp = () => rmSync(tmp, { recursive: true, force: true });
  process.on('exit', removeTmp);
  const sendPl = join(tmp, 'pp-send.pl');
  const listenPl = join(tmp, 'pp-listen.pl');
  writeFileSync(sendPl, SENDER, { mode: 0o644 });
  writeFileSync(listenPl, LISTENER, { mode: 0o644 });
  const onSignal = () => process.exit(130); // the exit handlers remove namespaces and processes
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let failures = 0;
  const failed = (msg: string) => {
    failures++;
    fail(msg);
  };
  const skipReasons = new Map<string, number>();
  let cases = 0;
  let flowsTotal = 0;
  let agreedTotal = 0;
  try {
    let dirs: string[] = [];
    try {
      dirs = findCases(root).filter(isIstioIptablesCase);
    } catch (e) {
      failed(`kernel istio: cannot read the cases under ${root}: ${stderrOf(e)}`);
    }
    if (!dirs.length) failed(`kernel istio: no case found under ${root}`);
    for (const [ci, dir] of dirs.entries()) {
      cases++;
      try {
        const r = await runCase(dir, `${tag}${ci}`, { sendPl, listenPl }, failed, (reason) => skipReasons.set(reason, (skipReasons.get(reason) ?? 0) + 1));
        flowsTotal += r.flows;
        agreedTotal += r.agreed;
      } catch (e) {
        // The case's own files (params.yaml, flows.yaml) or the engine could not be read.
        failed(`kernel istio ${basename(dir)}: ${stderrOf(e)}`);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', removeTmp);
    removeTmp();
  }
  const skipped = [...skipReasons.values()].reduce((a, b) => a + b, 0);
  const reasons = [...skipReasons].map(([r, n]) => `${n}× ${r}`).join('; ');
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`kernel istio: ${cases} cases, ${flowsTotal} flows: ${agreedTotal} agree (kernel = engine = flows.yaml), ${skipped} skipped${skipped ? ` (${reasons})` : ''}, ${failures} failure(s); ${secs} s`);
  return { failures, skipped };
}

interface Files {
  sendPl: string;
  listenPl: string;
}

async function runCase(dir: string, tag: string, files: Files, fail: (msg: string) => void, skip: (reason: string) => void): Promise<{ flows: number; agreed: number }> {
  const name = basename(dir);
  const label = `kernel istio ${name}`;
  const params = load(join(dir, 'params.yaml'));
  const flowsDoc = load(join(dir, 'flows.yaml'));
  const flows = flowsOf(flowsDoc);
  const cfg = caseConfig(params);
  const restore = captureRestore(cfg);
  const rulesets = captureRulesets(cfg);
  const cidrs = podCidrs(flowsDoc);
  const app = identity(flowsDoc, 'app');
  // The interfaces the walker knows (as istioIptablesCases.ts gives them).
  const interfaces: PodInterfaces = { lo: ['127.0.0.1', '::1'] };
  for (const [iface, list] of cidrs) (interfaces[iface] ??= []).push(...list.map((c) => c.split('/')[0]!));
  const wantV6 = cfg.EnableIPv6 || [...cidrs.values()].flat().some(isV6) || flows.some((f) => isV6(f.dst));

  const lab = new Lab();
  let agreed = 0;
  try {
    // ---- the pod namespace and the namespaces behind its interfaces
    const pod = lab.ns(`${tag}-pod`);
    const sysctls = (ns: string) => {
      inNs(ns, 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.igmp_link_local_mcast_reports=0');
      if (wantV6) inNs(ns, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.router_solicitations=0', 'net.ipv6.conf.default.router_solicitations=0', 'net.ipv6.conf.all.accept_ra=0', 'net.ipv6.conf.default.accept_ra=0');
      else inNs(ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
      ipn(ns, 'link', 'set', 'lo', 'up');
    };
    sysctls(pod);
    // Every non-lo interface the conventions or the flows name gets a veth to a namespace of its own.
    const ifaces = [...new Set([...cidrs.keys(), ...flows.flatMap((f) => [f.iif, f.oif])].filter((x): x is string => !!x && x !== 'lo'))].sort();
    const behind = new Map<string, { ns: string; podAddrs: string[] }>();
    const hex = (n: number) => n.toString(16).padStart(2, '0');
    for (const [k, iface] of ifaces.entries()) {
      const peer = lab.ns(`${tag}-s${k}`);
      sysctls(peer);
      const [podMac, peerMac] = [`02:70:70:00:${hex(k)}:01`, `02:70:70:00:${hex(k)}:02`];
      ipn(pod, 'link', 'add', iface, 'address', podMac, 'type', 'veth', 'peer', 'name', 'wire', 'address', peerMac, 'netns', peer);
      const inbound = flows.filter((f) => f.direction === 'inbound' && f.iif === iface);
      // The conventions' addresses; an interface they leave out gets, per family, the first host of
      // the /24 (/64) of the first source arriving on it, as a /32 (/128): KubeVirt's masquerade
      // gateway 10.0.2.1 for the VM at 10.0.2.2. (REDIRECT in PREROUTING needs an address on the
      // interface: without one the kernel drops the packet.)
      const listed = cidrs.get(iface) ?? [];
      const podCidrList = [...listed];
      for (const fam of ['4', '6'] as Family[]) {
        if (listed.some((c) => isV6(c) === (fam === '6'))) continue;
        const src = inbound.find((f) => isV6(f.src) === (fam === '6'))?.src;
        if (src) podCidrList.push(`${gatewayFor(`${src}/${fam === '6' ? 64 : 24}`)}/${fam === '6' ? 128 : 32}`);
      }
      for (const c of podCidrList) ipn(pod, 'addr', 'add', c, 'dev', iface, ...(isV6(c) ? ['nodad'] : []));
      ipn(pod, 'link', 'set', iface, 'up');
      ipn(peer, 'link', 'set', 'wire', 'up');
      const peerAddrs = new Set<string>();
      const addPeer = (cidr: string) => {
        if (peerAddrs.has(canon(cidr.split('/')[0]!))) return;
        peerAddrs.add(canon(cidr.split('/')[0]!));
        ipn(peer, 'addr', 'add', cidr, 'dev', 'wire', ...(isV6(cidr) ? ['nodad'] : []));
      };
      for (const c of podCidrList) {
        const [a, bits] = c.split('/');
        const full = Number(bits) === (isV6(a!) ? 128 : 32);
        if (full) ipn(peer, ...(isV6(a!) ? ['-6'] : []), 'route', 'add', a!, 'dev', 'wire');
        else {
          // The peer holds the pod's gateway; the pod's default route of that family goes to it.
          const gw = gatewayFor(c);
          addPeer(`${gw}/${bits}`);
          ipn(pod, 'neigh', 'replace', gw, 'lladdr', peerMac, 'dev', iface, 'nud', 'permanent');
          if (iface === (ifaces.includes('eth0') ? 'eth0' : ifaces[0])) ipn(pod, ...(isV6(gw) ? ['-6'] : []), 'route', 'add', 'default', 'via', gw, 'dev', iface);
        }
        ipn(peer, 'neigh', 'replace', a!, 'lladdr', podMac, 'dev', 'wire', 'nud', 'permanent');
      }
      // The senders' addresses, and routes to destinations beyond the pod's address.
      for (const f of inbound) {
        addPeer(`${f.src}/${isV6(f.src) ? 128 : 32}`);
        const via = podCidrList.map((c) => c.split('/')[0]!).find((a) => isV6(a) === isV6(f.dst));
        const connected = podCidrList.some((c) => sameAddr(c.split('/')[0]!, f.dst));
        if (via && !connected) ipn(peer, ...(isV6(f.dst) ? ['-6'] : []), 'route', 'replace', f.dst, 'via', via, 'dev', 'wire');
      }
      // What reaches the peer is dropped (replies to the pod's outbound flows), unless let through.
      inNsInput(peer, ['add table inet ppq', 'add chain inet ppq pre { type filter hook prerouting priority -350 ; }', PEER_DROP, ''].join('\n'), 'nft', '-f', '-');
      behind.set(iface, { ns: peer, podAddrs: podCidrList.map((c) => c.split('/')[0]!) });
    }

    // ---- 1. the restore input, as istio-iptables applies it, and the routing commands
    try {
      inNsInput(pod, restore.ipv4, 'iptables-restore', '--noflush');
    } catch (e) {
      fail(`${label}: the kernel refused the IPv4 restore input: ${stderrOf(e)}`);
      return { flows: flows.length, agreed: 0 };
    }
    if (restore.ipv6) {
      try {
        inNsInput(pod, restore.ipv6, 'ip6tables-restore', '--noflush');
      } catch (e) {
        fail(`${label}: the kernel refused the IPv6 restore input: ${stderrOf(e)}`);
        return { flows: flows.length, agreed: 0 };
      }
    }
    for (const cmd of captureRouteCommands(cfg)) {
      try {
        inNs(pod, ...cmd.split(/\s+/));
      } catch (e) {
        fail(`${label}: "${cmd}" failed: ${stderrOf(e)}`);
        return { flows: flows.length, agreed: 0 };
      }
    }
    const saved: Record<Family, Saved> = { '4': parseSave(inNs(pod, 'iptables-save')), '6': parseSave(inNs(pod, 'ip6tables-save')) };
    // The engine's chains, normalised by iptables in a namespace of their own.
    const ref = lab.ns(`${tag}-ref`);
    const rendered: Record<Family, string> = { '4': renderEngine(rulesets.ipv4), '6': renderEngine(rulesets.ipv6) };
    const layoutProblems: string[] = [];
    const count = (s: Saved) => [...s.values()].flatMap((t) => [...t.values()]).reduce((n, r) => n + r.length, 0);
    for (const fam of ['4', '6'] as Family[]) {
      let engineSaved: Saved = new Map();
      if (rendered[fam]) {
        try {
          inNsInput(ref, rendered[fam], fam === '6' ? 'ip6tables-restore' : 'iptables-restore');
          engineSaved = parseSave(inNs(ref, fam === '6' ? 'ip6tables-save' : 'iptables-save'));
        } catch (e) {
          layoutProblems.push(`IPv${fam}: the engine's final chains do not load as -A rules: ${stderrOf(e)}`);
          continue;
        }
      }
      const d = layoutDifference(saved[fam], engineSaved);
      if (d) layoutProblems.push(`IPv${fam} ${d}`);
    }
    if (layoutProblems.length) fail(`${label}: iptables-save after the --noflush load differs from the engine's ruleset: ${layoutProblems.join('; ')}`);
    else {
      const n4 = count(saved['4']);
      const n6 = count(saved['6']);
      console.log(`ok   ${label}: the kernel accepted the restore input${restore.ipv6 ? ' (IPv4 and IPv6)' : ''}${captureRouteCommands(cfg).length ? ' and the route commands' : ''}; iptables-save holds the engine's ${n4}${restore.ipv6 ? ` + ${n6}` : ''} rules, chain by chain in order`);
    }

    // ---- 2. the flows
    // Before the raw table: no replies (SYN-ACK, RST, ICMP errors) and nothing but TCP/UDP in or
    // out, so the counters see only the flow's own packet; at INPUT the marks packets carry; after
    // every PREROUTING table a counter, to know when an arriving packet has been through them.
    const quietRules = ['add rule inet ppk out meta l4proto != { tcp, udp } drop', 'add rule inet ppk out tcp flags & (syn | ack) == syn | ack drop', 'add rule inet ppk out tcp flags & rst == rst drop'];
    inNsInput(
      pod,
      [
        'add table inet ppk',
        'add chain inet ppk out { type filter hook output priority -350 ; }',
        'add chain inet ppk pre { type filter hook prerouting priority -350 ; }',
        'add chain inet ppk in { type filter hook input priority 350 ; }',
        'add set inet ppk marks { type mark ; flags dynamic ; }',
        'add counter inet ppk seen',
        'add chain inet ppk late { type filter hook prerouting priority 350 ; }',
        'add rule inet ppk late meta l4proto { tcp, udp } counter name "seen"',
        ...quietRules,
        'add rule inet ppk pre meta l4proto != { tcp, udp } drop',
        'add rule inet ppk in meta mark != 0 add @marks { meta mark }',
        '',
      ].join('\n'),
      'nft',
      '-f',
      '-',
    );
    const quiet = (on: boolean) => {
      inNs(pod, 'nft', 'flush', 'chain', 'inet', 'ppk', 'out');
      if (on) inNsInput(pod, quietRules.join('\n') + '\n', 'nft', '-f', '-');
      for (const { ns } of behind.values()) {
        inNs(ns, 'nft', 'flush', 'chain', 'inet', 'ppq', 'pre');
        if (on) inNsInput(ns, `${PEER_DROP}\n`, 'nft', '-f', '-');
      }
    };
    // Transparent listeners on the TPROXY ports (each family whose rules have them).
    const listenerPorts = new Set<string>();
    const listen = async (fam: Family, port: number, transparent: boolean): Promise<string | undefined> => {
      const key = `${fam}:${port}`;
      if (listenerPorts.has(key)) return undefined;
      const p = lab.spawn(pod, ['perl', files.listenPl, fam, String(port), ...(transparent ? ['transparent'] : [])]);
      let err = '';
      p.stderr?.on('data', (d: string) => (err += d));
      if (!(await waitLine(p, 'ready', 5000))) return `listener on ${port} (IPv${fam}) did not start: ${err.trim() || 'no answer'}`;
      listenerPorts.add(key);
      return undefined;
    };
    const portsOf = (fam: Family, re: RegExp) =>
      [...saved[fam].values()].flatMap((t) => [...t.values()].flat()).flatMap((r) => [...r.text.matchAll(re)].map((m) => Number(m[1])));
    for (const fam of ['4', '6'] as Family[]) {
      for (const port of new Set(portsOf(fam, /--on-port (\d+)/g))) {
        const problem = await listen(fam, port, true);
        if (problem) fail(`${label}: ${problem}`);
      }
    }

    const reach: Record<Family, ReturnType<typeof reachers>> = { '4': reachers(saved['4']), '6': reachers(saved['6']) };
    const order = flows.map((f, i) => ({ f, i })).sort((a, b) => Number(!!a.f.ctstate) - Number(!!b.f.ctstate));
    let caseFlows = 0;
    let caseSkips = 0;
    let excludedChains = 0;
    for (const { f, i } of order) {
      caseFlows++;
      const fam: Family = isV6(f.dst) ? '6' : '4';
      const sport = f.sport ?? 40000 + i;
      const skipFlow = (reason: string, detail = '') => {
        caseSkips++;
        skip(reason);
        console.log(`SKIP ${label}: flow "${f.name}": ${reason}${detail ? ` (${detail})` : ''}`);
      };
      // What can be replayed here.
      if (f.proto !== 'tcp' && f.proto !== 'udp') {
        skipFlow(`protocol ${f.proto} is not sent by this check`);
        continue;
      }
      if (isV6(f.src) !== isV6(f.dst)) {
        skipFlow('source and destination of different families');
        continue;
      }
      if (f.ctstate && f.ctstate !== 'NEW' && !(f.ctstate === 'ESTABLISHED' && f.proto === 'tcp' && f.direction === 'inbound' && f.iif && f.iif !== 'lo')) {
        skipFlow(`conntrack state ${f.ctstate} is replayed only for inbound TCP from a peer`);
        continue;
      }
      const established = f.ctstate === 'ESTABLISHED';
      const kind: PathKind = f.direction === 'outbound' ? (f.oif === 'lo' ? 'out-lo' : 'out') : (f.iif ?? 'eth0') === 'lo' ? 'in-lo' : 'in';
      const local = (a: string) => a === '::1' || a.startsWith('127.') || [...cidrs.values()].flat().some((c) => sameAddr(c.split('/')[0]!, a)) || (cfg.EnableIPv6 && sameAddr(a, '::6'));
      let senderNs: string;
      let who: string[] = [];
      if (kind === 'in') {
        const b = behind.get(f.iif ?? 'eth0');
        if (!b) {
          skipFlow(`no namespace behind ${f.iif}`);
          continue;
        }
        if (local(f.src)) {
          skipFlow('an inbound source that is the pod\'s own address cannot arrive from a peer');
          continue;
        }
        if (!b.podAddrs.some((a) => isV6(a) === isV6(f.dst))) {
          skipFlow(`${f.iif} has no IPv${fam} address to route the packet to`);
          continue;
        }
        senderNs = b.ns;
      } else {
        if (!local(f.src)) {
          skipFlow('the source is not an address of the pod');
          continue;
        }
        if (kind === 'in-lo' && !local(f.dst)) {
          skipFlow('a packet to a non-local address does not come back in on lo');
          continue;
        }
        senderNs = pod;
        const id = { uid: f.uid ?? app.uid, gid: f.gid ?? app.gid };
        who = ['setpriv', `--reuid=${id.uid}`, `--regid=${id.gid}`, '--clear-groups'];
      }

      // The engine: the same packet (with the source port the kernel's is sent from).
      const podFlow: PodFlow = {
        direction: f.direction,
        proto: f.proto as 'tcp' | 'udp',
        src: f.src,
        dst: f.dst,
        sport,
        dport: f.dport,
        iif: f.iif,
        oif: f.oif,
        uid: f.uid,
        gid: f.gid,
        ctstate: f.ctstate as PodFlow['ctstate'],
      };
      const engine = walkPodFlow(rulesets, podFlow, interfaces);

      const save = fam === '6' ? 'ip6tables-save' : 'iptables-save';
      // After the packet: the counters, conntrack, the half-open connections, the marks at INPUT.
      const snapshot = `${save} -c; echo @@; conntrack -L -f ipv${fam} -p ${f.proto} 2>/dev/null; echo @@; ss -Htn state syn-recv; echo @@; nft list set inet ppk marks`;
      let before: Saved;
      let afterText: string[];
      if (!established) {
        // One shell in the pod per flow: the route the kernel picks (outbound), the counters
        // before, the packet, the records after.
        const send = [...(senderNs === pod ? [] : ['ip', 'netns', 'exec', senderNs]), 'timeout', '5', ...who, 'perl', files.sendPl, f.proto, f.src, String(sport), f.dst, String(f.dport)].map(quote).join(' ');
        const parts = inNs(
          pod,
          'sh',
          '-c',
          [
            f.direction === 'outbound' ? `ip ${fam === '6' ? '-6 ' : ''}route get ${quote(f.dst)} from ${quote(f.src)} 2>&1` : 'true',
            'echo @@',
            `conntrack -F >/dev/null 2>&1; conntrack -F -f ipv6 >/dev/null 2>&1; nft flush set inet ppk marks; nft reset counter inet ppk seen >/dev/null; ${save} -c`,
            'echo @@',
            `${send} 2>&1; echo "exit $?"`,
            'echo @@',
            // An arriving packet (from a peer, or looped over lo) is handled in softirq; what a
            // process sends out is handled in its own system call.
            f.direction === 'inbound' ? AWAIT_PREROUTING : 'true',
            snapshot,
          ].join('\n'),
        ).split('@@\n');
        // Outbound: the kernel's route must leave where the walker's packet leaves.
        if (f.direction === 'outbound') {
          const out = engine.walk.packet.outIface;
          const dev = /\bdev (\S+)/.exec(parts[0]!)?.[1] ?? `(no route: ${parts[0]!.trim()})`;
          if (dev !== out) {
            fail(`${label}: flow "${f.name}": the kernel routes ${f.src} → ${f.dst} via ${dev}, the walker's packet leaves by ${out}`);
            continue;
          }
        }
        const sent = /exit (\d+)\s*$/.exec(parts[2] ?? '');
        if (sent?.[1] !== '0') {
          skipFlow('the kernel refused to send it', (parts[2] ?? '').replace(/exit \d+\s*$/, '').trim().split('\n').join(' / '));
          continue;
        }
        before = parseSave(parts[1] ?? '');
        afterText = parts.slice(3);
      } else {
        // Let the handshake through: listeners on the destination and the redirect ports.
        const problems: string[] = [];
        for (const port of new Set([f.dport, ...portsOf(fam, /--to-ports? (\d+)/g)])) {
          const p = await listen(fam, port, false);
          if (p) problems.push(p);
        }
        if (problems.length) {
          skipFlow('no listener for the handshake', problems.join('; '));
          continue;
        }
        quiet(false);
        try {
          inNs(pod, 'sh', '-c', 'conntrack -F >/dev/null 2>&1; conntrack -F -f ipv6 >/dev/null 2>&1; true');
          const p = lab.spawn(senderNs, ['timeout', '10', 'perl', files.sendPl, f.proto, f.src, String(sport), f.dst, String(f.dport), 'established']);
          let err = '';
          p.stderr?.on('data', (d: string) => (err += d));
          if (!(await waitLine(p, 'up', 5000))) {
            fail(`${label}: flow "${f.name}": the connection to replay an ESTABLISHED packet on was not established (${err.trim() || 'no answer'})`);
            p.kill('SIGKILL');
            continue;
          }
          await sleep(50);
          before = parseSave(inNs(pod, 'sh', '-c', `nft flush set inet ppk marks; nft reset counter inet ppk seen >/dev/null; ${save} -c`));
          const sent = waitLine(p, 'sent', 5000);
          p.stdin?.write('go\n');
          if (!(await sent)) {
            fail(`${label}: flow "${f.name}": the data segment was not sent (${err.trim() || 'no answer'})`);
            p.kill('SIGKILL');
            continue;
          }
          afterText = inNs(pod, 'sh', '-c', `${AWAIT_PREROUTING}; ${snapshot}`).split('@@\n');
          p.stdin?.end('bye\n');
        } finally {
          quiet(true);
        }
      }
      const marks = [...(afterText[3] ?? '').matchAll(/0x([0-9a-f]+)/g)].map((m) => parseInt(m[1]!, 16));
      const ev: Evidence = { before, after: parseSave(afterText[0] ?? ''), conntrack: afterText[1] ?? '', synRecv: afterText[2] ?? '', marks };
      const hook = f.direction === 'inbound' ? 'PREROUTING' : 'OUTPUT';
      const { own, shared } = scope(reach[fam], hook, kind, established);
      excludedChains += shared.size;
      const k = kernelOutcome(f, sport, kind, own, ev);
      const e = engineOutcome(engine);
      const engineHits = engine.walk.steps.filter((s) => s.matched && own.has(`${s.table} ${s.chain}`));
      const kernelKeys = new Set(k.hits.map((h) => h.key));
      const engineKeys = new Set(engineHits.map((s) => `${s.table} ${s.chain} #${s.ruleNumber}`));
      // An ESTABLISHED replay also makes the pod ACK the segment. In TPROXY mode that ACK carries the
      // connection's mark 1337 (CONNMARK --restore-mark), so Istio's policy route (table 133: local
      // 0.0.0.0/0 dev lo) loops it over lo, where it meets the "-i lo" rules of mangle PREROUTING
      // — whether that happens inside the measuring window is timing. A packet that arrived on
      // another interface cannot match "-i lo": such counts are the ACK's, not the flow's.
      const mine = (h: { text: string }) => !(established && (f.iif ?? 'eth0') !== 'lo' && / -i lo /.test(` ${h.text.slice(h.text.indexOf(': ') + 2)} `));
      const onlyKernel = k.hits.filter((h) => mine(h) && !engineKeys.has(h.key)).map((h) => `${h.key} (${h.text})`);
      const onlyEngine = engineHits.filter((s) => !kernelKeys.has(`${s.table} ${s.chain} #${s.ruleNumber}`)).map((s) => `${s.table} ${s.chain} #${s.ruleNumber} (${s.text})`);
      const problems: string[] = [];
      if (!sameOutcome(k.outcome, e)) problems.push(`the kernel gave ${show(k.outcome)}, the engine ${show(e)}`);
      if (onlyKernel.length || onlyEngine.length) problems.push(`rules counted by the kernel only: [${onlyKernel.join('; ')}], matched by the engine only: [${onlyEngine.join('; ')}]`);
      if (!problems.length && !sameOutcome(k.outcome, f.expected)) problems.push(`the kernel and the engine give ${show(k.outcome)}, flows.yaml expects ${show(f.expected)}`);
      if (VERBOSE) console.log(`     ${f.name}: kernel ${show(k.outcome)} (${k.why}); counted [${k.hits.map((h) => h.key).join(', ')}]${shared.size ? `; left out: ${[...shared].join(', ')}` : ''}`);
      if (problems.length) {
        fail(`${label}: flow "${f.name}" (${f.proto} ${f.src} → ${f.dst}:${f.dport}${f.ctstate ? ` ${f.ctstate}` : ''}): ${problems.join('; ')}${k.notes.length ? ` [${k.notes.join('; ')}]` : ''}`);
      } else agreed++;
    }
    const failedFlows = caseFlows - agreed - caseSkips;
    if (!failedFlows) {
      console.log(`ok   ${label}: ${agreed} flows agree${caseSkips ? `, ${caseSkips} skipped` : ''}${excludedChains ? ` (${excludedChains} chain(s) reached from two hooks left out of the rule comparison)` : ''}`);
    }
    return { flows: caseFlows, agreed };
  } catch (e) {
    fail(`${label}: ${stderrOf(e)}`);
    return { flows: flows.length, agreed };
  } finally {
    lab.close();
  }
}
