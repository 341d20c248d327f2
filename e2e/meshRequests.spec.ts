// The Mesh requests panel: what the mesh does with the selected flow beyond one packet walk.
// Istio's circuit-breaking task (fortio -c 3 -n 30 trips the breaker: 503s counted as pending
// overflows; one connection trips nothing), the egress-gateway task (the trace leaves through
// istio-egressgateway), and Bookinfo's fault-injection task (a 7 s delay on ratings for jason: the
// page comes back after 6 s without reviews), in English and Japanese.
// The Bookinfo manifests are read from ../shared/conformance/istio/bookinfo (istio/istio
// samples/bookinfo, Apache-2.0, Copyright Istio Authors).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { loadSnapshot } from '../src/engine/index.ts';
import { bookinfoScenario } from '../src/scenarios/bookinfo.ts';
import { expect, test } from './fixtures.ts';
import { PodpathPage } from './pages/PodpathPage.ts';

const HTTPBIN = 'outbound|8000||httpbin.default.svc.cluster.local';
const REVIEWS_ERROR = 'Sorry, product reviews are currently unavailable for this book.';

const bookinfoDir = fileURLToPath(new URL('../../shared/conformance/istio/bookinfo/', import.meta.url));
const bookinfoFile = (f: string) => readFileSync(bookinfoDir + f, 'utf8');

/** The texts' objects, a later one of the same kind and name replacing the earlier (as kubectl apply does). */
function applyAll(...texts: string[]): string {
  const objects = new Map<string, string>();
  for (const text of texts) {
    for (const doc of text.split(/^---[ \t]*$/m)) {
      const kind = /^kind:\s*(\S+)/m.exec(doc)?.[1];
      const name = /^metadata:\s*\n\s+name:\s*(\S+)|^metadata:\s*\{name:\s*([^,}\s]+)/m.exec(doc);
      if (kind) objects.set(`${kind}/${name?.[1] ?? name?.[2]}`, doc.trim());
    }
  }
  return [...objects.values()].join('\n---\n') + '\n';
}

/** Bookinfo with the ratings delay for jason, and one Flow: jason's page, asked of productpage from the ratings pod. */
function bookinfoDelayed(): string {
  const ratingsPod = loadSnapshot(bookinfoScenario, 1)
    .topology.nodes.flatMap((n) => n.pods)
    .find((p) => p.name.startsWith('ratings-v1-'))!.name;
  const withoutFlow = bookinfoScenario
    .split(/^---[ \t]*$/m)
    .filter((d) => !/^kind:\s*Flow/m.test(d))
    .join('---');
  const flow = `apiVersion: podpath.dev/v1alpha1
kind: Flow
metadata: {name: jason-page}
spec: {from: default/${ratingsPod}, to: "productpage:9080", request: {path: /productpage, user: jason}}
`;
  return applyAll(
    withoutFlow,
    ...['destination-rule-all.yaml', 'virtual-service-all-v1.yaml', 'virtual-service-reviews-test-v2.yaml', 'virtual-service-ratings-test-delay.yaml'].map(bookinfoFile),
    flow,
  );
}

async function focusEditor(app: PodpathPage) {
  // Near the top-left corner: long lines make .view-lines wider than the pane (see mesh.spec.ts).
  await app.editor.locator('.monaco-editor').click({ position: { x: 90, y: 12 } });
  await expect(app.editor.locator('.monaco-editor')).toHaveClass(/\bfocused\b/);
}

/** Replaces the editor's text through the clipboard, as a person pastes (typed text would be auto-indented). */
async function paste(page: Page, app: PodpathPage, text: string) {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.evaluate((t) => (globalThis as unknown as { navigator: { clipboard: { writeText(s: string): Promise<void> } } }).navigator.clipboard.writeText(t), text);
  await focusEditor(app);
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('ControlOrMeta+V');
}

test('Circuit breaking (Istio): fortio -c 3 -n 30 gets 503s, each a pending overflow; one connection gets none', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  const panel = page.getByRole('region', { name: 'Mesh requests' });
  await expect(panel).toHaveCount(0); // the default scenario's flow has no Envoy on its way

  await app.scenarioPicker().selectOption({ label: 'Circuit breaking (Istio)' });
  await expect(app.scenarioPicker()).toHaveValue('circuitBreaking');
  await expect(page.getByRole('combobox', { name: 'Flow' })).toHaveValue('fortio-load', { timeout: 15_000 });
  await expect(panel).toBeVisible({ timeout: 15_000 });
  await expect(panel.getByRole('heading', { level: 3, name: 'Load: fortio load -c 3 -n 30' })).toBeVisible();

  // fortio's summary: some 503s...
  const summary = panel.getByLabel('fortio summary');
  await expect(summary).toContainText('Starting at max qps with 3 thread(s) for exactly 30 calls');
  const m = /Code 503 : (\d+) \(/.exec((await summary.textContent()) ?? '');
  expect(m, 'a "Code 503" line').not.toBeNull();
  const c503 = Number(m![1]);
  expect(c503).toBeGreaterThan(0);
  const codes = panel.getByRole('table', { name: 'Status codes' });
  await expect(codes.getByRole('row', { name: /^503 / }).getByRole('cell').first()).toHaveText(String(c503));
  await expect(panel.getByText(`Envoy response flags: UO × ${c503}`)).toBeVisible();
  // ...each one a request the circuit breaker refused: Envoy's pending-overflow counter says as many.
  const stats = panel.getByRole('table', { name: `Envoy stats of ${HTTPBIN}` });
  await expect(stats.getByRole('row', { name: /^upstream_rq_pending_overflow / }).getByRole('cell')).toHaveText(String(c503));
  await expect(panel).toContainText('max_connections 1 · max_pending_requests 1');
  const endpoints = panel.getByRole('table', { name: 'Endpoints' });
  await expect(endpoints.getByRole('columnheader')).toHaveText(['Endpoint', 'Pod', 'Requests', '5xx', 'Ejections']);
  await expect(endpoints.getByRole('row', { name: /^10\.244\.\d+\.\d+:8080 httpbin-/ })).toHaveCount(1);
  // The single request's story is there too, under the load.
  await expect(panel.getByRole('heading', { level: 3, name: 'One request, in virtual time' })).toBeVisible();
  await expect(panel.getByText('HTTP 200 after 0.000 s')).toBeVisible();

  // Readable in the editor's column: no table or list wider than the panel.
  expect(await panel.evaluate((el) => el.scrollWidth - el.clientWidth)).toBeLessThanOrEqual(0);
  await panel.getByRole('heading', { level: 3, name: /^Load/ }).evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: '/tmp/requests-load.png' });

  // The keyboard reaches the load's events behind their disclosure.
  const more = panel.locator('summary', { hasText: /^What happened under load \(\d+\)$/ });
  await more.focus();
  await page.keyboard.press('Enter');
  await expect(panel.getByRole('list', { name: /^What happened under load/ }).getByRole('listitem').first()).toContainText('the circuit breaker trips — 503 at once, flag UO');

  // One connection: never more than one request in flight, so nothing waits and nothing overflows.
  await focusEditor(app);
  await page.keyboard.press('Control+End');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('End');
  for (let i = 0; i < '3, requests: 30}'.length; i++) await page.keyboard.press('Backspace');
  await page.keyboard.insertText('1, requests: 30}');
  await expect(app.scenarioPicker()).toHaveValue('');
  await expect(panel.getByRole('heading', { level: 3, name: 'Load: fortio load -c 1 -n 30' })).toBeVisible({ timeout: 15_000 });
  await expect(summary).toContainText('Code 200 : 30 (100.0 %)');
  await expect(summary).not.toContainText('Code 503');
  await expect(codes.getByRole('row', { name: /^503 / })).toHaveCount(0);
  await expect(codes.getByRole('row', { name: /^200 / }).getByRole('cell').first()).toHaveText('30');
  await expect(stats.getByRole('row', { name: /^upstream_rq_pending_overflow / }).getByRole('cell')).toHaveText('0');
});

test('Egress gateway (Istio): curl’s request leaves the mesh through istio-egressgateway', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  await page.getByRole('combobox', { name: 'Scenario' }).selectOption({ label: 'Egress gateway (Istio)' });
  await expect(page.getByRole('combobox', { name: 'Flow' })).toHaveValue('curl-cnn', { timeout: 15_000 });
  const verdict = page.getByRole('status', { name: 'Verdict' });
  await expect(verdict).toContainText(/The egress gateway istio-egressgateway-\S+ routed GET edition\.cnn\.com\/politics to outbound\|80\|\|edition\.cnn\.com/, { timeout: 15_000 });
  await expect(app.hopOptions().filter({ hasText: 'istio-egressgateway' }).first()).toBeVisible();
  // The mesh's view of the same request: the client's Envoy sends it to the egress gateway.
  const panel = page.getByRole('region', { name: 'Mesh requests' });
  await expect(panel.getByRole('list', { name: 'Events' })).toContainText('Envoy routes it to outbound|80|cnn|istio-egressgateway.istio-system.svc.cluster.local');
  // The gateway's own Envoy in the Envoy panel: select its hop; its listener on 8080 (the Service's
  // targetPort for server port 80) and the route to the ServiceEntry's cluster are what it used.
  await app.hopOptions().filter({ hasText: '(egress gateway): GET edition.cnn.com/politics' }).first().click();
  await page.locator('summary', { hasText: 'Envoy (istio-proxy)' }).click();
  await expect(page.getByRole('combobox', { name: 'Pod', exact: true })).toHaveValue(/^istio-system\/istio-egressgateway-/);
  const tabpanel = page.getByRole('tabpanel');
  await expect(tabpanel.locator('tr[data-used]')).toContainText(/http\.8080\s*edition\.cnn\.com:80/);
  await expect(tabpanel.locator('tr[data-used]')).toContainText('outbound|80||edition.cnn.com');
  await page.getByRole('tab', { name: /^capture rules/ }).click();
  await expect(tabpanel).toContainText('is an Istio gateway: its Envoy is the pod itself');
});

test('Bookinfo (Istio), a 7 s delay on ratings for jason: the page answers after 6 s without reviews; in Japanese too', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  await app.scenarioPicker().selectOption('bookinfo');
  await expect(page.getByRole('combobox', { name: 'Flow' })).toHaveValue('jason', { timeout: 15_000 });
  await paste(page, app, bookinfoDelayed());
  await expect(page.getByRole('combobox', { name: 'Flow' })).toHaveValue('jason-page', { timeout: 15_000 });
  await expect(page.getByRole('status').filter({ hasText: 'Model up to date' })).toBeVisible({ timeout: 15_000 });
  await expect(app.diagnostics).not.toContainText('error');

  const panel = page.getByRole('region', { name: 'Mesh requests' });
  await expect(panel.getByText('HTTP 200 after 6.000 s')).toBeVisible({ timeout: 15_000 });
  await expect(panel.getByRole('heading', { level: 4, name: 'What the page shows' })).toBeVisible();
  const reviews = panel.getByRole('listitem').filter({ hasText: /^reviews error \(no answer\)/ });
  await expect(reviews).toContainText(REVIEWS_ERROR);
  await expect(panel.getByRole('listitem').filter({ hasText: /^details ok \(200\)$/ })).toHaveCount(1);
  // The story in time order: two 3 s timeouts of productpage, the answer at 6 s, ratings' late answer at 7 s.
  const events = panel.getByRole('list', { name: 'Events' }).getByRole('listitem');
  await expect(events.filter({ hasText: /^3\.000 s.*its own 3 s timeout for reviews:9080 fires/ })).toHaveCount(1);
  await expect(events.filter({ hasText: /^6\.000 s.*gives up on reviews:9080/ })).toHaveCount(1);
  await expect(events.filter({ hasText: /^7\.000 s.*nobody is waiting for it any more/ })).toHaveCount(1);
  const times = (await panel.getByRole('list', { name: 'Events' }).locator('.pp-requests-time').allTextContents()).map((s) => Number.parseFloat(s));
  expect(times).toEqual([...times].sort((a, b) => a - b));
  expect(await panel.evaluate((el) => el.scrollWidth - el.clientWidth)).toBeLessThanOrEqual(0);

  // From the keyboard: the heading's button folds the panel and opens it again.
  const toggle = panel.getByRole('button', { name: /Mesh requests/ });
  await toggle.focus();
  await page.keyboard.press('Enter');
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  await expect(panel.getByText('HTTP 200 after 6.000 s')).toBeHidden();
  await page.keyboard.press('Space');
  await expect(panel.getByText('HTTP 200 after 6.000 s')).toBeVisible();
  await page.screenshot({ path: '/tmp/requests-panel.png' });

  // In Japanese: the region's name and labels; the engine's story stays in English.
  await page.getByRole('combobox', { name: 'Language' }).selectOption('ja');
  const panelJa = page.getByRole('region', { name: 'メッシュのリクエスト' });
  await expect(panelJa.getByText('6.000 秒後に HTTP 200')).toBeVisible();
  await expect(panelJa.getByRole('heading', { level: 4, name: 'ページに表示される内容' })).toBeVisible();
  await expect(panelJa.getByRole('list', { name: 'イベント' })).toContainText('gives up on reviews:9080');
  await page.screenshot({ path: '/tmp/requests-panel-ja.png' });
});
