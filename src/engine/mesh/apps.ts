// What an application does with a request it receives: the calls it makes to other services, in
// order, each with the application's OWN timeout, retries and forwarded headers — behaviour no
// Kubernetes or Istio object describes, yet it decides what a mesh lesson shows (the Bookinfo
// fault-injection task: a page that fails after 6 s although the injected delay is 7 s).
//
// The podpath kind AppBehavior (podpath.dev/v1alpha1) describes it for the pods it selects:
//
//   apiVersion: podpath.dev/v1alpha1
//   kind: AppBehavior
//   metadata: {name: frontend}
//   spec:
//     selector: {app: frontend}          # pod labels (or {matchLabels: {...}}), same namespace
//     serviceTimeMs: 20                  # the app's own work, after its calls (default 0)
//     status: 503                        # what it answers (default 200): a broken version
//     calls:                             # made one after the other, in this order
//     - to: backend:8080                 # host:port as the app writes it in its URL
//       path: /api                       # default /
//       timeout: 3s                      # the app's own timeout per attempt (default: waits forever)
//       retries: 1                       # the app's own extra attempts after a failed one (default 0)
//       forwardHeaders: [end-user]       # incoming headers copied onto this call
//       userHeader: end-user             # set to the logged-in user's name (the app's session)
//       onError: "Backend unavailable"   # what the app shows when this call fails
//       onErrorStatus: 502               # what the app answers then (default: it answers 200 anyway)
//
// Pods that no AppBehavior selects and that run a Bookinfo image get the sample's known behaviour
// (BOOKINFO below, read from the sample's source); any other pod answers at once and calls nothing.

import type { PodInfo, SourceRef, Topology } from '../types.ts';
import type { DocReader, Obj, ObjectMeta } from '../model/objects.ts';
import { durationMs } from './objects.ts';

export const APP_BEHAVIOR_KIND = 'AppBehavior';
export const APP_BEHAVIOR_API_VERSION = 'podpath.dev/v1alpha1';

export interface AppCallInfo {
  /** The host and port the application calls (its URL's authority). */
  host: string;
  port: number;
  path: string;
  /** The application's own timeout for one attempt; undefined: it waits as long as it takes. */
  timeoutMs?: number;
  /** Extra attempts the application makes after a failed one (a non-2xx answer or its timeout). */
  retries: number;
  /** Incoming request headers copied onto this call (lower case). */
  forwardHeaders: string[];
  /** A header the application sets to the logged-in user's name (from its session), e.g. end-user. */
  userHeader?: string;
  /** What the application shows when this call fails. */
  onError?: string;
  /** The status the application answers with when this call fails; undefined: it still answers 200. */
  onErrorStatus?: number;
}

export interface AppBehaviorInfo {
  namespace: string;
  name: string;
  /** Pod labels the behaviour applies to (every one must match). */
  selector: Record<string, string>;
  calls: AppCallInfo[];
  /** Time the application spends on its own work, after its calls. */
  serviceTimeMs: number;
  /** The status the application answers with when its calls did not decide otherwise (default 200): 503 models a broken version. */
  status?: number;
  /** For a built-in behaviour: where it was read from (the application's source). */
  citation?: string;
  source?: SourceRef;
}

/** "host:port" → parts, or undefined when it is not of that form. */
export function parseHostPort(v: string): { host: string; port: number } | undefined {
  const m = /^([^:\s/]+):(\d{1,5})$/.exec(v.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return undefined;
  return { host: m[1]!, port: Number(m[2]) };
}

export function readAppBehavior(r: DocReader, meta: ObjectMeta): AppBehaviorInfo | undefined {
  if (meta.apiVersion !== APP_BEHAVIOR_API_VERSION) {
    r.report('PP013', 'error', `AppBehavior has apiVersion ${meta.apiVersion}; expected ${APP_BEHAVIOR_API_VERSION}.`, meta.raw, 'apiVersion');
    return undefined;
  }
  const spec = r.map(meta.raw, 'spec');
  if (!spec) {
    r.report('PP003', 'error', 'AppBehavior needs a spec (selector, calls).', meta.raw, 'kind');
    return undefined;
  }
  const sel = r.map(spec, 'selector');
  const selector = sel && sel.matchLabels !== undefined ? r.strings(sel, 'matchLabels') : r.strings(spec, 'selector');
  if (!Object.keys(selector).length) r.report('PP003', 'error', 'AppBehavior spec.selector must name at least one pod label (e.g. {app: productpage}).', spec, sel ? 'selector' : undefined);
  let serviceTimeMs = 0;
  if (spec.serviceTimeMs !== undefined) {
    if (typeof spec.serviceTimeMs === 'number' && Number.isFinite(spec.serviceTimeMs) && spec.serviceTimeMs >= 0) serviceTimeMs = spec.serviceTimeMs;
    else r.report('PP013', 'error', `serviceTimeMs must be a number of milliseconds ≥ 0 (found ${JSON.stringify(spec.serviceTimeMs)}).`, spec, 'serviceTimeMs');
  }
  const calls: AppCallInfo[] = [];
  for (const c of r.list(spec, 'calls')) {
    if (!c || typeof c !== 'object' || Array.isArray(c)) {
      r.report('PP003', 'error', 'Each entry of spec.calls must be a mapping with at least "to: host:port".', spec, 'calls');
      continue;
    }
    const co = c as Obj;
    const to = r.str(co, 'to');
    const hp = to ? parseHostPort(to) : undefined;
    if (!hp) {
      r.report('PP013', 'error', to ? `calls[].to must be host:port (found "${to}").` : 'A call needs "to: host:port".', co, to ? 'to' : undefined);
      continue;
    }
    let timeoutMs: number | undefined;
    if (co.timeout !== undefined) {
      timeoutMs = durationMs(co.timeout);
      if (timeoutMs === undefined || timeoutMs <= 0) {
        r.report('PP013', 'error', `timeout must be a duration such as 3s, 2.5s or 500ms (found ${JSON.stringify(co.timeout)}).`, co, 'timeout');
        timeoutMs = undefined;
      }
    }
    const path = r.str(co, 'path') ?? '/';
    if (!path.startsWith('/')) r.report('PP013', 'error', `path must start with "/" (found "${path}").`, co, 'path');
    const onErrorStatus = r.int(co, 'onErrorStatus', 100, 599);
    calls.push({
      host: hp.host,
      port: hp.port,
      path,
      timeoutMs,
      retries: r.int(co, 'retries', 0, 100) ?? 0,
      forwardHeaders: r.list(co, 'forwardHeaders').map((h) => String(h).toLowerCase()),
      userHeader: r.str(co, 'userHeader')?.toLowerCase(),
      onError: r.str(co, 'onError'),
      onErrorStatus,
    });
  }
  const status = r.int(spec, 'status', 100, 599);
  return { namespace: meta.namespace, name: meta.name, selector, calls, serviceTimeMs, ...(status !== undefined ? { status } : {}), source: meta.source };
}

// ---------------------------------------------------------------------------------------------
// The Bookinfo sample (istio/istio samples/bookinfo/src), as its source code behaves.
//
// productpage (productpage/productpage.py):
// - front() (/productpage) calls getProductDetails, then getProductReviews, one after the other.
// - getProductDetails: requests.get("http://details:9080/details/0", timeout=3.0), no retry; any
//   answer but 200 (or an exception, e.g. the timeout) → 'Sorry, product details are currently
//   unavailable for this book.'
// - getProductReviews: `for _ in range(2)` around requests.get("http://reviews:9080/reviews/0",
//   timeout=3.0) — "Bug introduced explicitly for illustration in fault injection task": 3 s + 1
//   retry; after two failures 'Sorry, product reviews are currently unavailable for this book.'
// - getForwardHeaders: `if 'user' in session: headers['end-user'] = session['user']` (set by
//   /login), plus the incoming x-request-id, tracing headers, user-agent, cookie, authorization, jwt.
// - the page is rendered (200) either way; templates/productpage.html shows "Error fetching product
//   details!" / "Error fetching product reviews!" above the error text when the status is not 200.
// reviews (reviews/reviews-application/.../LibertyRestEndpoint.java, reviews-wlpcfg/Dockerfile,
// build-services.sh):
// - v1 is built with ENABLE_RATINGS=false: it never calls ratings. v2: ENABLE_RATINGS=true, star
//   color black; v3: ENABLE_RATINGS=true, star_color=red.
// - getRatings: `Integer timeout = star_color.equals("black") ? 10000 : 2500;` as connection and
//   receive timeout; GET http://ratings:9080/ratings/<id>; no retry; a non-200 answer or an
//   exception → each review shows "Ratings service is currently unavailable", and reviews still
//   answers 200.
// - headers_to_propagate includes "end-user" (and x-request-id, tracing headers, user-agent,
//   cookie, authorization, jwt).
// details v1 ("plain build -- no calling external book service", build-services.sh) and ratings v1
// (ratings.js without a database: SERVICE_VERSION v1 answers from memory) call nothing.

const PRODUCTPAGE_FORWARDS = ['x-request-id', 'traceparent', 'tracestate', 'user-agent', 'cookie', 'authorization', 'jwt'];
const REVIEWS_FORWARDS = ['x-request-id', 'traceparent', 'tracestate', 'end-user', 'user-agent', 'cookie', 'authorization', 'jwt'];
const SRC = 'istio/istio samples/bookinfo/src';

const ratingsCall = (timeoutMs: number): AppCallInfo => ({ host: 'ratings', port: 9080, path: '/ratings/0', timeoutMs, retries: 0, forwardHeaders: REVIEWS_FORWARDS, onError: 'Ratings service is currently unavailable' });

/** Built-in behaviours by image name (the repository path's last part, without registry or tag). */
export const BOOKINFO: Record<string, Omit<AppBehaviorInfo, 'namespace' | 'selector'>> = {
  'examples-bookinfo-productpage-v1': {
    name: 'bookinfo productpage',
    calls: [
      { host: 'details', port: 9080, path: '/details/0', timeoutMs: 3000, retries: 0, forwardHeaders: PRODUCTPAGE_FORWARDS, userHeader: 'end-user', onError: 'Error fetching product details! / Sorry, product details are currently unavailable for this book.' },
      { host: 'reviews', port: 9080, path: '/reviews/0', timeoutMs: 3000, retries: 1, forwardHeaders: PRODUCTPAGE_FORWARDS, userHeader: 'end-user', onError: 'Error fetching product reviews! / Sorry, product reviews are currently unavailable for this book.' },
    ],
    serviceTimeMs: 0,
    citation: `${SRC}/productpage/productpage.py (front, getProductDetails, getProductReviews: timeout=3.0, range(2)), templates/productpage.html`,
  },
  'examples-bookinfo-details-v1': { name: 'bookinfo details v1', calls: [], serviceTimeMs: 0, citation: `${SRC}/build-services.sh (details v1: no external book service)` },
  'examples-bookinfo-reviews-v1': { name: 'bookinfo reviews v1', calls: [], serviceTimeMs: 0, citation: `${SRC}/reviews/reviews-wlpcfg/Dockerfile (ENABLE_RATINGS defaults to false), build-services.sh` },
  'examples-bookinfo-reviews-v2': { name: 'bookinfo reviews v2', calls: [ratingsCall(10_000)], serviceTimeMs: 0, citation: `${SRC}/reviews/.../LibertyRestEndpoint.java (getRatings: black stars → 10000 ms)` },
  'examples-bookinfo-reviews-v3': { name: 'bookinfo reviews v3', calls: [ratingsCall(2500)], serviceTimeMs: 0, citation: `${SRC}/reviews/.../LibertyRestEndpoint.java (getRatings: red stars → 2500 ms)` },
  'examples-bookinfo-ratings-v1': { name: 'bookinfo ratings v1', calls: [], serviceTimeMs: 0, citation: `${SRC}/ratings/ratings.js (v1 answers from memory)` },
};

/** "registry.istio.io/release/examples-bookinfo-reviews-v2:1.20.3" → "examples-bookinfo-reviews-v2". */
export function imageName(image: string): string {
  const noDigest = image.split('@')[0]!;
  const last = noDigest.slice(noDigest.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  return colon < 0 ? last : last.slice(0, colon);
}

/**
 * The behaviour of a pod's application: the first AppBehavior of its namespace that selects it,
 * else the built-in behaviour of a known image, else undefined (it answers at once, calls nothing).
 */
export function behaviourFor(t: Topology, pod: PodInfo): AppBehaviorInfo | undefined {
  const own = (t.apps ?? []).find((a) => a.namespace === pod.namespace && Object.keys(a.selector).length > 0 && Object.entries(a.selector).every(([k, v]) => pod.labels[k] === v));
  if (own) return own;
  for (const c of pod.containers) {
    const b = BOOKINFO[imageName(c.image)];
    if (b) return { ...b, namespace: pod.namespace, selector: {} };
  }
  return undefined;
}
