// Istio routing reference cases (the istio/bookinfo layout): a cases.yaml with scenarios, each an
// ordered list of manifest files to apply and the requests to check — from a workload's sidecar to
// host:port with headers, or through the ingress gateway to a path — against the destination
// service, subset, weight distribution over many seeded requests, injected fault or status.
// End-to-end cases (a page load as a logged-in user) run the whole request tree (mesh/calls.ts):
// page load time, what the page's sections show, whether a fault delay happened anywhere.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { loadSnapshot } from '../engine/snapshot.ts';
import { routeRequest, type MeshDecision, type Proxy } from '../engine/mesh/routing.ts';
import { durationMs } from '../engine/mesh/objects.ts';
import { allAttempts, findSection, simulateRequest, type Entry, type Section, type SimRequest, type SimResult } from '../engine/mesh/calls.ts';
import type { PodInfo, Topology } from '../engine/types.ts';
import { createPrng } from '../engine/util/prng.ts';

type Doc = Record<string, unknown>;
export interface MeshOutcome { ok: boolean; detail: string; skipped?: boolean }

/** Requests per distribution check, and how far an observed share may be from the expected one. */
const SAMPLES = 2000;
const TOLERANCE = 0.04;

export function isMeshCasesDir(dir: string): boolean {
  if (!existsSync(join(dir, 'cases.yaml'))) return false;
  const doc = yaml.load(readFileSync(join(dir, 'cases.yaml'), 'utf8')) as Doc | undefined;
  return Array.isArray(doc?.scenarios) && (doc!.scenarios as Doc[]).every((s) => Array.isArray(s.apply));
}

/** The client workload: a pod of the Deployment named `from`, else a pod labelled app=`from`. */
function clientPod(t: Topology, from: string, ns: string): PodInfo | undefined {
  const pods = t.nodes.flatMap((n) => n.pods).filter((p) => p.namespace === ns);
  return pods.find((p) => p.owner === `Deployment ${ns}/${from}`) ?? pods.find((p) => p.labels.app === from);
}

function gatewayProxy(t: Topology): { proxy: Proxy; port: number } | undefined {
  const gw = t.mesh.gateways[0];
  if (!gw) return undefined;
  return { proxy: { kind: 'gateway', namespace: 'istio-system', labels: gw.selector }, port: gw.servers[0]?.port ?? 80 };
}

/**
 * An end-to-end case: the whole request tree (mesh/calls.ts) — the page's load time, what its
 * sections show, whether a fault delay happened anywhere — rather than one routing decision.
 */
function isEndToEnd(request: Doc, expect: Doc): boolean {
  if ('destination' in expect || 'status' in expect) return false;
  return request.user !== undefined || Object.keys(expect).some((k) => k === 'pageLoadSeconds' || k === 'delay' || k === 'pageStatus' || /Section$/.test(k));
}

/** Page load times are compared within this many seconds (the docs say "about 6 seconds"). */
const PAGE_TOLERANCE_S = 0.5;
/**
 * The Bookinfo gateway (bookinfo-gateway.yaml, set up before every Istio task) sends /productpage
 * to productpage:9080; a scenario that applies no Gateway enters there, outside the mesh.
 */
const INGRESS_FALLBACK = { host: 'productpage', port: 9080 };

function checkEndToEnd(t: Topology, ns: string, request: Doc, expect: Doc, label: string): MeshOutcome {
  const path = String(request.path ?? '/');
  const user = request.user === undefined ? undefined : String(request.user);
  let entry: Entry;
  let req: SimRequest;
  let via: string;
  const gw = String(request.via ?? 'ingress') === 'ingress' ? gatewayProxy(t) : undefined;
  if (gw) {
    entry = gw.proxy;
    req = { host: String(request.host ?? 'bookinfo.example'), port: gw.port, path, method: String(request.method ?? 'GET'), headers: {}, user };
    via = 'via the ingress gateway';
  } else if (String(request.via ?? 'ingress') === 'ingress') {
    entry = { kind: 'direct', namespace: ns };
    req = { ...INGRESS_FALLBACK, path, method: String(request.method ?? 'GET'), headers: {}, user };
    via = `no Gateway in the scenario: straight to ${INGRESS_FALLBACK.host}:${INGRESS_FALLBACK.port}`;
  } else {
    return { ok: false, detail: `${label}: request.via ${String(request.via)} is not supported (ingress)` };
  }
  let first: SimResult | undefined;
  // The expectations hold for every seed (weighted routes and fault percentages draw from it).
  for (let s = 0; s < 16; s++) {
    const r = simulateRequest(t, entry, req, createPrng(s));
    first ??= r;
    const secsTaken = r.durationMs / 1000;
    if (expect.pageLoadSeconds !== undefined && Math.abs(secsTaken - Number(expect.pageLoadSeconds)) > PAGE_TOLERANCE_S) {
      return { ok: false, detail: `${label}: page loads in ${secsTaken} s, expected about ${String(expect.pageLoadSeconds)} s (seed ${s})` };
    }
    if (expect.pageStatus !== undefined && r.status !== Number(expect.pageStatus)) return { ok: false, detail: `${label}: page status ${r.status}, expected ${String(expect.pageStatus)}` };
    for (const [k, want] of Object.entries(expect)) {
      const m = /^(.+)Section$/.exec(k);
      if (!m) continue;
      const sec = findSection(r, m[1]!);
      const shown = sec ? (sec.ok ? sectionText(sec) : (sec.message ?? `status ${sec.status}`)) : undefined;
      if (shown !== String(want)) return { ok: false, detail: `${label}: ${m[1]} section shows ${shown === undefined ? 'nothing (no such call)' : JSON.stringify(shown)}, expected ${JSON.stringify(want)}` };
    }
    if (expect.delay !== undefined) {
      const delays = allAttempts(r).filter(({ attempt }) => attempt.fault.delayMs !== undefined);
      if (expect.delay === 'none') {
        if (delays.length) return { ok: false, detail: `${label}: a fault delay was injected (${delays.map(({ call, attempt }) => `${call.from} → ${call.to} ${attempt.fault.delayMs} ms`).join(', ')}), expected none` };
      } else if (!delays.some(({ attempt }) => attempt.fault.delayMs === durationMs(expect.delay))) {
        return { ok: false, detail: `${label}: no fault delay of ${String(expect.delay)} in the request tree` };
      }
    }
  }
  const r = first!;
  const secs = r.sections.map((x) => `${x.service} ${x.ok ? 'ok' : JSON.stringify(x.message ?? x.status)}`).join(', ');
  return { ok: true, detail: `${label}: page ${r.status} in ${r.durationMs / 1000} s (${via}; ${secs})` };
}

/** What a section that loaded shows: the messages of its own failed parts ("Ratings service is currently unavailable"), or "ok". */
function sectionText(s: Section): string {
  const failed = s.sections.filter((x) => !x.ok).map((x) => x.message ?? `status ${x.status}`);
  return failed.length ? failed.join(' / ') : 'ok';
}

const show = (d: MeshDecision) => (d.ok ? `${d.service?.name ?? d.destination.host}${d.subset ? ` subset ${d.subset}` : ''} port ${d.port}` : `status ${d.status} (${d.flag})`);

function checkCase(t: Topology, ns: string, c: Doc, label: string): MeshOutcome {
  const expect = (c.expect ?? {}) as Doc;
  const request = c.request as Doc | undefined;
  if (request && isEndToEnd(request, expect)) return checkEndToEnd(t, ns, request, expect, label);
  let proxy: Proxy;
  let req;
  if (request) {
    const gw = gatewayProxy(t);
    if (!gw) return { ok: false, detail: `${label}: no Gateway in the scenario` };
    proxy = gw.proxy;
    req = { host: String(request.host ?? 'bookinfo.example'), port: gw.port, path: String(request.path ?? '/'), method: String(request.method ?? 'GET'), headers: {} as Record<string, string> };
  } else {
    const pod = clientPod(t, String(c.from), ns);
    if (!pod) return { ok: false, detail: `${label}: no workload ${String(c.from)}` };
    const to = String(c.to);
    const i = to.lastIndexOf(':');
    proxy = { kind: 'sidecar', pod };
    const headers = Object.fromEntries(Object.entries((c.headers ?? {}) as Doc).map(([k, v]) => [k.toLowerCase(), String(v)]));
    req = { host: to.slice(0, i), port: Number(to.slice(i + 1)), path: '/', method: 'GET', headers };
  }
  const run = (seed: number) => routeRequest(t, proxy, req, createPrng(seed));
  if (expect.distribution) {
    const want = expect.distribution as Record<string, number>;
    const counts: Record<string, number> = {};
    for (let s = 0; s < SAMPLES; s++) {
      const d = run(s);
      const k = d.ok ? (d.subset ?? '') : `status ${d.status}`;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    const off = Object.keys({ ...want, ...counts }).filter((k) => Math.abs((counts[k] ?? 0) / SAMPLES - (want[k] ?? 0)) > TOLERANCE);
    const seen = Object.entries(counts).map(([k, n]) => `${k} ${(n / SAMPLES).toFixed(3)}`).join(', ');
    return off.length ? { ok: false, detail: `${label}: distribution ${seen}, expected ${JSON.stringify(want)}` } : { ok: true, detail: `${label}: ${seen}` };
  }
  // Deterministic expectations hold for every seed.
  for (let s = 0; s < 32; s++) {
    const d = run(s);
    if (expect.status !== undefined) {
      // Envoy's own answer: a local reply (404 NR, 503 NC …) or the fault filter's abort (FI).
      // Routed and not aborted: the upstream app answers (200 for the apps these cases use).
      const status = d.ok ? (d.fault.abortStatus ?? 200) : d.status;
      if (status !== Number(expect.status)) return { ok: false, detail: `${label}: got ${show(d)}${d.ok && d.fault.abortStatus ? ` aborted ${d.fault.abortStatus}` : ''}, expected status ${String(expect.status)}` };
      if (!d.ok || d.fault.abortStatus !== undefined) continue;
    }
    if (!d.ok) return { ok: false, detail: `${label}: got ${show(d)}: ${d.why.slice(-1)[0]}` };
    if (expect.destination !== undefined && (d.service?.name ?? d.destination.host) !== expect.destination) return { ok: false, detail: `${label}: routed to ${show(d)}, expected ${String(expect.destination)}` };
    if (expect.subset !== undefined && d.subset !== expect.subset) return { ok: false, detail: `${label}: routed to ${show(d)}, expected subset ${String(expect.subset)}` };
    if (expect.port !== undefined && d.port !== expect.port) return { ok: false, detail: `${label}: routed to ${show(d)}, expected port ${String(expect.port)}` };
    if (expect.fault !== undefined) {
      const f = expect.fault;
      if (f === 'none') {
        if (d.fault.delayMs !== undefined || d.fault.abortStatus !== undefined) return { ok: false, detail: `${label}: a fault was injected, expected none` };
      } else {
        const fd = f as Doc;
        const abort = fd.abort ?? fd.httpStatus;
        // A percentage below 100 is a share of requests: checked over many seeds below.
        const every = fd.percentage === undefined || Number(fd.percentage) >= 100;
        if (every && fd.delay !== undefined && d.fault.delayMs !== durationMs(fd.delay)) return { ok: false, detail: `${label}: delay ${d.fault.delayMs ?? 'none'} ms, expected ${String(fd.delay)}` };
        if (every && abort !== undefined && d.fault.abortStatus !== Number(abort)) return { ok: false, detail: `${label}: abort ${d.fault.abortStatus ?? 'none'}, expected ${String(abort)}` };
      }
    }
  }
  const fd = expect.fault && expect.fault !== 'none' ? (expect.fault as Doc) : undefined;
  if (fd?.percentage !== undefined && Number(fd.percentage) < 100) {
    let hit = 0;
    for (let s = 0; s < SAMPLES; s++) {
      const d = run(s);
      if (d.ok && (fd.delay !== undefined ? d.fault.delayMs === durationMs(fd.delay) : d.fault.abortStatus === Number(fd.abort ?? fd.httpStatus))) hit++;
    }
    if (Math.abs(hit / SAMPLES - Number(fd.percentage) / 100) > TOLERANCE) return { ok: false, detail: `${label}: fault on ${((100 * hit) / SAMPLES).toFixed(1)} % of requests, expected ${String(fd.percentage)} %` };
  }
  return { ok: true, detail: `${label}: ${show(run(0))}` };
}

/**
 * `kubectl apply -f a.yaml -f b.yaml …` in order: an object applied again (same kind, namespace
 * and name) replaces the earlier one, as the Istio tasks rely on (virtual-service-reviews-test-v2
 * replaces the "reviews" VirtualService of virtual-service-all-v1).
 */
export function applyInOrder(files: string[]): string {
  const objects = new Map<string, string>();
  for (const text of files) {
    for (const part of text.split(/^---[ \t]*$/m)) {
      const obj = yaml.load(part) as Doc | undefined;
      if (!obj || typeof obj !== 'object') continue;
      const meta = (obj.metadata ?? {}) as Doc;
      objects.set(`${String(obj.kind)}/${String(meta.namespace ?? 'default')}/${String(meta.name)}`, part.trim());
    }
  }
  return [...objects.values()].join('\n---\n') + '\n';
}

export function runMeshCases(dir: string): MeshOutcome {
  const doc = yaml.load(readFileSync(join(dir, 'cases.yaml'), 'utf8')) as Doc;
  const ns = String(doc.namespace ?? 'default');
  const results: MeshOutcome[] = [];
  for (const sc of doc.scenarios as Doc[]) {
    const text = applyInOrder((sc.apply as string[]).map((f) => readFileSync(join(dir, f), 'utf8')));
    const snap = loadSnapshot(text, 1);
    const errors = snap.diagnostics.filter((x) => x.severity === 'error');
    if (errors.length) {
      results.push({ ok: false, detail: `${String(sc.name)}: ${errors.map((e) => e.message).join('; ')}` });
      continue;
    }
    for (const [i, c] of (sc.cases as Doc[]).entries()) results.push(checkCase(snap.topology, ns, c, `${String(sc.name)} #${i + 1}`));
  }
  const bad = results.filter((r) => !r.ok);
  const skipped = results.filter((r) => r.skipped).length;
  if (bad.length) return { ok: false, detail: bad.map((r) => r.detail).join('; ') };
  return { ok: true, detail: `${results.length - skipped} check(s)${skipped ? `, ${skipped} skipped (${results.filter((r) => r.skipped).map((r) => r.detail.split(':')[0]).join(', ')})` : ''}` };
}
