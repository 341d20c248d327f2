// The walking skeleton, as a person uses it: read the default scenario, watch the trace, edit.
import { defaultScenario } from '../src/scenarios/default.ts';
import { expect, test } from './fixtures.ts';
import { PodpathPage } from './pages/PodpathPage.ts';
import { tenNodeScenario } from './scenarios.ts';

const lines = defaultScenario.split('\n');
/** 1-based line of the n-th line matching `re` after the line matching `after`. */
function lineOf(re: RegExp, after?: RegExp): number {
  const start = after ? lines.findIndex((l) => after.test(l)) : 0;
  const i = lines.findIndex((l, j) => j >= start && re.test(l));
  if (i < 0) throw new Error(`no line ${re}`);
  return i + 1;
}

test('the editor shows the default scenario in Monaco', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  const text = await app.editorText();
  expect(text).toContain('name: k8snet');
  expect(text).toContain('name: my-nginx');
  await expect(app.editor.locator('.monaco-editor .mtk1').first()).toBeVisible();
  await expect(page.getByRole('heading', { name: 'podpath' })).toBeVisible();
});

test('the diagram shows nodes, interfaces, pods and the Service', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  for (const [name, ip] of [['node-1', '192.168.1.'], ['node-2', '192.168.1.'], ['node-3', '192.168.1.']] as const) {
    await expect(app.node(name)).toBeVisible();
    await expect(app.node(name)).toContainText(ip);
  }
  await expect(app.diagram.getByText('cni0')).toHaveCount(3);
  await expect(app.diagram.getByText('flannel.1')).toHaveCount(3);
  await expect(app.diagram.getByText(/^10\.244\.\d+\.1\/24$/)).toHaveCount(3);
  await expect(app.diagram.getByText(/^10\.244\.\d+\.0\/32$/)).toHaveCount(3);
  await expect(app.pods()).toHaveCount(3);
  await expect(app.pods().filter({ hasText: /^inspector/ })).toContainText(/10\.244\.\d+\.\d+/);
  await expect(app.pods().filter({ hasText: /my-nginx/ })).toHaveCount(2);
  const svc = app.diagram.getByLabel(/^Service my-nginx /);
  await expect(svc).toContainText(/ClusterIP 10\.(9[6-9]|1[01]\d)\.\d+\.\d+/);
  await expect(app.diagram.getByText('node network 192.168.1.0/24')).toBeVisible();
});

test('the trace walks kube-proxy, flannel VXLAN and back, and playback moves the highlight', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  const hops = app.hopOptions();
  const all = (await hops.allInnerTexts()).join('\n');
  expect(all).toContain('KUBE-SERVICES');
  expect(all).toMatch(/KUBE-SVC-[A-Z0-9]{16}/);
  expect(all).toMatch(/KUBE-SEP-[A-Z0-9]{16}.*DNAT/);
  expect(all).toMatch(/10\.244\.\d+\.0\/24 via 10\.244\.\d+\.0 dev flannel\.1 onlink/);
  expect(all).toMatch(/VXLAN encap/i);
  expect(all).toMatch(/decap/i);
  expect(all).toMatch(/reply/i);
  expect(all).toMatch(/conntrack: reverse DNAT/);

  // VXLAN hop: outer UDP 8472, VNI 1, +50 bytes
  await hops.filter({ hasText: /VXLAN encap/i }).first().click();
  const after = page.getByRole('region', { name: 'Packet after' });
  await expect(after).toContainText('VXLAN');
  await expect(after.getByRole('group', { name: 'UDP' })).toContainText('dstPort8472');
  await expect(after.getByRole('group', { name: 'VXLAN' })).toContainText('vni1');
  await expect(after.getByRole('group', { name: 'VXLAN' })).toContainText('flags0x08');
  await expect(after).toContainText(/\(124 bytes\)/);

  // Reply: conntrack restores the ClusterIP as source
  const svcText = await app.diagram.getByLabel(/^Service my-nginx /).innerText();
  const clusterIP = /ClusterIP (\S+)/.exec(svcText)![1]!;
  await hops.filter({ hasText: /reverse DNAT/ }).first().click();
  await expect(after.getByRole('group', { name: 'IPv4' }).locator('mark')).toContainText(clusterIP);
  await expect(after.getByRole('group', { name: 'IPv4' }).locator('mark')).toContainText('changed');

  // Stepping with the buttons and the keyboard moves the highlight
  await app.button('Restart').click();
  await app.button('Pause').click();
  await expect(app.selectedHop()).toHaveText(/^1\./);
  const firstActive = await app.diagram.locator('.react-flow__node:has(> .is-active)').getAttribute('data-id');
  await app.button('Next hop').click();
  await expect(app.selectedHop()).toHaveText(/^2\./);
  await expect(app.diagram.locator('.react-flow__node:has(> .is-active)')).not.toHaveAttribute('data-id', firstActive ?? '');
  await app.hops.focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await expect(app.selectedHop()).toHaveText(/^4\./);
  await page.keyboard.press('ArrowUp');
  await expect(app.selectedHop()).toHaveText(/^3\./);
  await app.button('Previous hop').click();
  await expect(app.selectedHop()).toHaveText(/^2\./);
  await page.screenshot({ path: 'test-results/trace-step.png' });
  await expect(page.getByTestId('packet')).toBeVisible();
});

test('editing the YAML changes the diagram and the trace; broken YAML keeps the last diagram; reload keeps the text', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  await expect(app.pods()).toHaveCount(3);

  // replicas: 2 → 3 adds a pod
  await app.replaceLineEnd(lineOf(/replicas: 2/), 1, '3');
  await expect(app.pods()).toHaveCount(4);
  await expect(app.diagram.getByLabel(/^Service my-nginx /)).toContainText('3 endpoints');

  // renaming the Service selector empties its endpoints and changes the trace
  const before = (await app.hopOptions().allInnerTexts()).join('\n');
  await app.replaceLineEnd(lineOf(/run: my-nginx/, /^kind: Service/), 0, '-renamed');
  await expect(app.diagram.getByLabel(/^Service my-nginx /)).toContainText('no endpoints');
  await expect.poll(async () => (await app.hopOptions().allInnerTexts()).join('\n')).not.toBe(before);
  await page.screenshot({ path: 'test-results/no-endpoints.png' });
  // restore the selector
  for (let i = 0; i < '-renamed'.length; i++) await page.keyboard.press('Backspace');
  await expect(app.diagram.getByLabel(/^Service my-nginx /)).toContainText('3 endpoints');

  // breaking the YAML: a marker and a diagnostic with the line; the diagram stays
  // one space too many before `namespace:` in the Service: bad indentation
  const broken = lineOf(/^ {2}namespace: k8snet/, /^kind: Service/);
  await app.caretToLineEnd(broken);
  await page.keyboard.press('Home');
  await page.keyboard.insertText(' ');
  await expect(page.getByRole('status').filter({ hasText: 'last good diagram' })).toBeVisible();
  await expect(app.diagnostics.getByRole('button').first()).toContainText(`line ${broken}`);
  await expect(app.editor.locator('.squiggly-error').first()).toBeAttached();
  await expect(app.pods()).toHaveCount(4);
  await expect(app.node('node-2')).toBeVisible();
  await page.screenshot({ path: 'test-results/broken-yaml.png' });
  await page.keyboard.press('Backspace');
  await expect(page.getByRole('status').filter({ hasText: 'Model up to date' })).toBeVisible();

  // reload keeps the edited text
  await page.reload();
  await expect(app.editor.locator('.monaco-editor')).toBeVisible();
  await expect.poll(() => app.editorText()).toContain('replicas: 3');
  await expect(app.pods()).toHaveCount(4);
});

test('language switch to Japanese and back', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  await page.getByRole('combobox', { name: 'Language' }).selectOption('ja');
  await expect(page.getByRole('button', { name: '次のホップ' })).toBeVisible();
  await page.reload();
  await page.getByRole('combobox', { name: '言語' }).selectOption('en');
  await expect(page.getByRole('button', { name: 'Next hop' })).toBeVisible();
});

// Screenshots go to test-results/; with PODPATH_DOCS_SCREENSHOTS=1 they also refresh the README's.
const shotDir = process.env.PODPATH_DOCS_SCREENSHOTS ? 'docs' : 'test-results';

test('screenshots: default scenario and a 10-node cluster', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  await app.hopOptions().filter({ hasText: /VXLAN encap/i }).first().click();
  await page.waitForTimeout(600);
  await page.screenshot({ path: `${shotDir}/screenshot.png` });

  await page.evaluate((text) => {
    (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem('podpath.text.v1', text);
  }, tenNodeScenario());
  await page.reload();
  await expect(app.node('node-10')).toBeVisible({ timeout: 20_000 });
  await expect(app.hopOptions().first()).toBeVisible();
  await app.hopOptions().filter({ hasText: /VXLAN encap/i }).first().click();
  await page.waitForTimeout(600);
  await page.screenshot({ path: `${shotDir}/screenshot-10-nodes.png` });
});
