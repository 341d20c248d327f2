// A whole request tree in virtual time: the entry request (a client through the ingress gateway, a
// pod's app through its sidecar, or a client straight to a Service), the application behind it
// (mesh/apps.ts) making its own calls one after the other, each through its pod's sidecar, and so
// on down the chain — with every timeout and retry that decides when and how the page comes back.
//
// One hop, as the caller's sidecar handles it (routing.ts decides route, cluster, endpoint, fault):
// 1. The fault filter runs first. Envoy's docs: "The fault injection filter must be inserted before
//    any other filter, including the router filter" (configuration/http/http_filters/fault_filter).
//    An abort is its local reply: the router never sees the request, so no route retry happens
//    (response flag FI). A delay holds the request before the router gets it, so the route timeout —
//    started by the router — does not count it (istio/api virtual_service.proto, HTTPRoute.fault:
//    "timeouts or retries will not be enabled when faults are enabled on the client side").
//    If the calling application gives up during the delay, the request never reaches the upstream.
// 2. The router: the route timeout (VirtualService `timeout`; none by default — Istio sets
//    Notimeout in route.go) "includes all retries", and Envoy "will not retry when a
//    request exceeds" it: a 504 with flag UT (Envoy router_filter docs, x-envoy-retry-on). A per-try
//    timeout (retries.perTryTimeout) ends one try with 504; it is retried on 5xx, gateway-error or
//    reset. Otherwise a try is retried when retryOn covers its answer — Istio's default policy is 2
//    retries on "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes" with
//    retriable status 503 (route/retry/retry.go DefaultPolicy) — after a fully jittered back-off in
//    [0, (2^N−1)·25 ms), capped at 250 ms, preferring hosts not tried yet (previous_hosts).
//    Envoy's local replies (NR no route, NC no cluster, UH no healthy upstream) are not retried.
// 3. The calling application waits at most its own timeout per attempt and retries as its code does
//    (AppBehavior); when it stops waiting, its sidecar resets the upstream request, but the called
//    application — which cannot tell — finishes its own work (and its own calls) anyway.
// The receiving pod's sidecar adds nothing here: Istio's inbound route has no timeout
// (BuildDefaultHTTPInboundRoute). The simulator adds no x-envoy-* request headers: the Bookinfo
// apps neither set nor read them (x-envoy-upstream-rq-timeout-ms from an app would override the
// route timeout; that is not modelled). Network time is 0: only timeouts, delays and the apps'
// serviceTimeMs move the clock.

import type { EndpointInfo, PodInfo, Topology } from '../types.ts';
import type { Prng } from '../util/prng.ts';
import { behaviourFor, type AppCallInfo } from './apps.ts';
import { DEFAULT_RETRIES, peerAuthMode, routeRequest, serviceForHost, type MeshDecision, type MeshRequest, type Proxy } from './routing.ts';
import { isGatewayProxy, routedTls, serverAccepts } from './tls.ts';

/** Where the request starts: a pod's application (through its sidecar), the ingress gateway, or a client outside the mesh sending straight to a Service. */
export type Entry =
  | { kind: 'sidecar'; pod: PodInfo }
  | { kind: 'gateway'; namespace: string; labels: Record<string, string> }
  | { kind: 'direct'; namespace: string };

export interface SimRequest extends MeshRequest {
  /** The logged-in user of the entry application's session (productpage's /login): the app's userHeader carries it. */
  user?: string;
}

/** One upstream try of the caller's Envoy (the first, or one of its retries). */
export interface EnvoyTry {
  startMs: number;
  endMs: number;
  /** The answer the Envoy got (or 504 when its per-try or route timeout fired); 0: the caller gave up first. */
  status: number;
  endpoint: string;
  pod?: string;
  subset?: string;
  timeout?: 'per-try' | 'route' | 'app';
  /** The connection failed before any response: UF (a failed connect or TLS handshake), UC (closed by the server side). */
  failure?: 'UF' | 'UC';
  /** What the called application did; undefined when the endpoint is no pod. */
  server?: ServerRun;
}

/** One attempt of the calling application (its first, or one of its own retries). */
export interface Attempt {
  startMs: number;
  endMs: number;
  /** What the application got; 0 when its own timeout fired first. */
  status: number;
  /** Envoy's response flag: NR, NC, UH (local replies), FI (fault abort), UT (upstream timeout). */
  flag?: string;
  /** The timeout that ended this attempt: the app's own, Envoy's route timeout, or the per-try timeout. */
  timeout?: 'app' | 'route' | 'per-try';
  service?: string;
  subset?: string;
  cluster?: string;
  fault: { delayMs?: number; abortStatus?: number };
  routeTimeoutMs?: number;
  /** Retries the caller's Envoy took (tries − 1). */
  envoyRetries: number;
  tries: EnvoyTry[];
  why: string[];
}

/** One call of an application (or the entry request): all its attempts. */
export interface CallNode {
  /** The caller: "client", "ingress gateway", or a pod id. */
  from: string;
  to: string;
  path: string;
  headers: Record<string, string>;
  startMs: number;
  endMs: number;
  status: number;
  ok: boolean;
  appTimeoutMs?: number;
  /** Retries the calling application took (attempts − 1). */
  appRetries: number;
  attempts: Attempt[];
  /** What the caller shows for a failed call (its onError). */
  message?: string;
}

/** What one pod's application did with one request. */
export interface ServerRun {
  pod: string;
  app?: string;
  citation?: string;
  startMs: number;
  endMs: number;
  status: number;
  calls: CallNode[];
  /** When the caller (or its Envoy) stopped waiting, if before endMs: the work went on unseen. */
  abandonedAtMs?: number;
}

/** A part of the page: one call the entry application made, and the calls below it. */
export interface Section {
  service: string;
  to: string;
  ok: boolean;
  status: number;
  message?: string;
  sections: Section[];
}

export interface SimResult {
  root: CallNode;
  /** What the client got, and when (ms after it sent the request). */
  status: number;
  durationMs: number;
  /** The entry application's calls (productpage: details, then reviews) with what they show. */
  sections: Section[];
  /** The story in time order. */
  events: { atMs: number; text: string }[];
}

/** Calls nested deeper than this are answered 508 (an AppBehavior that calls itself would never end). */
const MAX_DEPTH = 16;
/** Envoy's default retry back-off base interval and cap (router_filter docs). */
const BACKOFF_BASE_MS = 25;
const BACKOFF_MAX_MS = 250;

/** Envoy's wait before retry n+1 (0-based n): fully jittered in [0, (2^(n+1)−1)·25 ms), at most 250 ms. */
export const retryBackoffMs = (rng: Prng, n: number) => Math.min(BACKOFF_MAX_MS, Math.floor(rng.next() * (2 ** (n + 1) - 1) * BACKOFF_BASE_MS));

interface Ctx {
  t: Topology;
  rng: Prng;
  pods: Map<string, PodInfo>;
  events: { atMs: number; text: string; seq: number }[];
  /** Each server run's "answers" event, to add afterwards that nobody was waiting any more. */
  answers: Map<ServerRun, { text: string }>;
}

interface Caller {
  /** Who calls, for the tree and the story. */
  id: string;
  label: string;
  /** The proxy that routes its requests; undefined: no client-side Envoy (straight to the Service). */
  proxy?: Proxy;
  namespace: string;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')} s`;
const ok2xx = (s: number) => s >= 200 && s < 300;

function note(ctx: Ctx, atMs: number, text: string): { text: string } {
  const e = { atMs, text, seq: ctx.events.length };
  ctx.events.push(e);
  return e;
}

/** Envoy's retry conditions (router_filter docs, x-envoy-retry-on) for one try's outcome. */
export function retriable(status: number, timeout: EnvoyTry['timeout'], retryOn: string, failure?: EnvoyTry['failure']): boolean {
  const parts = retryOn.split(',').map((p) => p.trim());
  if (failure === 'UF') return parts.includes('connect-failure') || parts.includes('reset') || parts.includes('5xx') || parts.includes('gateway-error');
  if (failure === 'UC') return parts.includes('reset') || parts.includes('5xx') || parts.includes('gateway-error');
  const codes = parts.filter((p) => /^\d{3}$/.test(p)).map(Number);
  // Istio's default policy carries RetriableStatusCodes [503] next to its retryOn string (retry.go).
  if (retryOn === DEFAULT_RETRIES.retryOn) codes.push(503);
  if (parts.includes('5xx') && status >= 500) return true;
  if (parts.includes('gateway-error') && [502, 503, 504].includes(status)) return true;
  if (timeout === 'per-try' && parts.includes('reset')) return true;
  if (parts.includes('retriable-4xx') && status === 409) return true;
  return (parts.includes('retriable-status-codes') || codes.length > 0) && codes.includes(status);
}

/** What a pod's application does with a request that reaches it at `startMs`. */
function serve(ctx: Ctx, pod: PodInfo, req: SimRequest, startMs: number, depth: number, user: string | undefined): ServerRun {
  const b = behaviourFor(ctx.t, pod);
  if (depth > MAX_DEPTH) {
    note(ctx, startMs, `${pod.name}: calls nested more than ${MAX_DEPTH} deep — podpath stops here (508).`);
    return { pod: pod.id, app: b?.name, startMs, endMs: startMs, status: 508, calls: [] };
  }
  const me: Caller = { id: pod.id, label: pod.name, proxy: { kind: 'sidecar', pod }, namespace: pod.namespace };
  const calls: CallNode[] = [];
  let now = startMs;
  for (const c of b?.calls ?? []) {
    const headers: Record<string, string> = {};
    for (const h of c.forwardHeaders) if (req.headers[h] !== undefined) headers[h] = req.headers[h]!;
    if (c.userHeader && user !== undefined) headers[c.userHeader] = user;
    const node = callService(ctx, me, { host: c.host, port: c.port, path: c.path, method: 'GET', headers }, c, now, depth);
    calls.push(node);
    now = node.endMs;
  }
  const endMs = now + (b?.serviceTimeMs ?? 0);
  const failed = calls.map((n, i) => ({ n, c: b!.calls[i]! })).find(({ n, c }) => !n.ok && c.onErrorStatus !== undefined);
  const status = failed ? failed.c.onErrorStatus! : (b?.status ?? 200);
  const run: ServerRun = { pod: pod.id, app: b?.name, citation: b?.citation, startMs, endMs, status, calls };
  ctx.answers.set(run, note(ctx, endMs, `${pod.name} answers ${status}${b ? '' : ' (no AppBehavior and no known image: it answers at once and calls nothing)'}.`));
  return run;
}

/** One upstream try: the request reaches `endpoint` at `startMs`. */
function tryEndpoint(ctx: Ctx, endpoint: EndpointInfo, req: SimRequest, startMs: number, depth: number, user: string | undefined, subset?: string): EnvoyTry {
  const pod = endpoint.podId ? ctx.pods.get(endpoint.podId) : undefined;
  const ep = `${endpoint.ip}:${endpoint.port}`;
  if (!pod) {
    note(ctx, startMs, `${ep} is no pod podpath knows: it is taken to answer 200 at once.`);
    return { startMs, endMs: startMs, status: 200, endpoint: ep, subset };
  }
  if (!pod.sidecar && isGatewayProxy(ctx.t, pod)) {
    // An Istio gateway (the egress gateway a sidecar routed to): its own Envoy routes the request on.
    note(ctx, startMs, `${pod.name} (an Istio gateway) receives ${req.method} ${req.host}${req.path}: its Envoy routes it by its Gateway servers.`);
    const gw: Caller = { id: pod.id, label: pod.name, proxy: { kind: 'gateway', namespace: pod.namespace, labels: pod.labels }, namespace: pod.namespace };
    const call = callService(ctx, gw, { ...req, port: endpoint.port }, { retries: 0 }, startMs, depth + 1, user);
    const server: ServerRun = { pod: pod.id, app: 'Istio gateway (Envoy)', startMs, endMs: call.endMs, status: call.status, calls: [call] };
    return { startMs, endMs: call.endMs, status: call.status, endpoint: ep, pod: pod.id, subset, server };
  }
  note(ctx, startMs, `${pod.name} receives ${req.method} ${req.path}${Object.keys(req.headers).length ? ` (${Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}.`);
  const server = serve(ctx, pod, req, startMs, depth + 1, user);
  return { startMs, endMs: server.endMs, status: server.status, endpoint: ep, pod: pod.id, subset, server };
}

/** The same pod's answer, cut off at `at` by a timeout: the app keeps working, nobody waits for it. */
function cut(tr: EnvoyTry, at: number, status: number, timeout: EnvoyTry['timeout']): EnvoyTry {
  if (tr.server && at < tr.server.endMs) tr.server.abandonedAtMs = Math.min(tr.server.abandonedAtMs ?? Infinity, at);
  return { ...tr, endMs: at, status, timeout };
}

/** One attempt of the calling application: its sidecar routes it, injects faults, times out and retries. */
function attempt(ctx: Ctx, caller: Caller, req: SimRequest, startMs: number, appTimeoutMs: number | undefined, depth: number, user: string | undefined): Attempt {
  const deadline = appTimeoutMs === undefined ? Infinity : startMs + appTimeoutMs;
  const appGaveUp = (why: string[], tries: EnvoyTry[], base: Partial<Attempt>): Attempt => {
    note(ctx, deadline, `${caller.label}: its own ${secs(appTimeoutMs!)} timeout for ${req.host}:${req.port} fires — no answer yet.`);
    return { startMs, endMs: deadline, status: 0, timeout: 'app', fault: {}, envoyRetries: Math.max(0, tries.length - 1), tries, why: [...why, `The application's own timeout (${secs(appTimeoutMs!)}) fires first: it stops waiting and its sidecar resets the request.`], ...base };
  };

  if (!caller.proxy) {
    // No client-side Envoy: kube-proxy picks one ready endpoint of the Service.
    const svc = serviceForHost(ctx.t, req.host, caller.namespace);
    const sp = svc?.ports.find((p) => p.port === req.port);
    const eps = (svc?.endpoints ?? []).filter((e) => e.ready && (!sp || e.portName === sp.name));
    if (!svc || !sp || !eps.length) {
      const why = [`${req.host}:${req.port} is ${!svc ? 'no Service' : !sp ? 'no port of the Service' : 'a Service without ready endpoints'}: the connection is refused.`];
      note(ctx, startMs, `${caller.label} → ${req.host}:${req.port}: connection refused.`);
      return { startMs, endMs: startMs, status: 0, fault: {}, envoyRetries: 0, tries: [], why, service: svc?.name };
    }
    const ep = eps[ctx.rng.int(0, eps.length - 1)]!;
    const why = [`No client-side Envoy: the connection goes through the Service ${svc.namespace}/${svc.name} to ${ep.ip}:${ep.port} (no VirtualService applies).`];
    const server = ep.podId ? ctx.pods.get(ep.podId) : undefined;
    if (server?.sidecar && peerAuthMode(ctx.t, server) === 'STRICT') {
      note(ctx, startMs, `${caller.label} → ${ep.ip}:${ep.port}: ${server.name}'s sidecar resets the plain-text connection (PeerAuthentication STRICT).`);
      return { startMs, endMs: startMs, status: 0, fault: {}, envoyRetries: 0, tries: [], why: [...why, `${server.name}'s PeerAuthentication is STRICT and the caller has no sidecar to speak mutual TLS: the connection is reset.`], service: svc.name };
    }
    const tr = tryEndpoint(ctx, ep, req, startMs, depth, user);
    if (tr.endMs > deadline) return appGaveUp(why, [cut(tr, deadline, 0, 'app')], { service: svc.name });
    return { startMs, endMs: tr.endMs, status: tr.status, fault: {}, envoyRetries: 0, tries: [tr], why, service: svc.name };
  }

  const d = routeRequest(ctx.t, caller.proxy, req, ctx.rng);
  if (!d.ok) {
    note(ctx, startMs, `${caller.label} → ${req.host}:${req.port}: its Envoy answers ${d.status} itself (${d.flag}).`);
    return { startMs, endMs: startMs, status: d.status, flag: d.flag, fault: {}, envoyRetries: 0, tries: [], why: d.why, cluster: d.cluster };
  }
  const base = { service: d.service?.name ?? d.destination.host, subset: d.subset, cluster: d.cluster, fault: d.fault, routeTimeoutMs: d.timeoutMs };
  const why = [...d.why];
  const where = `${caller.label}'s Envoy`;
  // A gateway's Envoy got the request on its own listener port: the Host it routes on has no port.
  note(ctx, startMs, `${caller.label} → ${caller.proxy.kind === 'gateway' ? req.host : `${req.host}:${req.port}`}${req.path}: ${where} routes it to ${d.cluster}.`);

  // 1. The fault filter.
  const delay = d.fault.delayMs ?? 0;
  const routerAt = startMs + delay;
  if (delay > 0) {
    note(ctx, startMs, `${where} holds the request ${secs(delay)} (fault injection: delay).`);
    why.push(`The fault filter holds the request ${secs(delay)} before the router sees it; the route timeout does not count this time.`);
    if (routerAt >= deadline) {
      why.push(`The request never reached ${d.service?.name ?? d.destination.host}: the caller gave up during the delay.`);
      return appGaveUp(why, [], base);
    }
  }
  if (d.fault.abortStatus !== undefined) {
    note(ctx, routerAt, `${where} answers ${d.fault.abortStatus} itself (fault injection: abort, flag FI); nothing reaches ${d.service?.name ?? d.destination.host}.`);
    why.push(`The fault filter answers ${d.fault.abortStatus} (FI) itself: the router never runs, so no retry.`);
    return { startMs, endMs: routerAt, status: d.fault.abortStatus, flag: 'FI', envoyRetries: 0, tries: [], why, ...base };
  }

  // 2. The router: route timeout, per-try timeout, retries.
  const routeDeadline = d.timeoutMs !== undefined ? routerAt + d.timeoutMs : Infinity;
  const perTry = d.retries.perTryTimeoutMs;
  const tries: EnvoyTry[] = [];
  const triedHosts = new Set<string>();
  let endpoint = d.endpoint;
  let at = routerAt;
  for (let n = 0; ; n++) {
    triedHosts.add(`${endpoint.ip}:${endpoint.port}`);
    const tlsFail = tlsMismatch(ctx, d, endpoint);
    if (tlsFail) note(ctx, at, `${where} → ${endpoint.ip}:${endpoint.port}: ${tlsFail.why} 503 (${tlsFail.flag}).`);
    let tr: EnvoyTry = tlsFail ? { startMs: at, endMs: at, status: 503, endpoint: `${endpoint.ip}:${endpoint.port}`, pod: endpoint.podId, subset: d.subset, failure: tlsFail.flag } : tryEndpoint(ctx, endpoint, req, at, depth, user, d.subset);
    const answerAt = tr.endMs;
    if (perTry !== undefined && answerAt > at + perTry) tr = cut(tr, at + perTry, 504, 'per-try');
    if (tr.endMs > routeDeadline) tr = cut(tr, routeDeadline, 504, 'route');
    if (tr.endMs > deadline) {
      tries.push(cut(tr, deadline, 0, 'app'));
      return appGaveUp(why, tries, base);
    }
    tries.push(tr);
    if (tr.timeout === 'route') {
      note(ctx, tr.endMs, `${where}: the route timeout (${secs(d.timeoutMs!)}) fires — 504 "upstream request timeout" (UT), no more retries.`);
      why.push(`The route timeout ${secs(d.timeoutMs!)} fires: Envoy answers 504 (UT) and does not retry.`);
      return { startMs, endMs: tr.endMs, status: 504, flag: 'UT', timeout: 'route', envoyRetries: n, tries, why, ...base };
    }
    if (tr.timeout === 'per-try') note(ctx, tr.endMs, `${where}: the per-try timeout (${secs(perTry!)}) fires — 504 for this try.`);
    if (n >= d.retries.attempts || !retriable(tr.status, tr.timeout, d.retries.retryOn, tr.failure)) {
      if (n > 0) why.push(`${where} retried ${n} time(s).`);
      if (tlsFail) why.push(tlsFail.why);
      return { startMs, endMs: tr.endMs, status: tr.status, flag: tr.failure ?? (tr.timeout ? 'UT' : undefined), timeout: tr.timeout === 'per-try' ? 'per-try' : undefined, envoyRetries: n, tries, why, ...base };
    }
    const backoff = retryBackoffMs(ctx.rng, n);
    at = tr.endMs + backoff;
    note(ctx, tr.endMs, `${where} retries (retry ${n + 1} of ${d.retries.attempts}, on ${tr.status}) after a ${backoff} ms back-off.`);
    if (at >= routeDeadline) {
      note(ctx, routeDeadline, `${where}: the route timeout (${secs(d.timeoutMs!)}) fires during the back-off — 504 (UT).`);
      return { startMs, endMs: routeDeadline, status: 504, flag: 'UT', timeout: 'route', envoyRetries: n, tries, why, ...base };
    }
    if (at >= deadline) return appGaveUp(why, tries, base);
    const fresh = d.endpoints.filter((e) => !triedHosts.has(`${e.ip}:${e.port}`));
    const pool = fresh.length ? fresh : d.endpoints;
    endpoint = pool[ctx.rng.int(0, pool.length - 1)]!;
  }
}

/** A TLS disagreement between the caller's Envoy and the endpoint (mesh/tls.ts), or undefined when they agree. */
function tlsMismatch(ctx: Ctx, d: Extract<MeshDecision, { ok: true }>, endpoint: EndpointInfo): { flag: 'UF' | 'UC'; why: string } | undefined {
  const pod = endpoint.podId ? ctx.pods.get(endpoint.podId) : undefined;
  const tls = routedTls(ctx.t, d, pod);
  const o = serverAccepts(ctx.t, tls, pod, !!pod?.sidecar);
  return o.ok ? undefined : { flag: o.flag, why: `${tls.why} ${o.why}` };
}

/** One call of an application (or the entry request), with the caller's own timeout and retries. */
function callService(ctx: Ctx, caller: Caller, req: SimRequest, spec: Pick<AppCallInfo, 'timeoutMs' | 'retries' | 'onError'>, startMs: number, depth: number, user?: string): CallNode {
  const attempts: Attempt[] = [];
  let now = startMs;
  for (let a = 0; a <= spec.retries; a++) {
    if (a > 0) note(ctx, now, `${caller.label} retries ${req.host}:${req.port} (its own retry ${a} of ${spec.retries}).`);
    const at = attempt(ctx, caller, req, now, spec.timeoutMs, depth, user);
    attempts.push(at);
    now = at.endMs;
    if (ok2xx(at.status)) break;
  }
  const last = attempts[attempts.length - 1]!;
  const ok = ok2xx(last.status);
  if (!ok && spec.onError) note(ctx, now, `${caller.label} gives up on ${req.host}:${req.port} and shows: "${spec.onError}"`);
  return { from: caller.id, to: `${req.host}:${req.port}`, path: req.path, headers: req.headers, startMs, endMs: now, status: last.status, ok, appTimeoutMs: spec.timeoutMs, appRetries: attempts.length - 1, attempts, message: ok ? undefined : spec.onError };
}

/** The server run that produced a call's final answer (its last attempt's last try). */
export function answeredBy(n: CallNode): ServerRun | undefined {
  const last = n.attempts[n.attempts.length - 1];
  return last?.tries[last.tries.length - 1]?.server;
}

function sectionsOf(run: ServerRun | undefined): Section[] {
  return (run?.calls ?? []).map((c) => {
    const served = c.ok ? answeredBy(c) : undefined;
    return { service: c.to.slice(0, c.to.lastIndexOf(':')).split('.')[0]!, to: c.to, ok: c.ok, status: c.status, message: c.message, sections: sectionsOf(served) };
  });
}

/**
 * Evaluate a whole request tree: the entry request, the application it reaches, that
 * application's calls in order, and so on. Deterministic for a given seed (weighted routes,
 * fault percentages, endpoint picks and retry back-offs draw from `rng`).
 */
export function simulateRequest(t: Topology, entry: Entry, request: SimRequest, rng: Prng): SimResult {
  const ctx: Ctx = { t, rng, pods: new Map(t.nodes.flatMap((n) => n.pods).map((p) => [p.id, p])), events: [], answers: new Map() };
  const caller: Caller =
    entry.kind === 'sidecar'
      ? { id: entry.pod.id, label: entry.pod.name, proxy: entry, namespace: entry.pod.namespace }
      : entry.kind === 'gateway'
        ? { id: 'ingress gateway', label: 'the ingress gateway', proxy: entry, namespace: entry.namespace }
        : { id: 'client', label: 'the client', namespace: entry.namespace };
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
  if (request.user !== undefined) note(ctx, 0, `The client is logged in as "${request.user}" (the entry application's session).`);
  const root = callService(ctx, caller, { ...request, headers }, { retries: 0 }, 0, 0, request.user);
  for (const [run, e] of ctx.answers) if (run.abandonedAtMs !== undefined) e.text = e.text.replace(/\.$/, ` — nobody is waiting for it any more (its caller stopped at ${secs(run.abandonedAtMs)}).`);
  const events = ctx.events.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq).map(({ atMs, text }) => ({ atMs, text }));
  return { root, status: root.status, durationMs: root.endMs, sections: sectionsOf(answeredBy(root)), events };
}

/** Every attempt in the tree (the entry's, then depth first). */
export function allAttempts(r: SimResult): { call: CallNode; attempt: Attempt }[] {
  const out: { call: CallNode; attempt: Attempt }[] = [];
  const walk = (c: CallNode) => {
    for (const a of c.attempts) {
      out.push({ call: c, attempt: a });
      for (const tr of a.tries) for (const sub of tr.server?.calls ?? []) walk(sub);
    }
  };
  walk(r.root);
  return out;
}

/** The page section of a service, searched depth first ("reviews", "ratings"). */
export function findSection(r: SimResult, service: string): Section | undefined {
  const walk = (list: Section[]): Section | undefined => {
    for (const s of list) {
      if (s.service === service) return s;
      const sub = walk(s.sections);
      if (sub) return sub;
    }
    return undefined;
  };
  return walk(r.sections);
}
