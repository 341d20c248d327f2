import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../snapshot.ts';
import { createPrng } from '../util/prng.ts';
import { allAttempts, answeredBy, findSection, simulateRequest, type CallNode, type Entry, type SimResult } from './calls.ts';
import { imageName } from './apps.ts';

const dir = new URL('../../../../shared/conformance/istio/bookinfo/', import.meta.url);
const file = (f: string) => readFileSync(new URL(f, dir), 'utf8');
/** Bookinfo with the given manifests applied in order; a later object of the same kind and name replaces the earlier one (kubectl apply). */
const cluster = (...parts: string[]) => {
  const objects = new Map<string, string>();
  for (const text of [file('bookinfo.yaml'), ...parts]) {
    for (const doc of text.split(/^---[ \t]*$/m)) {
      const kind = /^kind:\s*(\S+)/m.exec(doc)?.[1];
      const name = /^metadata:\s*\n\s+name:\s*(\S+)|^metadata:\s*\{name:\s*([^,}\s]+)/m.exec(doc);
      if (kind) objects.set(`${kind}/${name?.[1] ?? name?.[2]}`, doc.trim());
    }
  }
  const s = loadSnapshot([...objects.values()].join('\n---\n') + '\n', 1);
  expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return s.topology;
};
const routing = () => [file('destination-rule-all.yaml'), file('virtual-service-all-v1.yaml'), file('virtual-service-reviews-test-v2.yaml')];
const direct: Entry = { kind: 'direct', namespace: 'default' };
const page = (t: ReturnType<typeof cluster>, user?: string, seed = 1, entry: Entry = direct, port = 9080) =>
  simulateRequest(t, entry, { host: entry.kind === 'gateway' ? 'bookinfo.example' : 'productpage', port, path: '/productpage', method: 'GET', headers: {}, user }, createPrng(seed));
const reviewsCall = (r: SimResult): CallNode => answeredBy(r.root)!.calls.find((c) => c.to === 'reviews:9080')!;
const REVIEWS_ERROR = 'Error fetching product reviews! / Sorry, product reviews are currently unavailable for this book.';

describe('a request tree in virtual time (Bookinfo)', () => {
  it('7 s delay on ratings for jason: productpage gives up on reviews after 3 s + 1 retry, the page comes back after 6 s', () => {
    const t = cluster(...routing(), file('virtual-service-ratings-test-delay.yaml'));
    const r = page(t, 'jason');
    expect(r.status).toBe(200);
    expect(r.durationMs).toBe(6000);
    const reviews = findSection(r, 'reviews')!;
    expect(reviews).toMatchObject({ ok: false, message: REVIEWS_ERROR });
    expect(findSection(r, 'details')).toMatchObject({ ok: true });
    const call = reviewsCall(r);
    expect(call.headers['end-user']).toBe('jason');
    expect(call.appRetries).toBe(1);
    expect(call.attempts.map((a) => [a.startMs, a.endMs, a.status, a.timeout, a.subset])).toEqual([
      [0, 3000, 0, 'app', 'v2'],
      [3000, 6000, 0, 'app', 'v2'],
    ]);
    // reviews v2 keeps waiting (its own timeout is 10 s): the delayed ratings answer comes at 7 s, unseen.
    const v2 = call.attempts[0]!.tries[0]!.server!;
    expect(v2.abandonedAtMs).toBe(3000);
    const ratings = v2.calls[0]!;
    expect(ratings).toMatchObject({ to: 'ratings:9080', ok: true, status: 200, endMs: 7000, appTimeoutMs: 10_000 });
    expect(ratings.headers['end-user']).toBe('jason');
    expect(ratings.attempts[0]!.fault).toEqual({ delayMs: 7000 });
    expect(allAttempts(r).filter((x) => x.attempt.fault.delayMs === 7000)).toHaveLength(2);
    // Deterministic with the seed.
    expect(page(t, 'jason')).toEqual(r);
  });

  it('another user: reviews v1 never calls ratings — no delay anywhere, the page loads at once', () => {
    const t = cluster(...routing(), file('virtual-service-ratings-test-delay.yaml'));
    for (const user of ['alice', 'Jason', undefined]) {
      const r = page(t, user);
      expect(r.durationMs).toBe(0);
      expect(allAttempts(r).some((x) => x.attempt.fault.delayMs !== undefined)).toBe(false);
      expect(reviewsCall(r).attempts[0]!.subset).toBe('v1');
      expect(reviewsCall(r).headers['end-user']).toBe(user);
      expect(answeredBy(reviewsCall(r))!.calls).toEqual([]);
      expect(findSection(r, 'reviews')).toMatchObject({ ok: true, sections: [] });
    }
  });

  it('the same through the ingress gateway (bookinfo-gateway.yaml)', () => {
    const t = cluster(file('bookinfo-gateway.yaml'), ...routing(), file('virtual-service-ratings-test-delay.yaml'));
    const r = page(t, 'jason', 3, { kind: 'gateway', namespace: 'istio-system', labels: { istio: 'ingressgateway' } }, 8080);
    expect(r.root.from).toBe('ingress gateway');
    expect(r.root.attempts[0]!.cluster).toBe('outbound|9080||productpage.default.svc.cluster.local');
    expect([r.status, r.durationMs]).toEqual([200, 6000]);
    expect(page(t, 'jason', 3, { kind: 'gateway', namespace: 'istio-system', labels: { istio: 'ingressgateway' } }, 80).status).toBe(404);
  });

  it('route timeout 0.5 s on reviews (Istio "request timeouts" task): productpage sees 504 after 0.5 s, retries, the page takes 1 s', () => {
    const reviewsV2 = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v2}
    timeout: 0.5s
`;
    const ratingsDelay = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts: [ratings]
  http:
  - fault:
      delay: {percentage: {value: 100}, fixedDelay: 2s}
    route:
    - destination: {host: ratings, subset: v1}
`;
    const t = cluster(file('destination-rule-all.yaml'), file('virtual-service-all-v1.yaml'), reviewsV2, ratingsDelay);
    const r = page(t);
    const call = reviewsCall(r);
    expect(call.attempts.map((a) => [a.endMs, a.status, a.flag, a.timeout, a.envoyRetries, a.routeTimeoutMs])).toEqual([
      [500, 504, 'UT', 'route', 0, 500],
      [1000, 504, 'UT', 'route', 0, 500],
    ]);
    expect(r.durationMs).toBe(1000);
    expect(findSection(r, 'reviews')).toMatchObject({ ok: false, status: 504, message: REVIEWS_ERROR });
    // Without the route timeout the 2 s delay is simply waited out: stars, after 2 s.
    const slow = page(cluster(file('destination-rule-all.yaml'), file('virtual-service-all-v1.yaml'), reviewsV2.replace('    timeout: 0.5s\n', ''), ratingsDelay));
    expect([slow.durationMs, findSection(slow, 'reviews')?.ok]).toEqual([2000, true]);
  });

  it('HTTP abort 500 on ratings for jason: reviews shows "Ratings service is currently unavailable" at once; the abort is not retried', () => {
    const t = cluster(...routing(), file('virtual-service-ratings-test-abort.yaml'));
    const r = page(t, 'jason');
    expect([r.status, r.durationMs]).toEqual([200, 0]);
    const reviews = findSection(r, 'reviews')!;
    expect(reviews.ok).toBe(true);
    expect(reviews.sections).toEqual([{ service: 'ratings', to: 'ratings:9080', ok: false, status: 500, message: 'Ratings service is currently unavailable', sections: [] }]);
    const ratings = answeredBy(reviewsCall(r))!.calls[0]!;
    expect(ratings.attempts).toHaveLength(1);
    expect(ratings.attempts[0]).toMatchObject({ status: 500, flag: 'FI', envoyRetries: 0, tries: [] });
    // Anyone else gets black stars from reviews v1? No: v1 has no stars and no ratings call at all.
    expect(answeredBy(reviewsCall(page(t, 'alice')))!.calls).toEqual([]);
  });

  it('reviews v3 waits only 2.5 s for ratings: with the 7 s delay, ratings never even receives the request', () => {
    const v3 = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v3}
`;
    const t = cluster(file('destination-rule-all.yaml'), file('virtual-service-all-v1.yaml'), v3, file('virtual-service-ratings-test-delay.yaml'));
    const r = page(t, 'jason');
    expect(r.durationMs).toBe(2500);
    const ratings = answeredBy(reviewsCall(r))!.calls[0]!;
    expect(ratings.attempts[0]).toMatchObject({ endMs: 2500, status: 0, timeout: 'app', tries: [] });
    expect(findSection(r, 'reviews')!.sections[0]!.message).toBe('Ratings service is currently unavailable');
  });
});

describe('AppBehavior (podpath.dev/v1alpha1)', () => {
  const app = (extra: string) => `apiVersion: podpath.dev/v1alpha1
kind: AppBehavior
metadata: {name: flaky-ratings}
spec:
  selector: {app: reviews}
  serviceTimeMs: 40
${extra}`;

  it('selects pods by label and replaces the built-in behaviour; the app answers its onErrorStatus, and Envoy retries a 503 twice (Istio default policy)', () => {
    const broken = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts: [ratings]
  http:
  - fault: {abort: {httpStatus: 500, percentage: {value: 100}}}
    route:
    - destination: {host: ratings, subset: v1}
`;
    const t = cluster(file('destination-rule-all.yaml'), file('virtual-service-all-v1.yaml'), broken, app(`  calls:
  - to: ratings:9080
    path: /ratings/0
    timeout: 1s
    retries: 2
    onError: no stars
    onErrorStatus: 503
`));
    expect(t.apps?.map((a) => a.name)).toEqual(['flaky-ratings']);
    const r = page(t);
    const call = reviewsCall(r);
    // reviews: 3 attempts at ratings (its own retries), each an immediate FI abort; then 40 ms of work and a 503 …
    const run = call.attempts[0]!.tries[0]!.server!;
    expect(run.app).toBe('flaky-ratings');
    expect(run.calls[0]!.attempts.map((a) => a.flag)).toEqual(['FI', 'FI', 'FI']);
    expect(run.status).toBe(503);
    // … which productpage's Envoy retries twice (retriable-status-codes 503); productpage's own retry repeats it all.
    expect(call.attempts.map((a) => [a.status, a.envoyRetries, a.tries.length])).toEqual([
      [503, 2, 3],
      [503, 2, 3],
    ]);
    expect(call.attempts[0]!.tries[1]!.startMs).toBeGreaterThanOrEqual(40);
    expect(findSection(r, 'reviews')).toMatchObject({ ok: false, status: 503 });
  });

  it('reports malformed fields at their line', () => {
    const text = `${file('bookinfo.yaml')}\n---\n${app(`  calls:
  - to: ratings
  - to: ratings:9080
    timeout: soon
`)}`;
    const s = loadSnapshot(text, 1);
    const errs = s.diagnostics.filter((d) => d.severity === 'error');
    expect(errs.map((e) => [e.code, text.split('\n')[e.line - 1]!.trim()])).toEqual([
      ['PP013', '- to: ratings'],
      ['PP013', 'timeout: soon'],
    ]);
    expect(s.topology.apps?.[0]?.calls).toHaveLength(1);
  });

  it('knows the Bookinfo images by name, whatever the registry and tag', () => {
    expect(imageName('registry.istio.io/release/examples-bookinfo-reviews-v2:1.20.3')).toBe('examples-bookinfo-reviews-v2');
    expect(imageName('docker.io/istio/examples-bookinfo-productpage-v1@sha256:abc')).toBe('examples-bookinfo-productpage-v1');
  });
});
