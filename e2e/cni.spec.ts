// Switching the pod network as a learner would: the "Pod network" picker writes the CNI's own
// configuration object into the text; the diagram's tunnel devices and the hop list follow.
import { expect, test } from './fixtures.ts';
import { PodpathPage } from './pages/PodpathPage.ts';

test('flannel → Calico IP-in-IP → Calico VXLAN → Calico BGP: devices, routes and hops change; the pcap follows', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  const picker = page.getByRole('combobox', { name: 'Pod network' });
  await expect(picker).toHaveValue('flannel-vxlan');
  const hops = app.hopOptions();
  // Monaco renders only the lines in view: go to the end of the text, where the picker writes.
  const tail = async () => {
    await app.editor.locator('.view-lines').click();
    await page.keyboard.press('Control+End');
    return app.editorText();
  };
  // The default flow crosses nodes over flannel's VXLAN (seed 1 picks the backend on node-3).
  await expect(hops.filter({ hasText: 'flannel.1: VXLAN encapsulation' })).toHaveCount(2); // request and reply
  await expect(app.diagram.getByText('flannel.1', { exact: true }).first()).toBeVisible();

  // Calico IP-in-IP: the IPPool appears in the editor; tunl0 replaces flannel.1 and cni0.
  await picker.selectOption('calico-ipip');
  await expect.poll(tail).toContain('kind: IPPool');
  await expect.poll(tail).toContain('ipipMode: Always');
  await expect(app.diagram.getByText('tunl0', { exact: true }).first()).toBeVisible({ timeout: 15_000 });
  await expect(app.diagram.getByText('flannel.1', { exact: true })).toHaveCount(0);
  await expect(app.diagram.getByText('cni0', { exact: true })).toHaveCount(0);
  await expect(app.diagram.getByText(/^cali[0-9a-f]{11}$/).first()).toBeVisible();
  await expect(hops.filter({ hasText: /routed, no bridge/ }).first()).toBeVisible();
  // Seeds differ in which backend they reach: find one that crosses nodes over IPIP.
  const seed = page.getByRole('spinbutton', { name: 'Seed' });
  const encap = hops.filter({ hasText: /tunl0: IP-in-IP encapsulation 192\.168\.1\.\d+ → 192\.168\.1\.\d+ \(IP protocol 4\), \+20 bytes/ });
  for (let s = 1; s <= 8 && (await encap.count()) === 0; s++) {
    await seed.fill(String(s));
    await seed.press('Enter');
    await page.waitForTimeout(300);
  }
  await expect(encap).toHaveCount(2); // the SYN and the SYN-ACK
  await expect(hops.filter({ hasText: 'tunl0: IP-in-IP decapsulation' })).toHaveCount(2);
  await encap.first().click();
  // The hex view shows the 20 added bytes of the outer IPv4 header.
  await expect(page.getByRole('table', { name: 'Bytes after this hop' })).toBeVisible();
  await expect(page.getByRole('heading', { name: /^Bytes after this hop \(94 bytes: \d+ changed, 20 added\)$/ })).toBeVisible();
  await page.screenshot({ path: 'test-results/calico-ipip.png' });

  // The pcap of this trace carries the IPIP frame: 94 bytes, IP protocol 4 in the outer header.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download pcap' }).click()]);
  const file = await download.createReadStream().then(async (s) => {
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  });
  let found = false;
  for (let o = 24; o < file.length; ) {
    const len = file.readUInt32LE(o + 8);
    const frame = file.subarray(o + 16, o + 16 + len);
    if (len === 94 && frame[14 + 9] === 4) found = true;
    o += 16 + len;
  }
  expect(found).toBe(true);

  // Calico VXLAN: vxlan.calico instead of tunl0, VNI 4096 on UDP 4789.
  await picker.selectOption('calico-vxlan');
  await expect(app.diagram.getByText('vxlan.calico', { exact: true }).first()).toBeVisible({ timeout: 15_000 });
  await expect(app.diagram.getByText('tunl0', { exact: true })).toHaveCount(0);
  await expect(hops.filter({ hasText: /vxlan\.calico: VXLAN encapsulation \(VNI 4096, UDP \d+ → 4789\)/ })).toHaveCount(2);
  await expect.poll(tail).toContain('vxlanMode: Always');

  // Calico BGP: no tunnel device at all; the packet crosses the node network with pod addresses.
  await picker.selectOption('calico-bgp');
  await expect(app.diagram.getByText('vxlan.calico', { exact: true })).toHaveCount(0, { timeout: 15_000 });
  await expect(hops.filter({ hasText: /eth0 out: next hop node-\d 192\.168\.1\.\d+ \(no encapsulation\)/ })).toHaveCount(2);
  await page.screenshot({ path: 'test-results/calico-bgp.png' });

  // Back to flannel: the ConfigMap replaces the IPPool (one pod-network document at a time).
  await picker.selectOption('flannel-vxlan');
  await expect.poll(tail).toContain('kube-flannel-cfg');
  await expect.poll(tail).not.toContain('kind: IPPool');
  await expect(app.diagram.getByText('flannel.1', { exact: true }).first()).toBeVisible({ timeout: 15_000 });
});
