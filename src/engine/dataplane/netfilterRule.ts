// The iptables rule language as the walker reads it: the packet and context a rule is tested
// against, and a parser from one rule's iptables-save text to its tests and target (matches: -p -s
// -d -i -o, ports, addrtype, recent, conntrack / state, mark, set, physdev, owner, multiport,
// socket, connmark, statistic; targets and their arguments). Used by netfilter.ts.

import type { Prng } from '../util/prng.ts';
import { ipInCidr } from '../util/ip.ts';

export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';
export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID';

export interface NfPacket {
  src: string;
  dst: string;
  /** ipip: an IP-in-IP packet (IP protocol 4), which has no ports. */
  proto: 'tcp' | 'udp' | 'ipip';
  sport: number;
  dport: number;
  mark: number;
  inIface?: string;
  outIface?: string;
  /** Owner of the sending socket, for "-m owner" (locally generated packets only; unset: no socket). */
  uid?: number;
  gid?: number;
  /** The connection's mark ("-m connmark", CONNMARK --save-mark / --restore-mark); unset: 0. */
  ctmark?: number;
}

export interface NfContext {
  /** Addresses for which "-m addrtype --dst-type LOCAL" matches (the node's own addresses). */
  localIPs: ReadonlySet<string>;
  ctstate: CtState;
  /** Whether the connection already has a DNAT binding (for "--ctstate DNAT"). */
  ctDnat: boolean;
  rng: Prng;
  /** The address MASQUERADE uses: the primary address of the outgoing interface. */
  ifaceAddress(iface: string): string | undefined;
  /** IPVS mode's ipsets, for "-m set --match-set". */
  ipsets?: Record<string, { type: string; entries: string[] }>;
  /** Bridges whose ports count for "-m physdev --physdev-is-in". */
  bridges?: ReadonlySet<string>;
  /** "-m socket": whether a local socket owns the packet's connection (unset: none does). */
  socket?: (p: NfPacket, opts: { transparent: boolean; nowildcard: boolean }) => boolean;
}

// An ipset of the hash / bitmap types is a hash table in the kernel (net/netfilter/ipset/
// ip_set_hash_gen.h): membership costs one lookup, not a scan. Each set's entries are indexed once.
const indexed = new WeakMap<object, Set<string>>();
function members(set: { entries: string[] }): Set<string> {
  let m = indexed.get(set);
  if (!m) indexed.set(set, (m = new Set(set.entries)));
  return m;
}

/** ipset membership for "-m set --match-set NAME flags" (flags pick which packet fields form the key). */
function inIpset(set: { type: string; entries: string[] } | undefined, flags: string, p: NfPacket): boolean {
  if (!set) return false;
  const field = (f: string, i: number) => {
    if (f === 'dst') return i === 0 ? p.dst : `${p.proto}:${p.dport}`;
    return i === 0 ? p.src : `${p.proto}:${p.sport}`;
  };
  const fs = flags.split(',');
  if (set.type === 'bitmap:port') return members(set).has(String(fs[0] === 'dst' ? p.dport : p.sport));
  if (set.type === 'hash:ip') return members(set).has(fs[0] === 'dst' ? p.dst : p.src);
  const key = [field(fs[0]!, 0), field(fs[1]!, 1)].join(',');
  if (set.type === 'hash:ip,port') return members(set).has(key);
  const third = fs[2] === 'dst' ? p.dst : p.src;
  if (set.type === 'hash:ip,port,ip') return members(set).has(`${key},${third}`);
  // hash:ip,port,net: the third part is a CIDR the address must fall in.
  return set.entries.some((e) => e.startsWith(`${key},`) && ipInCidr(third, e.slice(key.length + 1)));
}

export function parseNumber(s: string): number {
  const t = s.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t.slice(2), 16) >>> 0;
  if (/^0[0-7]+$/.test(t)) return parseInt(t, 8) >>> 0;
  return /^\d+$/.test(t) ? Number(t) >>> 0 : NaN;
}

/** "value[/mask]" of --mark, --set-mark, --tproxy-mark … (mask default 0xffffffff). */
export function valueMask(s: string): [number, number] {
  const [v, m] = s.split('/');
  return [parseNumber(v ?? ''), m === undefined ? 0xffffffff : parseNumber(m)];
}

/** A port ("80") or range ("1000:2000") as --dport / --dports take them. */
function portMatch(spec: string): (port: number) => boolean {
  const [a, b] = spec.split(':');
  const lo = a === '' ? 0 : Number(a);
  const hi = b === undefined ? lo : b === '' ? 65535 : Number(b);
  return (port) => port >= lo && port <= hi;
}

/** --uid-owner / --gid-owner: a number or "a-b" range; names are not resolved (never match). */
function idMatch(spec: string): (id: number | undefined) => boolean {
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec);
  if (!m) return () => false;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return (id) => id !== undefined && id >= lo && id <= hi;
}

export interface ParsedRule {
  text: string;
  tests: ((p: NfPacket, c: NfContext) => boolean)[];
  /** Tests with side conditions the walker cannot model: the rule is treated as not matching. */
  unsupported: string[];
  target?: string;
  targetArgs: Record<string, string>;
  probability?: number;
  /** Tests connection state (conntrack, mark, recent --rcheck). */
  stateful: boolean;
  /** "-m recent --set": the rule records the source address in a recent list. */
  recentSet?: string;
}

const parsedCache = new Map<string, ParsedRule>();

export function tokenize(rule: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m; (m = re.exec(rule)); ) out.push(m[1] ?? m[2]!);
  return out;
}

/** "-o cilium_+": a name ending in "+" matches every interface with that prefix (iptables-extensions(8)). */
function ifaceMatches(spec: string, name: string | undefined): boolean {
  return spec.endsWith('+') ? name !== undefined && name.startsWith(spec.slice(0, -1)) : name === spec;
}

function inCidr(spec: string, ip: string): boolean {
  return ipInCidr(ip, spec);
}

export function parseRule(text: string): ParsedRule {
  const cached = parsedCache.get(text);
  if (cached) return cached;
  const t = tokenize(text);
  const r: ParsedRule = { text, tests: [], unsupported: [], targetArgs: {}, stateful: false };
  let recentName = '';
  let neg = false;
  /** The match module the options that follow belong to ("-m mark" vs "-m connmark" both have --mark). */
  let module = '';
  const sock = { transparent: false, nowildcard: false };
  const add = (f: (p: NfPacket, c: NfContext) => boolean) => {
    const n = neg;
    r.tests.push(n ? (p, c) => !f(p, c) : f);
    neg = false;
  };
  for (let i = 0; i < t.length; i++) {
    const tok = t[i]!;
    const arg = () => t[++i] ?? '';
    switch (tok) {
      case '!': neg = true; break;
      case '-m': {
        // The match module; its options follow. "-m socket" is itself a test (xt_socket).
        module = arg();
        if (module === 'socket') {
          r.stateful = true;
          add((p, c) => c.socket?.(p, sock) ?? false);
        }
        break;
      }
      case '--transparent': sock.transparent = true; break;
      case '--nowildcard': sock.nowildcard = true; break;
      case '--restore-skmark': break;
      case '--comment':
        // iptables-save quotes comments with spaces; hand-written rules may not: take words up to the next option.
        arg();
        while (i + 1 < t.length && !t[i + 1]!.startsWith('-') && t[i + 1] !== '!') i++;
        break;
      case '--nfacct-name': arg(); break; // a counter: always matches
      case '-p': { const v = arg(); add((p) => p.proto === v); break; }
      case '-s': { const v = arg(); add((p) => inCidr(v, p.src)); break; }
      case '-d': { const v = arg(); add((p) => inCidr(v, p.dst)); break; }
      case '--dport': { const m = portMatch(arg()); add((p) => m(p.dport)); break; }
      case '--sport': { const m = portMatch(arg()); add((p) => m(p.sport)); break; }
      // -m multiport: any listed port or range.
      case '--dports': case '--destination-ports': { const ms = arg().split(',').map(portMatch); add((p) => ms.some((m) => m(p.dport))); break; }
      case '--sports': case '--source-ports': { const ms = arg().split(',').map(portMatch); add((p) => ms.some((m) => m(p.sport))); break; }
      case '--ports': { const ms = arg().split(',').map(portMatch); add((p) => ms.some((m) => m(p.dport) || m(p.sport))); break; }
      // -m owner (xt_owner): a packet without a socket fails every non-negated owner test.
      case '--uid-owner': { const m = idMatch(arg()); add((p) => m(p.uid)); break; }
      case '--gid-owner': { const m = idMatch(arg()); add((p) => m(p.gid)); break; }
      case '--socket-exists': add((p) => p.uid !== undefined); break;
      case '--suppl-groups': break; // only the primary group is modelled
      case '-i': { const v = arg(); add((p) => ifaceMatches(v, p.inIface)); break; }
      case '-o': { const v = arg(); add((p) => ifaceMatches(v, p.outIface)); break; }
      case '--dst-type': { const v = arg(); add((p, c) => v === 'LOCAL' && c.localIPs.has(p.dst)); break; }
      case '--src-type': { const v = arg(); add((p, c) => v === 'LOCAL' && c.localIPs.has(p.src)); break; }
      case '--name': recentName = arg(); break;
      case '--seconds': arg(); break;
      case '--reap': break;
      case '--set': r.recentSet = recentName; break;
      case '--rcheck': {
        // A fresh connection's client is in no recent list yet: the check fails (xt_recent).
        r.stateful = true;
        add(() => false);
        break;
      }
      case '--ctstate':
      case '--state': {
        r.stateful = true;
        const states = arg().split(',');
        add((_p, c) => states.includes(c.ctstate) || (states.includes('DNAT') && c.ctDnat));
        break;
      }
      case '--mark': {
        r.stateful = true;
        const [value, mask] = valueMask(arg());
        const conn = module === 'connmark';
        add((p) => (((conn ? p.ctmark ?? 0 : p.mark) & mask) >>> 0) === ((value & mask) >>> 0));
        break;
      }
      case '--match-set': {
        const name = arg();
        const flags = arg();
        add((p, c) => inIpset(c.ipsets?.[name], flags, p));
        break;
      }
      case '--physdev-is-in': add((p, c) => !!p.inIface && !!c.bridges?.has(p.inIface)); break;
      case '--mode': arg(); break;
      case '--probability': r.probability = Number(arg()); neg = false; break;
      case '-j': r.target = arg(); break;
      default:
        if (r.target && tok.startsWith('--')) r.targetArgs[tok] = t[i + 1]?.startsWith('--') ? '' : arg();
        else r.unsupported.push(tok);
    }
  }
  if (parsedCache.size > 20000) parsedCache.clear(); // a memo only: bounded
  parsedCache.set(text, r);
  return r;
}
