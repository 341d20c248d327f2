// podpath's headless CLI over the same engine the Worker runs.
//   npm run cli -- trace <file.yaml>... --from <ns/pod> --to <host:port> [--seed N] [--json]
//   npm run cli -- iptables-save <file.yaml>... --node <name> [--mode iptables|ipvs|nftables]
//   npm run cli -- pcap <file.yaml>... [--from …] [--to …] [--seed N] -o out.pcap
//   npm run cli -- proxy-config <file.yaml>... --pod <ns/name> [listeners|routes|clusters|endpoints] [--json]
//   npm run cli -- requests <file.yaml>... [--from …] [--to …] [--seed N] [--json]   (the request tree in virtual time)
//   npm run cli -- load <file.yaml>... [--from …] [--to …] [-c N] [-n N] [--seed N] [--json]   (fortio through the client's Envoy)
// A file argument "builtin:default" or "builtin:nodeport" stands for a built-in scenario.

import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { iptablesSave, ipvsSave, loadSnapshot, nftablesSave, ruleBody, traceFlow, tracePcap, tracePcapFrames } from '../engine/index.ts';
import type { Diagnostic, FlowSpec, Hop, Trace } from '../engine/index.ts';
import { printLoad, printRequests } from './meshRunsCli.ts';
import { isMeshProxy } from '../engine/mesh/proxyGateway.ts';
import { defaultScenario } from '../scenarios/default.ts';
import { nodePortScenario } from '../scenarios/nodePort.ts';
import { findPod, formatTable, PROXY_CONFIG_VIEWS, proxyConfig, proxyConfigTable, type ProxyConfigView } from '../engine/mesh/proxyConfig.ts';

const builtins: Record<string, string> = { 'builtin:default': defaultScenario, 'builtin:nodeport': nodePortScenario };
import { formatHeaders } from './format.ts';

const usage = `usage:
  podpath trace <file.yaml>... [--from <ns/pod>] [--to <host:port>] [--seed N] [--json]
  podpath iptables-save <file.yaml>... --node <name> [--mode iptables|ipvs|nftables]
  podpath pcap <file.yaml>... [--from <ns/pod>] [--to <host:port>] [--seed N] -o <out.pcap>
  podpath proxy-config <file.yaml>... --pod <ns/name> [listeners|routes|clusters|endpoints] [--json]
  podpath requests <file.yaml>... [--from <ns/pod>] [--to <host:port>] [--seed N] [--json]
  podpath load <file.yaml>... [--from <ns/pod>] [--to <host:port>] [-c connections] [-n requests] [--seed N] [--json]
  (builtin:default and builtin:nodeport are the built-in cndjp4 scenarios)`;

interface Input { text: string; files: { name: string; firstLine: number }[] }

function readInputs(paths: string[]): Input {
  const parts: string[] = [];
  const files: Input['files'] = [];
  let line = 1;
  for (const p of paths) {
    const text = builtins[p] ?? readFileSync(p, 'utf8');
    files.push({ name: p, firstLine: line });
    const body = text.endsWith('\n') ? text : text + '\n';
    parts.push(body);
    line += body.split('\n').length - 1 + 1; // + the "---" separator line
  }
  return { text: parts.join('---\n'), files };
}

function where(input: Input, d: Diagnostic): string {
  const f = [...input.files].reverse().find((x) => x.firstLine <= d.line) ?? input.files[0]!;
  return `${f.name}:${d.line - f.firstLine + 1}:${d.col}`;
}

function printHop(h: Hop) {
  const place = h.node ? `${h.node} ${h.at}` : h.at;
  console.log(`${String(h.index).padStart(3)} ${h.direction === 'request' ? '→' : '←'} [${h.mechanism.kind}] ${h.mechanism.title}`);
  console.log(`      at ${place}`);
  for (const r of h.mechanism.rules ?? []) if (r.matched) console.log(`      ${r.table} ${r.table.includes(' ') ? `${r.chain} ${ruleBody(r)}` : r.text}   # ${r.effect}`);
  const before = formatHeaders(h.before);
  const after = formatHeaders(h.after);
  if (before !== after) {
    console.log(`      before: ${before}`);
    console.log(`      after:  ${after}`);
  }
}

export function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { from: { type: 'string' }, to: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' }, node: { type: 'string' }, pod: { type: 'string' }, mode: { type: 'string' }, output: { type: 'string', short: 'o' }, connections: { type: 'string', short: 'c' }, requests: { type: 'string', short: 'n' } },
  });
  // proxy-config: a last positional naming a view (istioctl proxy-config <view>) is no file.
  const view = cmd === 'proxy-config' && (PROXY_CONFIG_VIEWS as readonly string[]).includes(positionals.at(-1) ?? '') ? (positionals.pop() as ProxyConfigView) : undefined;
  if (!cmd || positionals.length === 0 || !['trace', 'iptables-save', 'pcap', 'proxy-config', 'requests', 'load'].includes(cmd)) {
    console.error(usage);
    return 2;
  }
  const input = readInputs(positionals);
  const snap = loadSnapshot(input.text, 1);
  for (const d of snap.diagnostics) console.error(`${where(input, d)}: ${d.severity} ${d.code}: ${d.message}`);
  if (snap.failed) return 1;

  if (cmd === 'iptables-save') {
    const node = values.node;
    if (!node || !snap.topology.nodes.some((n) => n.name === node)) {
      console.error(`--node must name one of: ${snap.topology.nodes.map((n) => n.name).join(', ')}`);
      return 2;
    }
    const mode = values.mode ?? 'iptables';
    const views: Record<string, typeof iptablesSave> = { iptables: iptablesSave, ipvs: ipvsSave, nftables: nftablesSave };
    const view = views[mode];
    if (!view) {
      console.error('--mode must be iptables, ipvs or nftables');
      return 2;
    }
    process.stdout.write(view(snap.topology, node));
    return 0;
  }

  if (cmd === 'proxy-config') {
    // istioctl proxy-config <view> <pod>: the Envoy configuration istiod gives the pod's sidecar.
    const pod = values.pod ? findPod(snap.topology, values.pod) : undefined;
    const sidecars = snap.topology.nodes.flatMap((n) => n.pods).filter((p) => isMeshProxy(snap.topology, p));
    if (!pod || !isMeshProxy(snap.topology, pod)) {
      console.error(pod ? `${values.pod} has no istio-proxy sidecar (its namespace needs the label istio-injection=enabled) and is no Istio gateway.` : `--pod must name a pod with a sidecar or an Istio gateway: ${sidecars.map((p) => `${p.namespace}/${p.name}`).join(', ') || 'none has one'}`);
      return 2;
    }
    const cfg = proxyConfig(snap.topology, pod);
    const views = view ? [view] : PROXY_CONFIG_VIEWS;
    if (values.json) console.log(JSON.stringify(view ? cfg[view] : cfg, null, 2));
    else process.stdout.write(views.map((v) => formatTable(proxyConfigTable(cfg, v))).join('\n'));
    return 0;
  }

  const base = snap.flows[0];
  const from = values.from ?? base?.from;
  const to = values.to ?? base?.to;
  if (!from || !to) {
    console.error('No flow: give --from <ns/pod> and --to <host:port>, or write a Flow object.');
    return 2;
  }
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) {
    console.error('--seed must be a non-negative integer');
    return 2;
  }
  const same = base && base.from === from && base.to === to;
  const flow: FlowSpec = { name: base?.name ?? 'cli', from, to, protocol: 'TCP', ...(same && base.http ? { http: base.http } : {}), ...(same && base.load ? { load: base.load } : {}) };
  if (cmd === 'requests') return printRequests(snap.topology, flow, seed, !!values.json);
  if (cmd === 'load') {
    const c = Number(values.connections ?? flow.load?.connections ?? 1);
    const n = Number(values.requests ?? flow.load?.requests ?? 100);
    if (!Number.isInteger(c) || c < 1 || c > 256 || !Number.isInteger(n) || n < 1 || n > 10_000) {
      console.error('-c must be 1–256 and -n 1–10000');
      return 2;
    }
    return printLoad(snap.topology, { ...flow, load: { connections: c, requests: n } }, seed, !!values.json);
  }
  const trace: Trace = traceFlow(snap.topology, flow, seed);
  if (cmd === 'pcap') {
    if (!values.output) {
      console.error('pcap needs -o <out.pcap>');
      return 2;
    }
    writeFileSync(values.output, tracePcap(trace));
    const frames = tracePcapFrames(trace);
    console.log(`${values.output}: ${frames.length} frames from ${trace.hops.length} hops (verdict: ${trace.verdict.kind})`);
    for (const [i, f] of frames.entries()) console.log(`${String(i + 1).padStart(4)}  hop ${f.hop}: ${trace.hops[f.hop]!.mechanism.title}`);
    return 0;
  }
  if (values.json) {
    console.log(JSON.stringify(trace, null, 2));
  } else {
    console.log(`trace ${from} → ${to} (seed ${seed})`);
    trace.hops.forEach(printHop);
    console.log(`verdict: ${trace.verdict.kind}: ${trace.verdict.message}`);
  }
  return trace.verdict.kind === 'delivered' ? 0 : 3;
}

process.exitCode = main(process.argv.slice(2));
