// The Linux kernel as the judge (run as root; `npm run test:kernel`, part of `npm test`).
// 1. Load: every ruleset the engine writes for the built-in scenario is loaded for real with
//    iptables-nft-restore into a private network namespace and read back, rule count for rule count.
//    So is every ruleset written for the IPv4 kube-proxy conformance cases.
// 2. Differential: the client's node is rebuilt in namespaces (cni0 bridge + veth to a "client pod"
//    namespace, flannel.1 a VXLAN device with the onlink routes), the engine's rules are loaded,
//    the client opens real TCP connections to the ClusterIP, and then
//      - the DNAT destinations conntrack recorded must be exactly the endpoints the engine reaches
//        over its seeds, and
//      - the rules the kernel counted (iptables-save -c) must be exactly the rules the engine's
//        walker says matched, rule by rule (table, chain, position).
// Only namespaces this script creates carry traffic; all are deleted on exit.
import { execFileSync, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadSnapshot, traceFlow } from '../src/engine/index.ts';
import { join } from 'node:path';
import { iptablesSave, renderRuleset } from '../src/engine/dataplane/iptablesSave.ts';
import { defaultRoot, findCases, kubeProxyCaseRuleset } from '../src/cli/conformanceRunner.ts';
import { defaultScenario } from '../src/scenarios/default.ts';

const tag = `pp${process.pid}`;
const created: string[] = [];
const sh = (cmd: string, args: string[], input?: string) => execFileSync(cmd, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const inNs = (ns: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, ...args]);
const inNsInput = (ns: string, input: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, ...args], input);
const newNs = (name: string) => {
  sh('ip', ['netns', 'add', name]);
  created.push(name);
  inNs(name, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
  inNs(name, 'ip', 'link', 'set', 'lo', 'up');
};
const cleanup = () => {
  for (const ns of created.splice(0)) {
    try {
      sh('ip', ['netns', 'del', ns]);
    } catch {
      /* already gone */
    }
  }
};
process.on('exit', cleanup);

let failures = 0;
const fail = (msg: string) => {
  failures++;
  console.log(`FAIL ${msg}`);
};

const snap = loadSnapshot(defaultScenario, 1);
const t = snap.topology;

// 1. Every node's ruleset loads.
for (const node of t.nodes) {
  const ns = `${tag}-load`;
  newNs(ns);
  for (const c of ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts']) inNs(ns, 'nfacct', 'add', c); // kube-proxy creates its counters first
  const rules = iptablesSave(t, node.name);
  inNsInput(ns, rules, 'iptables-nft-restore');
  const wrote = rules.split('\n').filter((l) => l.startsWith('-A ')).length;
  const held = inNs(ns, 'iptables-nft-save').split('\n').filter((l) => l.startsWith('-A ')).length;
  if (wrote !== held) fail(`${node.name}: wrote ${wrote} rules, the kernel holds ${held}`);
  else console.log(`ok   load ${node.name}: the kernel accepted all ${wrote} rules`);
  cleanup();
}

// 1b. So does every ruleset the engine writes for the kube-proxy conformance cases.
for (const dir of findCases(join(defaultRoot, 'kube-proxy'))) {
  const rs = kubeProxyCaseRuleset(dir);
  if (!rs) continue;
  const ns = `${tag}-load`;
  newNs(ns);
  for (const c of ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts']) inNs(ns, 'nfacct', 'add', c);
  const rules = renderRuleset(rs, { builtins: true });
  const name = dir.slice(defaultRoot.length + 1);
  try {
    inNsInput(ns, rules, 'iptables-nft-restore');
    const wrote = rules.split('\n').filter((l) => l.startsWith('-A ')).length;
    const held = inNs(ns, 'iptables-nft-save').split('\n').filter((l) => l.startsWith('-A ')).length;
    if (wrote !== held) fail(`${name}: wrote ${wrote} rules, the kernel holds ${held}`);
    else console.log(`ok   load conformance/${name}: the kernel accepted all ${wrote} rules`);
  } catch (e) {
    fail(`${name}: iptables-nft-restore refused the ruleset: ${(e as { stderr?: string }).stderr ?? e}`);
  }
  cleanup();
}

// 2. Differential trace on the client's node. br_netfilter is built into this kernel with
//    bridge-nf-call-iptables on (as kubeadm requires), so bridged frames meet iptables too.
const flow = snap.flows[0]!;
const client = t.nodes.flatMap((n) => n.pods).find((p) => p.id === flow.from)!;
const node = t.nodes.find((n) => n.name === client.node)!;
const svc = t.services[0]!;
const SEEDS = 40;
const traces = Array.from({ length: SEEDS }, (_, s) => traceFlow(t, flow, s));
const engineDnat = new Set(traces.map((tr) => `${tr.backend!.ip}:${tr.backend!.port}`));
// Rules the engine saw match in the client node's netfilter, both directions, over all seeds.
const engineHits = new Set<string>();
for (const tr of traces) {
  for (const h of tr.hops) {
    if (h.node !== node.name || h.at !== `nf:${node.name}`) continue;
    for (const r of h.mechanism.rules ?? []) if (r.matched) engineHits.add(`${r.table} ${r.chain} #${r.ruleNumber}`);
  }
}

const nodeNs = `${tag}-node`;
const podNs = `${tag}-pod`;
newNs(nodeNs);
newNs(podNs);
const cni0 = node.interfaces.find((i) => i.kind === 'bridge')!;
inNs(nodeNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
inNs(nodeNs, 'ip', 'link', 'add', 'cni0', 'type', 'bridge');
inNs(nodeNs, 'ip', 'addr', 'add', cni0.address!, 'dev', 'cni0');
inNs(nodeNs, 'ip', 'link', 'set', 'cni0', 'up');
inNs(nodeNs, 'ip', 'link', 'add', 'flannel.1', 'type', 'vxlan', 'id', String(t.settings.cni.vni), 'dstport', String(t.settings.cni.port), 'nolearning');
inNs(nodeNs, 'ip', 'link', 'set', 'flannel.1', 'up');
for (const r of node.routes.filter((x) => x.dev === 'flannel.1')) inNs(nodeNs, 'ip', 'route', 'add', r.dst, 'via', r.via!, 'dev', 'flannel.1', 'onlink');
// flanneld's permanent neighbour and FDB entries for the remote VTEPs. No underlay is built, so the
// vxlan driver drops the encapsulated packet after POSTROUTING: this check covers one node's rules.
for (const n of node.neighbours.filter((x) => x.dev === 'flannel.1')) inNs(nodeNs, 'ip', 'neigh', 'add', n.ip, 'lladdr', n.mac, 'dev', 'flannel.1', 'nud', 'permanent');
for (const f of node.fdb) inNs(nodeNs, 'bridge', 'fdb', 'append', f.mac, 'dev', 'flannel.1', 'dst', f.dst);
inNs(nodeNs, 'ip', 'link', 'add', 'vethc', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podNs);
inNs(nodeNs, 'ip', 'link', 'set', 'vethc', 'master', 'cni0', 'up');
inNs(podNs, 'ip', 'addr', 'add', `${client.ip}/24`, 'dev', 'eth0');
inNs(podNs, 'ip', 'link', 'set', 'eth0', 'up');
inNs(podNs, 'ip', 'route', 'add', 'default', 'via', cni0.address!.split('/')[0]!);
// The node's other pods get namespaces of their own behind cni0 (their IPs and MACs as modelled);
// nothing listens in them, so they answer SYNs with RST, which comes back through the node.
node.pods
  .filter((x) => x.id !== client.id)
  .forEach((pod, i) => {
    const ns = `${tag}-b${i}`;
    newNs(ns);
    inNs(nodeNs, 'ip', 'link', 'add', `vethb${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    inNs(nodeNs, 'ip', 'link', 'set', `vethb${i}`, 'master', 'cni0', 'up');
    inNs(ns, 'ip', 'link', 'set', 'eth0', 'address', pod.mac);
    inNs(ns, 'ip', 'addr', 'add', `${pod.ip}/24`, 'dev', 'eth0');
    inNs(ns, 'ip', 'link', 'set', 'eth0', 'up');
    inNs(ns, 'ip', 'route', 'add', 'default', 'via', cni0.address!.split('/')[0]!);
  });
for (const c of ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts']) inNs(nodeNs, 'nfacct', 'add', c);
inNsInput(nodeNs, iptablesSave(t, node.name), 'iptables-nft-restore');

const CONNECTIONS = 24;
// conntrack's event stream sees every new entry, including those a backend's RST closes at once.
const events = spawn('ip', ['netns', 'exec', nodeNs, 'conntrack', '-E', '-e', 'NEW', '-p', 'tcp'], { stdio: ['ignore', 'pipe', 'ignore'] });
let ct = '';
events.stdout.on('data', (d: Buffer) => (ct += d.toString()));
await sleep(300);
for (let i = 0; i < CONNECTIONS; i++) {
  try {
    // One SYN per attempt: the attempt is cut off before the first retransmission (1 s).
    inNs(podNs, 'timeout', '0.3', 'bash', '-c', `exec 3<>/dev/tcp/${svc.clusterIP}/${svc.ports[0]!.port}`);
  } catch {
    /* no connection is expected: nothing listens behind the endpoints */
  }
}
await sleep(300);
events.kill();
if (process.env.DEBUG) console.log(ct, inNs(nodeNs, 'iptables-nft-save', '-c'));
const kernelDnat = new Set<string>();
for (const line of ct.split('\n')) {
  if (!line.includes(`dst=${svc.clusterIP} `)) continue;
  // "[NEW] tcp 6 120 SYN_SENT src=<client> dst=<ClusterIP> sport=.. dport=.. [UNREPLIED] src=<endpoint> dst=<client> sport=<port> ..."
  const m = /src=\S+ dst=\S+ sport=\d+ dport=\d+ .*?src=(\S+) dst=\S+ sport=(\d+)/.exec(line);
  if (m) kernelDnat.add(`${m[1]}:${m[2]}`);
}
const fmt = (s: Set<string>) => [...s].sort().join(', ');
if (fmt(kernelDnat) !== fmt(engineDnat)) fail(`DNAT destinations: kernel {${fmt(kernelDnat)}} vs engine {${fmt(engineDnat)}}`);
else console.log(`ok   DNAT: ${CONNECTIONS} real connections to ${svc.clusterIP}:${svc.ports[0]!.port} reached {${fmt(kernelDnat)}}, as the engine's ${SEEDS} seeds do`);

// Rule counters, position by position. iptables-save -c prints "[packets:bytes] -A CHAIN ...".
const kernelHits = new Set<string>();
let table = '';
const position = new Map<string, number>();
for (const line of inNs(nodeNs, 'iptables-nft-save', '-c').split('\n')) {
  if (line.startsWith('*')) table = line.slice(1);
  const m = /^\[(\d+):\d+\] -A (\S+)/.exec(line);
  if (!m) continue;
  const key = `${table} ${m[2]}`;
  const n = (position.get(key) ?? 0) + 1;
  position.set(key, n);
  if (Number(m[1]) > 0) kernelHits.add(`${key} #${n}`);
}
const onlyKernel = [...kernelHits].filter((k) => !engineHits.has(k));
const onlyEngine = [...engineHits].filter((k) => !kernelHits.has(k));
if (onlyKernel.length || onlyEngine.length) fail(`rule hits differ: kernel only [${onlyKernel.join('; ')}], engine only [${onlyEngine.join('; ')}]`);
else console.log(`ok   rule path: the kernel counted exactly the ${kernelHits.size} rules the walker matched on ${node.name}`);

cleanup();
if (failures) {
  console.log(`${failures} kernel check(s) failed`);
  process.exit(1);
}
