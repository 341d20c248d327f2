// The namespace lab of the Istio kernel check (scripts/kernelIstio.ts): a pod-like network
// namespace for one case, a namespace behind each of its interfaces (a veth pair; the senders of
// inbound flows live there), the helper programs run inside them, and the shell helpers to reach
// them. Only namespaces made here carry traffic; each case's namespaces and processes are removed
// when it ends, also on failure, and on exit. Every command runs with a time limit.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PodFlow } from '../src/engine/istio/captureWalk.ts';
import { parseIPv6 } from '../src/engine/util/ip.ts';

export type Family = '4' | '6';

const TIMEOUT_MS = 10_000;
/** The peers drop what reaches them (replies to the pod's outbound flows) unless let through. */
export const PEER_DROP = 'add rule inet ppq pre iifname "wire" meta l4proto { tcp, udp } drop';
const sh = (cmd: string, args: string[], input?: string) => execFileSync(cmd, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: TIMEOUT_MS });
export const inNs = (ns: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, ...args]);
export const inNsInput = (ns: string, input: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, ...args], input);
/** ip(8) in a namespace without `ip netns exec`'s mount namespace. */
const ipn = (ns: string, ...args: string[]) => sh('ip', ['-n', ns, ...args]);
export const stderrOf = (e: unknown) => String((e as { stderr?: string }).stderr || (e as Error).message || e).trim().split('\n').slice(0, 3).join(' / ');
export const isV6 = (a: string) => a.includes(':');
const canon = (a: string) => (isV6(a) ? String(parseIPv6(a) ?? a) : a);
export const sameAddr = (a: string, b: string) => canon(a) === canon(b);

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

export interface HelperPrograms {
  sendPl: string;
  listenPl: string;
}

/** The helper programs written to `dir` (readable by the flows' uids, which run the sender). */
export function writeHelperPrograms(dir: string): HelperPrograms {
  const sendPl = join(dir, 'pp-send.pl');
  const listenPl = join(dir, 'pp-listen.pl');
  writeFileSync(sendPl, SENDER, { mode: 0o644 });
  writeFileSync(listenPl, LISTENER, { mode: 0o644 });
  return { sendPl, listenPl };
}

/** Read a child's stdout until a line equals `want` (or it ends, or time runs out). */
export function waitLine(p: ChildProcess, want: string, ms: number): Promise<boolean> {
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

export class Lab {
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
// The pod namespace and the namespaces behind its interfaces.

export interface PodLab {
  pod: string;
  /** Interface → the namespace behind it and the pod's addresses on it. */
  behind: Map<string, { ns: string; podAddrs: string[] }>;
}

/**
 * The pod namespace with an interface per name the conventions (`cidrs`) or the flows give, each
 * a veth to a namespace of its own holding the pod's gateway and the inbound flows' sources.
 */
export function podLab(lab: Lab, tag: string, cidrs: Map<string, string[]>, flows: Pick<PodFlow, 'direction' | 'src' | 'dst' | 'iif' | 'oif'>[], wantV6: boolean): PodLab {
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
  return { pod, behind };
}
