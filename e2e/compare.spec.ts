// Comparing pod networks as a learner would: the same flow and seed traced under the text's own
// pod network (flannel VXLAN) and under Calico IP-in-IP, side by side, without touching the text;
// the comparison follows edits, the flow and the seed.
import { expect, test } from './fixtures.ts';
import { PodpathPage } from './pages/PodpathPage.ts';

// A client pod on the control-plane node and a flow from it, so that every backend is on another
// node under both pod networks. From the default "inspector" (on node-2, next to one backend) no
// seed crosses nodes under both: the seed draws an endpoint by position, kube-proxy sorts the
// endpoints by address, and flannel (10.244.1.x on node-2, 10.244.2.x on node-3) and Calico
// (10.244.0.129 on node-3 sorts before 10.244.0.65 on node-2) order the two nodes oppositely.
// Flow style keeps every line at the left margin (Monaco auto-indents typed newlines).
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

test('Compare: flannel VXLAN and Calico IP-in-IP side by side, following the text, the flow and the seed', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  const cniPicker = page.getByRole('combobox', { name: 'Pod network' });
  await expect(cniPicker).toHaveValue('flannel-vxlan');

  const toggle = app.button('Compare');
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  const view = page.getByRole('region', { name: 'Compare pod networks' });
  const other = view.getByRole('combobox', { name: 'Compare with' });
  // The focus moves into the view; the text's own pod network is not offered; the first other one is preselected.
  await expect(other).toBeFocused();
  await expect(other).toHaveValue('flannel-host-gw');
  await expect(other.locator('option[value="flannel-vxlan"]')).toHaveCount(0);
  await expect(view.getByRole('list', { name: 'Hops with flannel (host-gw)' })).toBeVisible();
  await other.selectOption('calico-ipip');

  const left = view.getByRole('list', { name: 'Hops with flannel (VXLAN)' });
  const right = view.getByRole('list', { name: 'Hops with Calico (IP-in-IP)' });
  const hop = (list: typeof left, text: string | RegExp) => list.getByRole('listitem').filter({ hasText: text });

  // Seed 1 from the inspector on node-2: flannel reaches node-3 over VXLAN and the cni0 bridge,
  // Calico a backend on node-2 itself (no tunnel, no bridge); a note says the backends differ.
  await expect(hop(left, 'flannel.1: VXLAN encapsulation')).toHaveCount(2); // request and reply
  await expect(hop(left, 'cni0').first()).toBeVisible();
  await expect(right.getByRole('listitem').first()).toBeVisible();
  await expect(hop(right, 'tunl0')).toHaveCount(0);
  await expect(hop(right, 'cni0')).toHaveCount(0);
  const note = view.getByRole('note');
  await expect(note).toContainText('reaches a backend on node-3 with flannel (VXLAN) but on node-2 with Calico (IP-in-IP)');
  await expect(note).toContainText('One of the two paths stays on the client’s node');
  // Comparing does not touch the text: it is still flannel's.
  await expect(cniPicker).toHaveValue('flannel-vxlan');

  // An edit (a client on node-1 and a flow from it), then that flow: both columns follow.
  await app.editor.locator('.view-lines').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.insertText(clientOnNode1);
  const flow = page.getByRole('combobox', { name: 'Flow' });
  await expect(flow.locator('option')).toHaveCount(2, { timeout: 15_000 });
  await flow.selectOption('node-1-to-my-nginx');

  // Seed 1: flannel to node-3 (192.168.1.13), Calico to node-2 (.12); both cross nodes now.
  const leftEncap = hop(left, /flannel\.1: VXLAN encapsulation \(VNI 1, UDP \d+ → 8472\) 192\.168\.1\.11 → 192\.168\.1\.13/);
  const rightEncap = hop(right, /tunl0: IP-in-IP encapsulation 192\.168\.1\.11 → 192\.168\.1\.12 \(IP protocol 4\)/);
  await expect(leftEncap).toHaveCount(1);
  await expect(rightEncap).toHaveCount(1);
  await expect(hop(right, 'tunl0: IP-in-IP encapsulation')).toHaveCount(2);
  await expect(hop(right, 'tunl0: IP-in-IP decapsulation')).toHaveCount(2);
  await expect(hop(left, 'cni0').first()).toBeVisible();
  await expect(hop(right, 'cni0')).toHaveCount(0);
  await expect(view.getByText(/^delivered · 38 hops · backend my-nginx-\S+ on node-3$/)).toBeVisible();
  await expect(view.getByText(/^delivered · 34 hops · backend my-nginx-\S+ on node-2$/)).toBeVisible();
  // Still different backends, but both cross nodes: the note no longer warns about that.
  await expect(note).toContainText('reaches a backend on node-3 with flannel (VXLAN) but on node-2');
  await expect(note).not.toContainText('stays on the client’s node');

  // Where they differ is marked and described: the encapsulations, and the bridge only flannel has.
  await expect(rightEncap).toHaveAttribute('aria-description', 'differs: flannel (VXLAN) has no ipip-encap hop on the request path');
  await expect(leftEncap).toHaveAttribute('aria-description', 'differs: Calico (IP-in-IP) has no vxlan-encap hop on the request path');
  await expect(hop(left, 'cni0 → veth').first()).toHaveAttribute('aria-description', /has no bridge hop/);
  await expect(left.locator('.is-different')).toHaveCount(8); // vxlan-encap, vxlan-decap and two bridge hops each way
  await expect(right.locator('.is-different')).toHaveCount(4); // ipip-encap and ipip-decap each way
  // Hops both have are not marked: the wire, the socket.
  expect(await hop(right, 'node network 192.168.1.0/24').first().getAttribute('aria-description')).toBeNull();
  expect(await right.getByRole('listitem').first().getAttribute('aria-description')).toBeNull();

  // Another seed: other backends on both sides.
  const seed = page.getByRole('spinbutton', { name: 'Seed' });
  await seed.fill('2');
  await expect(hop(left, /VXLAN encapsulation .*192\.168\.1\.11 → 192\.168\.1\.12/)).toHaveCount(1);
  await expect(hop(right, /tunl0: IP-in-IP encapsulation 192\.168\.1\.11 → 192\.168\.1\.13/)).toHaveCount(1);
  await expect(leftEncap).toHaveCount(0);
  await expect(rightEncap).toHaveCount(0);
  await expect(view.getByText(/^delivered · 38 hops · backend my-nginx-\S+ on node-2$/)).toBeVisible();
  await expect(view.getByText(/^delivered · 34 hops · backend my-nginx-\S+ on node-3$/)).toBeVisible();
  await expect(cniPicker).toHaveValue('flannel-vxlan');
  await page.screenshot({ path: 'test-results/compare.png' });

  // The lists are reachable by keyboard (they scroll); Close returns to the hop list and the detail.
  await left.focus();
  await expect(left).toBeFocused();
  await view.getByRole('button', { name: 'Close comparison' }).click();
  await expect(view).toHaveCount(0);
  await expect(app.hops).toBeVisible();
  await expect(page.getByRole('article', { name: 'Mechanism' })).toBeVisible();
  await expect(toggle).toBeFocused();
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');

  // By keyboard: Enter opens it again (same choice), Escape closes it and gives the focus back.
  await page.keyboard.press('Enter');
  await expect(other).toBeFocused();
  await expect(other).toHaveValue('calico-ipip');
  await page.keyboard.press('Escape');
  await expect(view).toHaveCount(0);
  await expect(toggle).toBeFocused();
});

test('Compare in Japanese: the button and the lists’ names', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  await page.getByRole('combobox', { name: 'Language' }).selectOption('ja');
  await page.getByRole('button', { name: '比較', exact: true }).click();
  const view = page.getByRole('region', { name: 'Pod ネットワークの比較' });
  await expect(view.getByRole('combobox', { name: '比較対象' })).toHaveValue('flannel-host-gw');
  await expect(view.getByRole('list', { name: 'flannel (VXLAN) のホップ' }).getByRole('listitem').first()).toBeVisible();
  await view.getByRole('combobox', { name: '比較対象' }).selectOption('calico-bgp');
  await expect(view.getByRole('list', { name: 'Calico (BGP・カプセル化なし) のホップ' }).getByRole('listitem').first()).toBeVisible();
  await expect(view.getByRole('note')).toContainText('片方の経路はクライアントと同じノードの中で終わる');
  await page.screenshot({ path: 'test-results/compare-ja.png' });
  await view.getByRole('button', { name: '比較を閉じる' }).click();
  await expect(page.getByRole('listbox', { name: 'ホップ' })).toBeVisible();
});
