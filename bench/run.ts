// npm run bench — podpath's speed and size figures (no assertions: budgets are reported, not enforced).
//  1. text change → new snapshot + layout + trace, through a worker round trip (median / p95 over
//     60 edits), for the default scenario and a generated 50-Service / 10-node manifest;
//     and the engine alone, per stage.
//  2. kube-proxy, pod network and Istio (request tree, fortio load) at scale, in-process;
//  3. production bundle sizes: app JS without Monaco, Monaco, workers (raw and gzip).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { loadSnapshot, traceFlow } from '../src/engine/index.ts';
import { layoutTopology } from '../src/layout/layout.ts';
import { defaultScenario } from '../src/scenarios/default.ts';
import { browserEdits } from './browser.ts';
import { benchKubeProxy } from './kubeProxy.ts';
import { benchPodNetwork } from './podNetwork.ts';
import { benchMesh } from './mesh.ts';
import { editOf, generateScenario, type EditKind } from './generate.ts';
import { kb, ms, summary } from './stats.ts';

const EDITS = 60;
const WARMUP = 5;
const BUDGET_P95_MS = 100;

async function workerRoundTrips(text: string, kind: EditKind): Promise<number[]> {
  const w = new Worker(new URL('./engineWorker.mjs', import.meta.url));
  const ask = (t: string, version: number) =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      w.once('message', (m: { version: number; verdict?: string }) => {
        if (m.version !== version) reject(new Error('stale answer'));
        resolve(performance.now() - t0);
      });
      w.postMessage({ text: t, version });
    });
  const out: number[] = [];
  for (let k = 0; k < WARMUP + EDITS; k++) {
    const dt = await ask(editOf(text, k, kind), k);
    if (k >= WARMUP) out.push(dt);
  }
  await w.terminate();
  return out;
}

async function stages(text: string) {
  const snapT: number[] = [];
  const layoutT: number[] = [];
  const traceT: number[] = [];
  for (let k = 0; k < WARMUP + EDITS; k++) {
    const t0 = performance.now();
    const s = loadSnapshot(editOf(text, k, 'structure'), k);
    const t1 = performance.now();
    await layoutTopology(s.topology);
    const t2 = performance.now();
    traceFlow(s.topology, s.flows[0]!, k);
    const t3 = performance.now();
    if (k >= WARMUP) {
      snapT.push(t1 - t0);
      layoutT.push(t2 - t1);
      traceT.push(t3 - t2);
    }
  }
  return { snapshot: summary(snapT), layout: summary(layoutT), trace: summary(traceT) };
}

function build(): string {
  const out = mkdtempSync(join(tmpdir(), 'podpath-bench-'));
  execFileSync('npx', ['vite', 'build', '--outDir', out, '--emptyOutDir', '--logLevel', 'error'], { stdio: 'inherit' });
  return out;
}

function bundleSizes(dist: string) {
  const assets = join(dist, 'assets');
  const groups: Record<string, { raw: number; gzip: number; files: string[] }> = {};
  for (const f of readdirSync(assets)) {
    if (!/\.(js|css)$/.test(f)) continue;
    const group = f.startsWith('monaco') ? 'Monaco (editor core + YAML, JS+CSS)' : f.startsWith('editor.worker') ? 'Monaco editor worker' : f.startsWith('engine.worker') ? 'engine worker (engine + elkjs)' : f.endsWith('.css') ? 'app CSS' : 'app JS without Monaco';
    const buf = readFileSync(join(assets, f));
    const g = (groups[group] ??= { raw: 0, gzip: 0, files: [] });
    g.raw += statSync(join(assets, f)).size;
    g.gzip += gzipSync(buf, { level: 9 }).length;
    g.files.push(f);
  }
  return groups;
}

async function main() {
  const scenarios: [string, string][] = [
    ['default scenario (cndjp4 part 1, 3 nodes)', defaultScenario],
    ['generated 50 Services / 10 nodes', generateScenario(10, 50)],
  ];
  console.log(`# podpath bench — ${new Date().toISOString()} — node ${process.version}\n`);
  console.log(`## edit → snapshot + layout + trace, worker round trip (${EDITS} edits after ${WARMUP} warm-up)`);
  for (const kind of ['value', 'structure'] as const) {
    console.log(`### ${kind === 'value' ? 'value edits (label, image tag)' : 'structural edits (a pod renamed: its node group is laid out again)'}`);
    const medians: number[] = [];
    for (const [name, text] of scenarios) {
      const s = summary(await workerRoundTrips(text, kind));
      medians.push(s.median);
      console.log(`${name.padEnd(44)} median ${ms(s.median)}  p95 ${ms(s.p95)}  max ${ms(s.max)}  (budget p95 < ${BUDGET_P95_MS} ms: ${s.p95 < BUDGET_P95_MS ? 'within' : 'OVER'})`);
    }
    console.log(`ratio 50-Service / default (median): ${(medians[1]! / medians[0]!).toFixed(2)}x`);
  }
  console.log('\n## engine stages, in-process (structural edits)');
  for (const [name, text] of scenarios) {
    const st = await stages(text);
    console.log(`${name}`);
    for (const [stage, s] of Object.entries(st)) console.log(`  ${stage.padEnd(9)} median ${ms(s.median)}  p95 ${ms(s.p95)}`);
  }
  console.log('\n## kube-proxy at scale (rule generation; one packet to the last Service: iptables linear walk vs IPVS hash lookup vs nftables verdict map)');
  for (const row of benchKubeProxy([1000, 10000])) console.log(row);
  console.log('\n## pod network at scale: a cross-node flow in a cluster of 10 / 100 / 1000 nodes (build, trace, encode + pcap)');
  for (const row of benchPodNetwork([10, 100, 1000], ['flannel-vxlan', 'calico-ipip', 'calico-vxlan', 'cilium-vxlan'], 5)) console.log(row);
  console.log('\n## Istio: a request tree and fortio load through the client Envoy (circuit breakers, outlier detection)');
  for (const row of benchMesh()) console.log(row);
  if (process.argv.includes('--no-build')) return;
  const dist = build();
  try {
    console.log('\n## production bundle (vite build)');
    for (const [group, g] of Object.entries(bundleSizes(dist))) console.log(`${group.padEnd(40)} ${kb(g.raw).padStart(11)}  gzip ${kb(g.gzip).padStart(10)}  (${g.files.join(', ')})`);
    console.log(`\n## in Chromium: typing in Monaco → snapshot + layout + trace applied by the UI (${EDITS} edits each, real engine Worker)`);
    const figures = await browserEdits(dist, scenarios.map(([name, text]) => ({ name, text })), EDITS);
    for (const [name, f] of figures) {
      if (f.missed) console.log(`${name}: ${f.missed} edit(s) gave no complete load → trace within 10 s`);
      for (const [kind, samples] of [['typing in a comment', f.value], ['replicas 2 <-> 3', f.structure], ['  of which: load', f.load], ['  of which: trace', f.trace]] as const) {
        const s = summary(samples);
        console.log(`${name.padEnd(44)} ${kind.padEnd(20)} median ${ms(s.median)}  p95 ${ms(s.p95)}  max ${ms(s.max)}  (budget p95 < ${BUDGET_P95_MS} ms: ${s.p95 < BUDGET_P95_MS ? 'within' : 'OVER'})`);
      }
    }
  } finally {
    rmSync(dist, { recursive: true, force: true });
  }
}

await main();
