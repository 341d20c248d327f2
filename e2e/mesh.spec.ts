// Istio's Bookinfo with sidecars, as a learner would follow it: the "Bookinfo (Istio)" scenario,
// jason's request captured into productpage's Envoy and routed to reviews v2, the istio-proxy box
// lit in the diagram, the Envoy configuration that decided it; then the reviews rule replaced by
// the 50/50 v1/v3 one, and the seed stepped until both versions answered.
import { BOOKINFO_PRODUCTPAGE_POD, bookinfoScenario } from '../src/scenarios/bookinfo.ts';
import { expect, test } from './fixtures.ts';
import { PodpathPage } from './pages/PodpathPage.ts';

const V2 = 'outbound|9080|v2|reviews.default.svc.cluster.local';
/** Lines of the scenario's last document (the reviews VirtualService), after its "---". */
const lastDocLines = bookinfoScenario.slice(bookinfoScenario.lastIndexOf('\n---\n') + 5).split('\n').length - 1;
// virtual-service-reviews-50-v3.yaml (istio/istio samples/bookinfo, Apache-2.0, Copyright Istio
// Authors) in flow style: Monaco auto-indents typed newlines, flow style keeps every line at the margin.
const reviews50v3 = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec: {hosts: [reviews], http: [{route: [{destination: {host: reviews, subset: v1}, weight: 50}, {destination: {host: reviews, subset: v3}, weight: 50}]}]}
`;

test('Bookinfo (Istio): jason through both sidecars to reviews v2, the Envoy configuration, then a 50/50 v1/v3 rule over seeds', async ({ page }) => {
  // Typing a VirtualService and stepping twelve seeds: a long test, slower still on a loaded 2-core machine.
  test.setTimeout(180_000);
  const app = new PodpathPage(page);
  await app.open();
  await app.scenarioPicker().selectOption('bookinfo');
  await expect(app.scenarioPicker()).toHaveValue('bookinfo');
  await expect(page.getByRole('combobox', { name: 'Flow' })).toHaveValue('jason', { timeout: 15_000 });
  const hops = app.hopOptions();
  const verdict = page.getByRole('status', { name: 'Verdict' });

  // The hop list: the app's connection captured in nat OUTPUT and redirected to Envoy's 15001;
  // Envoy routes jason's request to the v2 subset's cluster; Envoy's own connection (UID 1337)
  // RETURNs uncaptured; at reviews-v2 the capture rules redirect it to Envoy's inbound 15006.
  const capture = hops.filter({ hasText: `pod ${BOOKINFO_PRODUCTPAGE_POD}: nat OUTPUT → ISTIO_OUTPUT → ISTIO_REDIRECT: REDIRECT → 127.0.0.1:15001` });
  await expect(capture).toHaveCount(1, { timeout: 15_000 });
  const envoyHop = hops.filter({ hasText: `istio-proxy (${BOOKINFO_PRODUCTPAGE_POD}): GET reviews:9080/reviews/0 → ${V2} → 10.244.` });
  await expect(envoyHop).toHaveCount(1);
  await expect(hops.filter({ hasText: `pod ${BOOKINFO_PRODUCTPAGE_POD}: nat OUTPUT → ISTIO_OUTPUT: RETURN (not captured) (Envoy is UID 1337)` })).toHaveCount(1);
  await expect(hops.filter({ hasText: /^\d+\. pod reviews-v2-[a-z0-9]+-[a-z0-9]+: nat PREROUTING → ISTIO_INBOUND → ISTIO_IN_REDIRECT: REDIRECT → 10\.244\.\d+\.\d+:15006/ })).toHaveCount(1);
  await expect(capture).toContainText(`at ${BOOKINFO_PRODUCTPAGE_POD} istio-proxy`);
  await expect(verdict).toContainText(`delivered — HTTP 200: ${BOOKINFO_PRODUCTPAGE_POD}'s sidecar routed GET reviews:9080/reviews/0 to ${V2}`);

  // Every pod has its istio-proxy box; the Envoy hop lights productpage's, and only that.
  await expect(app.diagram.getByLabel(/^istio-proxy \(Envoy\) of /)).toHaveCount(6);
  await envoyHop.click();
  await expect(app.selectedHop()).toContainText('GET reviews:9080/reviews/0');
  await expect(app.activeElement()).toHaveCount(1);
  await expect(app.activeElement()).toHaveAttribute('aria-label', `istio-proxy (Envoy) of ${BOOKINFO_PRODUCTPAGE_POD}`);
  await expect(app.activeElement()).toContainText('istio-proxy');

  // The Envoy panel, opened from the keyboard: the routes of productpage's sidecar, jason's header
  // match first, marked as what this hop used.
  const summary = page.locator('summary', { hasText: 'Envoy (istio-proxy)' });
  await summary.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('combobox', { name: 'Pod', exact: true })).toHaveValue(`default/${BOOKINFO_PRODUCTPAGE_POD}`);
  const routesTab = page.getByRole('tab', { name: /^routes/ });
  await expect(routesTab).toHaveAttribute('aria-selected', 'true');
  const panel = page.getByRole('tabpanel');
  const reviewsRoutes = panel.getByRole('row').filter({ hasText: 'reviews.default.svc.cluster.local:9080' });
  await expect(reviewsRoutes).toHaveCount(2);
  await expect(reviewsRoutes.nth(0)).toContainText('/*, header end-user=jason');
  await expect(reviewsRoutes.nth(0)).toContainText(V2);
  await expect(reviewsRoutes.nth(0)).toHaveAttribute('data-used', 'true');
  await expect(reviewsRoutes.nth(1)).toContainText('outbound|9080|v1|reviews.default.svc.cluster.local');
  await expect(reviewsRoutes.nth(1)).not.toHaveAttribute('data-used', 'true');
  await expect(panel.getByText('Used by the selected hop:', { exact: true })).toBeVisible();
  await expect(panel.getByRole('listitem')).toHaveText([`9080 › reviews.default.svc.cluster.local:9080 › /*, header end-user=jason → ${V2} (VirtualService reviews.default)`]);
  await expect(panel.getByRole('columnheader')).toHaveText(['NAME', 'VHOST NAME', 'DOMAINS', 'MATCH', 'DESTINATION', 'VIRTUAL SERVICE']);
  await page.screenshot({ path: '/tmp/mesh-ui.png' });

  // The tabs by keyboard: clusters (istioctl's columns, the v2 subset's cluster marked), capture rules.
  await routesTab.focus();
  await page.keyboard.press('ArrowRight');
  const clustersTab = page.getByRole('tab', { name: /^clusters/ });
  await expect(clustersTab).toBeFocused();
  await expect(clustersTab).toHaveAttribute('aria-selected', 'true');
  await expect(panel.getByRole('columnheader')).toHaveText(['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE', 'LB POLICY']);
  await expect(panel.locator('tr[data-used]')).toHaveCount(1);
  await expect(panel.locator('tr[data-used]')).toContainText(/reviews\.default\.svc\.cluster\.local\s*9080\s*v2\s*outbound\s*EDS\s*reviews\.default\s*LEAST_REQUEST/);
  await page.keyboard.press('End');
  await expect(page.getByRole('tab', { name: /^capture rules/ })).toBeFocused();
  await expect(panel.getByLabel(`Capture rules of ${BOOKINFO_PRODUCTPAGE_POD}`)).toContainText('-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001');
  // A netfilter hop at the sidecar marks the capture rules it walked.
  await capture.click();
  await expect(panel.locator('mark[data-rule="matched"]').filter({ hasText: '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001' })).toHaveCount(1);
  await routesTab.click();

  // Replace the reviews VirtualService (the text's last document) by the 50/50 v1/v3 one.
  // Click the editor near its top-left corner: long lines make .view-lines wider than the pane and
  // Monaco moves it as it scrolls, so neither its centre nor its corner is reliably on screen.
  const focusEditor = async () => {
    await app.editor.locator('.monaco-editor').click({ position: { x: 90, y: 12 } });
    await expect(app.editor.locator('.monaco-editor')).toHaveClass(/\bfocused\b/);
  };
  await focusEditor();
  await page.keyboard.press('Control+End');
  for (let i = 0; i < lastDocLines; i++) await page.keyboard.press('Shift+ArrowUp');
  await expect(app.editor.locator('.selected-text').first()).toBeVisible();
  await page.keyboard.insertText(reviews50v3);
  const tail = async () => {
    await focusEditor();
    await page.keyboard.press('Control+End');
    return app.editorText();
  };
  await expect.poll(tail).toContain('weight: 50}, {destination: {host: reviews, subset: v3}, weight: 50}');
  await expect.poll(tail).not.toContain('exact: jason');
  await expect(app.scenarioPicker()).toHaveValue('');
  await expect(page.getByRole('status').filter({ hasText: 'Model up to date' })).toBeVisible({ timeout: 15_000 });
  await expect(app.diagnostics).not.toContainText('error');
  // The route table follows: one route, two weighted clusters.
  await expect(panel.getByRole('row').filter({ hasText: 'reviews.default.svc.cluster.local:9080' })).toContainText('outbound|9080|v1|reviews.default.svc.cluster.local (weight 50), outbound|9080|v3|reviews.default.svc.cluster.local (weight 50)', { timeout: 15_000 });

  // Step the seed: Envoy draws the weighted destination per request; both versions answer.
  const seed = page.getByRole('spinbutton', { name: 'Seed' });
  const seen = new Set<string>();
  for (let s = 1; s <= 12; s++) {
    const before = await hops.first().innerText();
    await seed.fill(String(s));
    await seed.press('Enter');
    // The first hop carries the client's source port, which the seed picks: wait for the new trace.
    if (s > 1) await expect.poll(() => hops.first().innerText()).not.toBe(before);
    await expect(verdict).toContainText('HTTP 200');
    const m = /outbound\|9080\|(v\d)\|reviews/.exec(await verdict.innerText());
    if (m) seen.add(m[1]!);
  }
  expect([...seen].sort()).toEqual(['v1', 'v3']);
  await expect(hops.filter({ hasText: /→ outbound\|9080\|v[13]\|reviews\.default\.svc\.cluster\.local → / })).toHaveCount(1);
});

test('Bookinfo (Istio) in Japanese: the scenario, the Envoy panel and its tabs', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  await page.getByRole('combobox', { name: 'Language' }).selectOption('ja');
  await page.getByRole('combobox', { name: 'シナリオ' }).selectOption('bookinfo');
  await expect(page.getByRole('combobox', { name: 'フロー' })).toHaveValue('jason', { timeout: 15_000 });
  await page.locator('summary', { hasText: 'Envoy (istio-proxy)' }).click();
  await expect(page.getByRole('tablist', { name: 'Envoy の設定' })).toBeVisible();
  await expect(page.getByRole('tab', { name: /^ルート/ })).toHaveAttribute('aria-selected', 'true');
  await page.getByRole('tab', { name: /^キャプチャルール/ }).click();
  await expect(page.getByLabel(`${BOOKINFO_PRODUCTPAGE_POD} のキャプチャルール`)).toContainText('-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN');
  await expect(page.getByRole('region', { name: 'クラスタ図' }).getByLabel(`${BOOKINFO_PRODUCTPAGE_POD} の istio-proxy (Envoy)`)).toBeVisible();
});
