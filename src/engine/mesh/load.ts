// Many requests at once through one client sidecar, as `fortio load -c <connections> -n <requests>
// -qps 0` sends them from a meshed pod: what Envoy's circuit breakers (DestinationRule
// connectionPool) and outlier detection (outlierDetection) do to them. Discrete events in virtual
// time, deterministic for a seed.
//
// Envoy, per cluster of the client's Envoy (limits shared by its worker threads, nothing shared
// between sidecars — envoy source/common/upstream/resource_manager_impl.h):
// - HTTP/1.1 pools per host, one request per connection at a time (connection_pooling.rst). A new
//   request takes an idle connection to the chosen host; else it waits in the pending queue — or, when
//   max_pending_requests are already waiting, gets a local 503 at once: response flag UO, header
//   x-envoy-overloaded: true, stat upstream_rq_pending_overflow; never retried
//   (source/common/conn_pool/conn_pool_base.cc newStreamImpl; router.cc onUpstreamReset; retry_state_impl.cc).
// - A waiting request makes the pool open a connection while max_connections allows; past it
//   upstream_cx_overflow counts up and the request keeps waiting — except that a host with no
//   connection at all always gets one (conn_pool_base.cc tryCreateNewConnection).
// - max_requests (http2MaxRequests) caps requests outstanding in the cluster (attachStreamToClient:
//   an overflow too); max_requests_per_connection closes a connection after that many requests.
// - Istio sets every threshold to 2^32−1 unless the DestinationRule says otherwise
//   (pilot/pkg/networking/core/cluster_traffic_policy.go getDefaultCircuitBreakerThresholds).
// Outlier detection (only when the DestinationRule has outlierDetection — applyOutlierDetection):
// - consecutive5xxErrors (default 5; local failures such as connect errors count too) ejects a host
//   at once; consecutiveGatewayErrors (502/503/504) only when set. A host is ejected only while
//   fewer than maxEjectionPercent (default 10) of the hosts are, the first always
//   (outlier_detection_impl.cc ejectHost). It returns at the first interval sweep (default 10 s)
//   after baseEjectionTime (default 30 s) × times ejected, at most 300 s (checkHostForUneject).
// - Istio sets the panic threshold to minHealthPercent (default 0: off), so with every host ejected
//   Envoy answers 503 "no healthy upstream" (UH) (panic_threshold.rst).
// Load balancing: LEAST_REQUEST (Istio's default since 1.14) picks two random hosts and takes the
// one with fewer active requests; ROUND_ROBIN in turn; RANDOM at random (load_balancers.rst). Retries
// follow the route's policy (Istio's default: 2, on connect-failure, refused-stream, unavailable,
// cancelled and 503), preferring hosts not tried yet.
//
// Time is podpath's model, not a measurement: every hop between two processes (app → its sidecar,
// sidecar → sidecar, sidecar → app) takes `hopMs`, a new connection one round trip, and the
// application its AppBehavior serviceTimeMs (its own calls are not made under load). Real runs
// vary; the mechanisms, and the direction of the numbers, are what this shows.

import type { EndpointInfo, PodInfo, Topology } from '../types.ts';
import type { Prng } from '../util/prng.ts';
import { behaviourFor } from './apps.ts';
import { retriable, retryBackoffMs } from './calls.ts';
import { routeRequest, type MeshDecision, type MeshRequest, type Proxy } from './routing.ts';
import { routedTls, serverAccepts } from './tls.ts';

export interface LoadSpec {
  /** fortio -c: connections (goroutines), each sending its share of the requests one after the other. */
  connections: number;
  /** fortio -n: requests in all. */
  requests: number;
  /** podpath's latency of one hop between two processes, in ms. */
  hopMs: number;
}

export const DEFAULT_HOP_MS = 0.5;
const UNLIMITED = 2 ** 32 - 1;
const MAX_EJECTION_MS = 300_000;

export interface LoadRequest {
  connection: number;
  sentMs: number;
  doneMs: number;
  status: number;
  flag?: string;
  cluster?: string;
  /** The endpoint of the last try, when one was tried. */
  endpoint?: string;
  tries: number;
}

export interface ClusterLoadStats {
  cluster: string;
  thresholds: { maxConnections: number; maxPendingRequests: number; maxRequests: number; maxRetries: number; maxRequestsPerConnection: number };
  /** Envoy's counters, by their stat names (cluster.<name>.<stat>). */
  stats: Record<string, number>;
}

export interface EndpointLoadStats {
  cluster: string;
  endpoint: string;
  pod?: string;
  requests: number;
  errors: number;
  ejections: { fromMs: number; toMs?: number }[];
}

export interface LoadResult {
  spec: LoadSpec;
  durationMs: number;
  codes: { status: number; count: number }[];
  flags: Record<string, number>;
  requests: LoadRequest[];
  clusters: ClusterLoadStats[];
  endpoints: EndpointLoadStats[];
  /** fortio's summary, as it prints it. */
  summary: string[];
  /** What happened, in time order (capped). */
  events: { atMs: number; text: string }[];
}

type Ok = Extract<MeshDecision, { ok: true }>;

interface Host {
  ep: EndpointInfo;
  key: string;
  pod?: PodInfo;
  active: number;
  conns: Conn[];
  pending: Stream[];
  consecutive5xx: number;
  consecutiveGw: number;
  ejected: boolean;
  lastEjectionMs: number;
  backoff: number;
  out: EndpointLoadStats;
}

interface Conn { host: Host; ready: boolean; busy: boolean; served: number; closed: boolean }

interface Pool {
  cluster: string;
  d: Ok;
  max: ClusterLoadStats['thresholds'];
  outlier?: { c5xx: number; cGw: number; intervalMs: number; baseMs: number; maxPercent: number; panicPercent: number };
  hosts: Host[];
  connections: number;
  pending: number;
  active: number;
  activeRetries: number;
  rr: number;
  stats: Record<string, number>;
}

interface Stream { req: LoadRequest; d: Ok; pool?: Pool; host?: Host; tryNo: number; tried: Set<string> }

const MAX_EVENTS = 400;

/** Fire `n` requests from `proxy` (a sidecar or gateway Envoy) as fortio would, and count what came back. */
export function simulateLoad(t: Topology, proxy: Proxy, request: MeshRequest, spec: LoadSpec, rng: Prng): LoadResult {
  const hop = spec.hopMs;
  const pods = new Map(t.nodes.flatMap((n) => n.pods).map((p) => [p.id, p]));
  const pools = new Map<string, Pool>();
  const requests: LoadRequest[] = [];
  const events: { atMs: number; text: string }[] = [];
  const note = (atMs: number, text: string) => {
    if (events.length < MAX_EVENTS) events.push({ atMs, text });
  };

  // The event queue: a binary heap on (time, sequence).
  const heap: { at: number; seq: number; run: () => void }[] = [];
  let seq = 0;
  let now = 0;
  const earlier = (a: number, b: number) => heap[a]!.at < heap[b]!.at || (heap[a]!.at === heap[b]!.at && heap[a]!.seq < heap[b]!.seq);
  const at = (time: number, run: () => void) => {
    heap.push({ at: time, seq: seq++, run });
    for (let i = heap.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (earlier(p, i)) break;
      [heap[p], heap[i]] = [heap[i]!, heap[p]!];
      i = p;
    }
  };
  const pop = () => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && earlier(l, m)) m = l;
        if (r < heap.length && earlier(r, m)) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i]!, heap[m]!];
        i = m;
      }
    }
    return top;
  };

  const poolFor = (d: Ok): Pool => {
    let p = pools.get(d.cluster);
    if (p) return p;
    const cp = d.trafficPolicy?.connectionPool;
    const od = d.trafficPolicy?.outlierDetection;
    const pos = (v: number | undefined, dflt: number) => (v !== undefined && v > 0 ? v : dflt);
    p = {
      cluster: d.cluster,
      d,
      max: { maxConnections: pos(cp?.tcpMaxConnections, UNLIMITED), maxPendingRequests: pos(cp?.http1MaxPendingRequests, UNLIMITED), maxRequests: pos(cp?.http2MaxRequests, UNLIMITED), maxRetries: pos(cp?.maxRetries, UNLIMITED), maxRequestsPerConnection: cp?.maxRequestsPerConnection ?? 0 },
      outlier: od ? { c5xx: od.consecutive5xxErrors ?? 5, cGw: od.consecutiveGatewayErrors ?? 0, intervalMs: od.intervalMs ?? 10_000, baseMs: od.baseEjectionTimeMs ?? 30_000, maxPercent: pos(od.maxEjectionPercent, 10), panicPercent: od.minHealthPercent ?? 0 } : undefined,
      hosts: [],
      connections: 0,
      pending: 0,
      active: 0,
      activeRetries: 0,
      rr: 0,
      stats: { upstream_rq_total: 0, upstream_rq_pending_total: 0, upstream_rq_pending_overflow: 0, upstream_cx_total: 0, upstream_cx_overflow: 0, upstream_rq_retry: 0, upstream_rq_retry_overflow: 0, ...(od ? { 'outlier_detection.ejections_enforced_total': 0, 'outlier_detection.ejections_overflow': 0 } : {}) },
    };
    for (const ep of d.endpoints) {
      const key = `${ep.ip}:${ep.port}`;
      const pod = ep.podId ? pods.get(ep.podId) : undefined;
      p.hosts.push({ ep, key, pod, active: 0, conns: [], pending: [], consecutive5xx: 0, consecutiveGw: 0, ejected: false, lastEjectionMs: 0, backoff: 0, out: { cluster: d.cluster, endpoint: key, ...(pod ? { pod: pod.name } : {}), requests: 0, errors: 0, ejections: [] } });
    }
    pools.set(d.cluster, p);
    if (p.outlier) at(p.outlier.intervalMs, () => sweep(p!));
    return p;
  };

  // The fortio side: each connection sends its share, the next one as soon as the last came back.
  const quota = Array.from({ length: spec.connections }, (_, i) => Math.floor(spec.requests / spec.connections) + (i < spec.requests % spec.connections ? 1 : 0));
  let outstanding = spec.connections;
  const send = (c: number) => {
    if (quota[c]! <= 0) {
      outstanding--;
      return;
    }
    quota[c]!--;
    const req: LoadRequest = { connection: c, sentMs: now, doneMs: now, status: 0, tries: 0 };
    requests.push(req);
    at(now + hop, () => arrive(req));
  };
  const respond = (s: Stream | LoadRequest, status: number, flag?: string) => {
    const req = 'req' in s ? s.req : s;
    req.status = status;
    if (flag) req.flag = flag;
    at(now + hop, () => {
      req.doneMs = now;
      send(req.connection);
    });
  };

  const arrive = (req: LoadRequest) => {
    const d = routeRequest(t, proxy, request, rng);
    if (!d.ok) {
      if (req.connection === 0 && requests.length <= spec.connections) note(now, `The client's Envoy answers ${d.status} (${d.flag}) itself: ${d.why[d.why.length - 1]}`);
      return respond(req, d.status, d.flag);
    }
    req.cluster = d.cluster;
    const s: Stream = { req, d, tryNo: 0, tried: new Set() };
    if (d.fault.abortStatus !== undefined) return respond(s, d.fault.abortStatus, 'FI');
    if (d.fault.delayMs) at(now + d.fault.delayMs, () => dispatch(s));
    else dispatch(s);
  };

  const available = (p: Pool) => {
    const healthy = p.hosts.filter((h) => !h.ejected);
    // Panic: below minHealthPercent healthy hosts Envoy balances over all of them (Istio: 0, off).
    if (p.outlier && p.hosts.length && (100 * healthy.length) / p.hosts.length < p.outlier.panicPercent) return p.hosts;
    return healthy;
  };

  const pick = (p: Pool, tried: Set<string>): Host | undefined => {
    const all = available(p);
    const fresh = all.filter((h) => !tried.has(h.key));
    const list = fresh.length ? fresh : all;
    if (!list.length) return undefined;
    const lb = p.d.loadBalancer;
    if (lb === 'ROUND_ROBIN') return list[p.rr++ % list.length];
    if (lb !== 'LEAST_REQUEST' || list.length === 1) return list[rng.int(0, list.length - 1)];
    const a = list[rng.int(0, list.length - 1)]!;
    const b = list[rng.int(0, list.length - 1)]!;
    return b.active < a.active ? b : a;
  };

  const dispatch = (s: Stream) => {
    const p = (s.pool ??= poolFor(s.d));
    const host = pick(p, s.tried);
    if (!host) {
      note(now, `Every endpoint of ${p.cluster} is ejected (panic threshold ${p.outlier?.panicPercent ?? 0} %): Envoy answers 503 "no healthy upstream" (UH).`);
      return respond(s, 503, 'UH');
    }
    s.host = host;
    s.tried.add(host.key);
    const idle = host.conns.find((c) => c.ready && !c.busy && !c.closed);
    if (idle) return attach(p, idle, s);
    if (p.pending >= p.max.maxPendingRequests) {
      p.stats.upstream_rq_pending_overflow!++;
      if (p.stats.upstream_rq_pending_overflow! <= 3) note(now, `${p.cluster}: ${p.pending} request(s) already wait for a connection (http1MaxPendingRequests ${p.max.maxPendingRequests}): the circuit breaker trips — 503 at once, flag UO, x-envoy-overloaded: true.`);
      return respond(s, 503, 'UO');
    }
    host.pending.push(s);
    p.pending++;
    p.stats.upstream_rq_pending_total!++;
    connect(p, host);
  };

  const connect = (p: Pool, host: Host) => {
    const connecting = host.conns.filter((c) => !c.ready && !c.closed).length;
    if (connecting >= host.pending.length) return;
    const open = host.conns.filter((c) => !c.closed).length;
    if (p.connections >= p.max.maxConnections && open > 0) {
      p.stats.upstream_cx_overflow!++;
      return;
    }
    if (p.connections >= p.max.maxConnections) p.stats.upstream_cx_overflow!++;
    const c: Conn = { host, ready: false, busy: false, served: 0, closed: false };
    host.conns.push(c);
    p.connections++;
    p.stats.upstream_cx_total!++;
    at(now + 2 * hop, () => {
      c.ready = true;
      next(p, c);
    });
  };

  const next = (p: Pool, c: Conn) => {
    if (c.closed) return;
    const s = c.host.pending.shift();
    if (!s) return;
    p.pending--;
    attach(p, c, s);
  };

  const close = (p: Pool, c: Conn) => {
    if (c.closed) return;
    c.closed = true;
    p.connections--;
    c.host.conns = c.host.conns.filter((x) => x !== c);
  };

  const attach = (p: Pool, c: Conn, s: Stream) => {
    const host = c.host;
    if (p.active >= p.max.maxRequests) {
      p.stats.upstream_rq_pending_overflow!++;
      respond(s, 503, 'UO');
      return next(p, c);
    }
    c.busy = true;
    p.active++;
    host.active++;
    host.out.requests++;
    p.stats.upstream_rq_total!++;
    s.req.tries++;
    s.req.endpoint = host.key;
    const accept = serverAccepts(t, routedTls(t, s.d, host.pod), host.pod, !!host.pod?.sidecar);
    const b = host.pod ? behaviourFor(t, host.pod) : undefined;
    const status = accept.ok ? (b?.status ?? 200) : 503;
    const took = accept.ok ? (host.pod?.sidecar ? 4 : 2) * hop + (b?.serviceTimeMs ?? 0) : 2 * hop;
    at(now + took, () => done(p, c, s, status, accept.ok ? undefined : accept.flag));
  };

  const done = (p: Pool, c: Conn, s: Stream, status: number, failure?: 'UF' | 'UC') => {
    const host = c.host;
    c.busy = false;
    c.served++;
    p.active--;
    host.active--;
    if (status >= 500) host.out.errors++;
    outlier(p, host, status);
    if (failure || host.ejected || (p.max.maxRequestsPerConnection > 0 && c.served >= p.max.maxRequestsPerConnection)) {
      close(p, c);
      if (host.pending.length) connect(p, host);
    } else next(p, c);
    if (s.tryNo > 0) p.activeRetries--;
    const r = s.d.retries;
    if (s.tryNo < r.attempts && retriable(status, undefined, r.retryOn, failure)) {
      if (p.activeRetries >= p.max.maxRetries) {
        p.stats.upstream_rq_retry_overflow!++;
        return respond(s, status, failure);
      }
      p.activeRetries++;
      p.stats.upstream_rq_retry!++;
      const backoff = retryBackoffMs(rng, s.tryNo);
      s.tryNo++;
      at(now + backoff, () => dispatch(s));
      return;
    }
    respond(s, status, failure);
  };

  const outlier = (p: Pool, host: Host, status: number) => {
    const o = p.outlier;
    if (!o) return;
    if (status < 500) {
      host.consecutive5xx = 0;
      host.consecutiveGw = 0;
      return;
    }
    host.consecutive5xx++;
    if ([502, 503, 504].includes(status)) host.consecutiveGw++;
    const by5xx = o.c5xx > 0 && host.consecutive5xx >= o.c5xx;
    const byGw = o.cGw > 0 && host.consecutiveGw >= o.cGw;
    if (host.ejected || (!by5xx && !byGw)) return;
    const ejected = p.hosts.filter((h) => h.ejected).length;
    if ((100 * ejected) / p.hosts.length >= o.maxPercent) {
      p.stats['outlier_detection.ejections_overflow']!++;
      note(now, `${host.key} has ${host.consecutive5xx} consecutive 5xx, but ${ejected} of ${p.hosts.length} hosts are ejected already (maxEjectionPercent ${o.maxPercent}): it stays.`);
      return;
    }
    host.ejected = true;
    host.backoff++;
    host.lastEjectionMs = now;
    host.consecutive5xx = 0;
    host.consecutiveGw = 0;
    host.out.ejections.push({ fromMs: now });
    p.stats['outlier_detection.ejections_enforced_total']!++;
    for (const c of host.conns.filter((x) => !x.busy)) close(p, c);
    note(now, `Outlier detection ejects ${host.key}${host.pod ? ` (${host.pod.name})` : ''} from ${p.cluster}: ${by5xx ? `${o.c5xx} consecutive 5xx` : `${o.cGw} consecutive gateway errors`}; it is out for ${Math.min(o.baseMs * host.backoff, Math.max(MAX_EJECTION_MS, o.baseMs)) / 1000} s (baseEjectionTime × ${host.backoff}), back at an interval sweep after that.`);
  };

  const sweep = (p: Pool) => {
    const o = p.outlier!;
    for (const h of p.hosts) {
      if (h.ejected && now - h.lastEjectionMs >= Math.min(o.baseMs * h.backoff, Math.max(MAX_EJECTION_MS, o.baseMs))) {
        h.ejected = false;
        h.consecutive5xx = 0;
        h.consecutiveGw = 0;
        h.out.ejections[h.out.ejections.length - 1]!.toMs = now;
        note(now, `Interval sweep: ${h.key} has served its ejection and is back in ${p.cluster}.`);
      } else if (!h.ejected && h.backoff > 0) h.backoff--;
    }
    if (outstanding > 0) at(now + o.intervalMs, () => sweep(p));
  };

  for (let c = 0; c < spec.connections; c++) send(c);
  while (heap.length) {
    const e = pop();
    now = e.at;
    e.run();
    // Once every fortio connection has its answers only interval sweeps can remain: stop there.
    if (outstanding <= 0) break;
  }

  const durationMs = requests.reduce((m, r) => Math.max(m, r.doneMs), 0);
  const byCode = new Map<number, number>();
  const flags: Record<string, number> = {};
  for (const r of requests) {
    byCode.set(r.status, (byCode.get(r.status) ?? 0) + 1);
    if (r.flag) flags[r.flag] = (flags[r.flag] ?? 0) + 1;
  }
  const codes = [...byCode].sort((a, b) => a[0] - b[0]).map(([status, count]) => ({ status, count }));
  const per = Math.floor(spec.requests / spec.connections);
  const summary = [
    `Starting at max qps with ${spec.connections} thread(s) for exactly ${spec.requests} calls (${per} per thread + ${spec.requests - per * spec.connections})`,
    `Ended after ${(durationMs / 1000).toFixed(6)}s : ${requests.length} calls. qps=${durationMs > 0 ? ((requests.length * 1000) / durationMs).toFixed(1) : '∞'}`,
    ...codes.map((c) => `Code ${c.status} : ${c.count} (${((100 * c.count) / Math.max(1, requests.length)).toFixed(1)} %)`),
  ];
  const clusters = [...pools.values()].map((p) => ({ cluster: p.cluster, thresholds: p.max, stats: p.stats }));
  const endpoints = [...pools.values()].flatMap((p) => p.hosts.map((h) => h.out));
  return { spec, durationMs, codes, flags, requests, clusters, endpoints, summary, events };
}
