// Switching the pod network as a learner would: the "Pod network" picker writes the CNI's own
// configuration object into the text; the diagram's tunnel devices and the hop list follow.
import type { Download } from '@playwright/test';
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

// A client pod on the control-plane node and a flow from it: every my-nginx backend is on another
// node, so the trace crosses the tunnel whatever the seed. Flow style keeps every line at the left
// margin (Monaco auto-indents typed newlines).
const clientOnNode1 = `
---
apiVersion: v1
kind: Pod
metadata: {name: client-on-node-1, namespace: k8snet}
spec: {nodeName: node-1, containers: [{name: client, image: busybox}]}
---
apiVersion: podpath.dev/v1alpha1
kind: Flow
metadata: {name: node-1-to-my-nginx}
spec: {from: k8snet/client-on-node-1, to: "my-nginx:80"}
`;

/** The records of a downloaded libpcap file. */
async function pcapFrames(download: Download): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const c of await download.createReadStream()) chunks.push(c as Buffer);
  const file = Buffer.concat(chunks);
  const frames: Buffer[] = [];
  for (let o = 24; o + 16 <= file.length; ) {
    const len = file.readUInt32LE(o + 8);
    frames.push(file.subarray(o + 16, o + 16 + len));
    o += 16 + len;
  }
  return frames;
}

test('flannel → Calico → Cilium VXLAN → Cilium Geneve: no bridge, BPF hops, socket LB, the identity in the VNI', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  const picker = page.getByRole('combobox', { name: 'Pod network' });
  await expect(picker).toHaveValue('flannel-vxlan');
  const hops = app.hopOptions();
  const tail = async () => {
    await app.editor.locator('.view-lines').click();
    await page.keyboard.press('Control+End');
    return app.editorText();
  };
  const device = (name: string) => app.diagram.getByText(name, { exact: true });
  await expect(device('cni0').first()).toBeVisible();

  await picker.selectOption('calico-ipip');
  await expect(device('tunl0').first()).toBeVisible({ timeout: 15_000 });

  // Cilium (VXLAN): its ConfigMap replaces the IPPool; cilium_host and cilium_vxlan on every node,
  // no cni0, flannel.1 or tunl0; the pods' host veths are lxc…; each pod shows its identity.
  await picker.selectOption('cilium-vxlan');
  await expect(picker).toHaveValue('cilium-vxlan');
  await expect(picker.locator('option:checked')).toHaveText('Cilium (VXLAN, eBPF, no kube-proxy)');
  await expect.poll(tail).toContain('name: cilium-config');
  await expect.poll(tail).toContain('tunnel-protocol: vxlan');
  await expect.poll(tail).not.toContain('kind: IPPool');
  await expect(device('cilium_vxlan').first()).toBeVisible({ timeout: 15_000 });
  await expect(device('cilium_vxlan')).toHaveCount(3);
  await expect(device('cilium_host')).toHaveCount(3);
  await expect(device('tunl0')).toHaveCount(0);
  await expect(device('cni0')).toHaveCount(0);
  await expect(device('flannel.1')).toHaveCount(0);
  // cilium_host carries the node's router IP (a /32); the tunnel device has no address to print.
  await expect(app.diagram.locator('.pp-iface').filter({ hasText: 'cilium_host' }).first()).toContainText(/cilium_host\s*10\.244\.\d+\.\d+\/32/);
  await expect(app.diagram.locator('.pp-iface').filter({ hasText: 'cilium_vxlan' }).first()).toHaveText('cilium_vxlan');
  await expect(app.diagram.getByText('undefined')).toHaveCount(0);
  await expect(app.diagram.getByText(/^lxc[0-9a-f]{12}$/).first()).toBeVisible();
  await expect(app.diagram.getByText(/^identity \d+$/).first()).toBeVisible();
  await expect(app.diagram.getByText(/Cilium, no kube-proxy/).first()).toBeVisible();

  // The default flow goes to the Service: connect() is translated at the socket, then the BPF
  // program on the client's lxc veth takes the packet (no bridge).
  await expect(hops.filter({ hasText: /^1\. cil_sock4_connect: connect\(10\.\d+\.\d+\.\d+:80\) → backend 10\.244\.\d+\.\d+:80/ })).toHaveCount(1);
  await expect(hops.filter({ hasText: /lxc[0-9a-f]{12}: tc ingress → cil_from_container/ }).first()).toBeVisible();
  await expect(hops.filter({ hasText: 'KUBE-SVC' })).toHaveCount(0);

  // A flow across nodes: the tunnel's VNI is the sender's security identity.
  await app.editor.locator('.view-lines').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.insertText(clientOnNode1);
  const flow = page.getByRole('combobox', { name: 'Flow' });
  await expect(flow.locator('option[value="node-1-to-my-nginx"]')).toHaveCount(1, { timeout: 15_000 });
  await flow.selectOption('node-1-to-my-nginx');
  const encap = hops.filter({ hasText: /cilium_vxlan: VXLAN VNI \d+ \(the sender's identity\) 192\.168\.1\.\d+ → 192\.168\.1\.\d+, UDP \d+ → 8472, \+50 bytes/ });
  await expect(encap).toHaveCount(2); // the SYN and the SYN-ACK
  await expect(encap.first()).toContainText(/192\.168\.1\.11 → 192\.168\.1\.1[23]/);
  await expect(hops.filter({ hasText: /cilium_vxlan: decapsulated; cil_from_overlay reads identity \d+ from the VNI/ })).toHaveCount(2);
  // The hop at the tunnel device lights it in the diagram; its hex shows the 50 added bytes.
  await encap.first().click();
  await expect(app.activeElement()).toHaveCount(1);
  await expect(app.activeElement()).toHaveText('cilium_vxlan');
  await expect(page.getByRole('heading', { name: /^Bytes after this hop \(\d+ bytes: \d+ changed, 50 added\)$/ })).toBeVisible();
  await page.screenshot({ path: '/tmp/cilium-ui.png' });

  // The pcap carries the VXLAN frames: outer UDP to 8472, the VNI in bytes 46–48.
  const vni = Number(/VNI (\d+)/.exec(await encap.first().innerText())![1]);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download pcap' }).click()]);
  const frames = await pcapFrames(download);
  expect(frames.length).toBeGreaterThan(0);
  const vxlan = frames.filter((f) => f.length > 50 && f[23] === 17 && f.readUInt16BE(36) === 8472);
  expect(vxlan.length).toBeGreaterThan(0);
  expect(vxlan.map((f) => f.readUIntBE(46, 3))).toContain(vni);

  // Cilium (Geneve): cilium_geneve instead of cilium_vxlan, UDP 6081; the flow stays.
  await picker.selectOption('cilium-geneve');
  await expect.poll(tail).toContain('tunnel-protocol: geneve');
  await expect(device('cilium_geneve').first()).toBeVisible({ timeout: 15_000 });
  await expect(device('cilium_vxlan')).toHaveCount(0);
  await expect(device('cilium_host')).toHaveCount(3);
  await expect(hops.filter({ hasText: /cilium_geneve: Geneve VNI \d+ .*UDP \d+ → 6081/ })).toHaveCount(2);
  await expect(app.diagram.getByText('undefined')).toHaveCount(0);
});
