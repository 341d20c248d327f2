// kube-proxy from outside the cluster, as a person uses it: load the NodePort scenario, follow the
// client outside the cluster into the diagram, read the matched rules in iptables-save.
import { expect, test } from './fixtures.ts';
import { PodpathPage } from './pages/PodpathPage.ts';

test('NodePort from outside: the outside client in the diagram and the matched rules in iptables-save', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();

  // (a) the Scenario picker loads the NodePort scenario into the editor
  const picker = app.scenarioPicker();
  await expect(picker).toHaveValue('default');
  await picker.selectOption({ label: 'cndjp4 step 4: NodePort from outside' });
  // the editor holds the new text (its Flow is the one offered now)
  await expect(page.getByRole('combobox', { name: 'Flow' })).toContainText('outside-to-nodeport');
  const hops = app.hopOptions();
  await expect(hops.first()).toContainText('client outside the cluster');
  const all = (await hops.allInnerTexts()).join('\n');
  expect(all).toContain('KUBE-NODEPORTS');
  expect(all).toContain('MASQUERADE');
  expect(all).toContain('reverse SNAT');
  expect(all).toContain('reverse DNAT');
  await expect(hops.last()).toContainText('client outside the cluster');

  // selecting the first hop highlights the client outside the cluster
  await hops.first().click();
  await expect(app.selectedHop()).toHaveText(/^1\./);
  const client = app.diagram.getByLabel(/^client outside the cluster 198\.51\.100\.\d+$/);
  await expect(client).toBeVisible();
  await expect(client).toHaveClass(/is-active/);
  await expect(page.getByTestId('packet')).toBeVisible();
  // the next hop (the router on the node network) leaves it visited
  await app.button('Next hop').click();
  await expect(client).toHaveClass(/is-visited/);
  await expect(app.diagram.getByText(/^node network /)).toBeVisible();

  // (b) iptables-save follows the selected hop's node and marks its rules
  const nodeSelect = await app.openIptables();
  await expect(nodeSelect).toHaveValue('node-1');
  await hops.filter({ hasText: /KUBE-SEP-[A-Z0-9]{16} DNAT/ }).first().click();
  await expect(nodeSelect).toHaveValue('node-2');
  const save = page.getByLabel('iptables-save node-2');
  await expect(save).toBeVisible();
  const dnat = save.locator('mark').filter({ hasText: /matched: -A KUBE-SEP-[A-Z0-9]{16} .*-j DNAT --to-destination 10\.244\.\d+\.\d+:80/ });
  await expect(dnat).toHaveCount(1);
  await expect(dnat).toHaveAttribute('aria-description', /DNAT/);
  await expect(dnat).toBeInViewport();
  // the walk's jump rules are marked too; rules tested without matching are only shaded
  await expect(save.locator('mark').filter({ hasText: '-j KUBE-NODEPORTS' })).toHaveCount(1);
  const tested = save.locator('[data-rule="tested"]');
  expect(await tested.count()).toBeGreaterThan(0);
  await expect(tested.first()).toContainText('not matched:');
  await page.screenshot({ path: 'test-results/nodeport.png' });

  // a person can still pick another node: its text has no marks for this hop
  await nodeSelect.selectOption('node-3');
  await expect(page.getByLabel('iptables-save node-3')).toBeVisible();
  await expect(page.getByLabel('iptables-save node-3').locator('mark')).toHaveCount(0);

  // back to the ClusterIP scenario: the client outside the cluster goes away
  await picker.selectOption({ label: 'cndjp4 part 1: ClusterIP' });
  await expect(app.hopOptions().first()).not.toContainText('client outside the cluster');
  await expect(client).toHaveCount(0);
});

test('the Scenario picker in Japanese', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  await page.getByRole('combobox', { name: 'Language' }).selectOption('ja');
  const picker = page.getByRole('combobox', { name: 'シナリオ' });
  await picker.selectOption({ label: 'cndjp4 ステップ 4: クラスタ外から NodePort へ' });
  await expect(page.getByRole('region', { name: 'クラスタ図' }).getByLabel(/^クラスタ外のクライアント 198\.51\.100\.\d+$/)).toBeVisible();
});

test('switching kube-proxy mode: iptables → ipvs → nftables changes the trace and the rules panel', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  const hops = app.hopOptions();
  await expect(hops.filter({ hasText: /KUBE-SEP-[A-Z0-9]{16} DNAT/ })).toHaveCount(1);
  const nodeSelect = await app.openIptables();
  await nodeSelect.selectOption('node-2');
  await expect(page.getByLabel('iptables-save node-2')).toContainText('kube-proxy (iptables mode)');

  // Add a KubeProxyConfiguration with mode: ipvs at the end of the text, as a person would type it.
  await app.editor.locator('.view-lines').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.insertText('\n---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\n');
  await expect(hops.filter({ hasText: /^\d+\.\s*IPVS: TCP [\d.]+:80 rr → real server/ })).toHaveCount(1, { timeout: 15_000 });
  await expect(hops.filter({ hasText: /KUBE-SEP-/ })).toHaveCount(0);
  await expect(hops.filter({ hasText: 'IPVS: reply un-NATed' })).toHaveCount(1);
  await expect(page.getByLabel('iptables-save node-2')).toContainText('ipvsadm -Ln');
  await expect(page.getByLabel('iptables-save node-2')).toContainText('--match-set KUBE-CLUSTER-IP');
  await expect(app.diagram.getByText('IPVS + iptables (kube-proxy) · ip route').first()).toBeVisible();
  await page.screenshot({ path: 'test-results/ipvs-mode.png' });

  // nftables: the trace walks kube-proxy's nftables table (verdict maps, numgen) and the panel
  // marks the statements the selected hop ran.
  // The caret is still below the text it typed: up one line, to the end of "mode: ipvs".
  await app.editor.locator('.view-lines').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('End');
  for (let i = 0; i < 4; i++) await page.keyboard.press('Backspace');
  await page.keyboard.insertText('nftables');
  const save = page.getByLabel('iptables-save node-2');
  await expect(save).toContainText('add table ip kube-proxy', { timeout: 15_000 });
  const dnatHop = hops.filter({ hasText: /nftables prerouting → .* → endpoint-[A-Z0-9]{8}-k8snet\/my-nginx\/tcp\/__10\.244\.\d+\.\d+\/80: dnat → 10\.244\.\d+\.\d+:80/ });
  await expect(dnatHop).toHaveCount(1);
  await expect(hops.filter({ hasText: /KUBE-|IPVS/ })).toHaveCount(0);
  await expect(app.diagnostics).not.toContainText('nftables');
  await expect(app.diagram.getByText('nftables (kube-proxy) · ip route').first()).toBeVisible();
  await dnatHop.click();
  await expect(nodeSelect).toHaveValue('node-2');
  const vmap = save.locator('mark').filter({ hasText: /matched: add rule ip kube-proxy services ip daddr \. meta l4proto \. th dport vmap @service-ips/ });
  await expect(vmap).toHaveCount(1);
  await expect(vmap).toHaveAttribute('aria-description', /@service-ips\[[\d.]+ \. tcp \. 80\] → goto service-/);
  const dnat = save.locator('mark').filter({ hasText: /matched: add rule ip kube-proxy endpoint-\S+ meta l4proto tcp dnat to 10\.244\.\d+\.\d+:80/ });
  await expect(dnat).toHaveCount(1);
  await expect(dnat).toBeInViewport();
  await expect(save.locator('mark').filter({ hasText: /numgen random mod 2/ })).toHaveAttribute('aria-description', /^numgen [01] of 2 → goto endpoint-/);
  await page.screenshot({ path: 'test-results/nftables-mode.png' });
});
