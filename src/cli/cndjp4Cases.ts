// The cndjp4 hands-on layout: a cases.yaml with part1 (Kubernetes basics, minikube addresses) and
// part2 (Istio 0.6 traffic control). Part 2 is checked here: the bootcamp app, its Service and its
// Ingress of class "istio", plus one RouteRule file (or none); "curl http://$GATEWAY_URL/bootcamp"
// goes through the ingress gateway, and the share of answers per version label over many seeded
// requests must match. Part 1 is reported as not checked by this runner.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { loadSnapshot } from '../engine/snapshot.ts';
import { routeRequest } from '../engine/mesh/routing.ts';
import { createPrng } from '../engine/util/prng.ts';

type Doc = Record<string, unknown>;
const SAMPLES = 3000;
const TOLERANCE = 0.04;

export function isCndjp4Dir(dir: string): boolean {
  if (!existsSync(join(dir, 'cases.yaml'))) return false;
  const doc = yaml.load(readFileSync(join(dir, 'cases.yaml'), 'utf8')) as Doc | undefined;
  return !!doc && typeof doc.part2 === 'object' && Array.isArray((doc.part2 as Doc).cases);
}

/** The directory holding the part-2 manifests: the one with a RouteRule file. */
function manifestsDir(dir: string, file: string): string | undefined {
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    if (existsSync(join(d, file))) return d;
    for (const f of readdirSync(d, { withFileTypes: true })) if (f.isDirectory()) stack.push(join(d, f.name));
  }
  return undefined;
}

export function runCndjp4(dir: string): { ok: boolean; detail: string; skipped?: boolean } {
  const doc = yaml.load(readFileSync(join(dir, 'cases.yaml'), 'utf8')) as Doc;
  const part2 = doc.part2 as Doc;
  const cases = part2.cases as Doc[];
  const ruleFile = cases.map((c) => c.rule).find((r) => typeof r === 'string' && r !== 'none') as string;
  const mdir = manifestsDir(dir, ruleFile);
  if (!mdir) return { ok: false, detail: `part2: no directory holds ${ruleFile}` };
  // The app, its Service and its Ingress: every manifest that is not a route rule.
  const base = readdirSync(mdir).filter((f) => f.endsWith('.yaml') && !cases.some((c) => c.rule === f)).sort().map((f) => readFileSync(join(mdir, f), 'utf8'));
  const ns = String(part2.namespace ?? 'default');
  const nsDoc = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n  labels:\n    istio-injection: enabled\n`;
  const out: string[] = [];
  let failed = 0;
  for (const [i, c] of cases.entries()) {
    // The tutorial applies its manifests with -n <namespace>: put the objects there.
    const files = [...base, ...(c.rule && c.rule !== 'none' ? [readFileSync(join(mdir, String(c.rule)), 'utf8')] : [])].map((t) => t.replace(/\r\n/g, '\n').replace(/^metadata:\n/gm, `metadata:\n  namespace: ${ns}\n`));
    const snap = loadSnapshot([nsDoc, ...files].join('\n---\n'), 1);
    const errors = snap.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length) {
      failed++;
      out.push(`#${i + 1}: ${errors.map((e) => e.message).join('; ')}`);
      continue;
    }
    const t = snap.topology;
    const path = /\$GATEWAY_URL(\/\S*)/.exec(String(c.request))?.[1] ?? '/';
    const pods = new Map(t.nodes.flatMap((n) => n.pods).map((p) => [p.id, p]));
    const counts: Record<string, number> = {};
    for (let s = 0; s < SAMPLES; s++) {
      const d = routeRequest(t, { kind: 'gateway', namespace: 'istio-system', labels: { istio: 'ingressgateway' } }, { host: '192.168.99.100', port: 80, path, method: 'GET', headers: {} }, createPrng(s));
      const k = d.ok ? (pods.get(d.endpoint.podId ?? '')?.labels.version ?? '?') : `status ${d.status}`;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    const want = (c.expect as Doc).distribution as Record<string, number>;
    const off = Object.keys({ ...want, ...counts }).filter((k) => Math.abs((counts[k] ?? 0) / SAMPLES - (want[k] ?? 0)) > TOLERANCE);
    const seen = Object.entries(counts).map(([k, n]) => `${k} ${(n / SAMPLES).toFixed(3)}`).join(', ');
    if (off.length) failed++;
    out.push(`part2 #${i + 1} (${String(c.rule)}): ${seen}${off.length ? ` — expected ${JSON.stringify(want)}` : ''}`);
  }
  const part1 = ((doc.part1 as Doc | undefined)?.cases as unknown[] | undefined)?.length ?? 0;
  return { ok: failed === 0, detail: `${out.join('; ')}${part1 ? `; part1: ${part1} case(s) not checked by this runner` : ''}`, skipped: part1 > 0 };
}
