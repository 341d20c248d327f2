// A learner adds a default-deny NetworkPolicy: flannel ignores it and the diagnostics say so;
// with Calico the SYN is dropped at the backend's cali-tw- chain, and an allow rule opens it again.
import { expect, test } from './fixtures.ts';
import { PodpathPage } from './pages/PodpathPage.ts';

// Flow style keeps every line at the left margin (Monaco auto-indents typed newlines).
const denyIngress = `
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: k8snet}
spec: {podSelector: {matchLabels: {run: my-nginx}}, policyTypes: [Ingress]}
`;

test('NetworkPolicy: not enforced by flannel (said plainly), enforced by Calico as a hop', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  const hops = app.hopOptions();
  await app.editor.locator('.view-lines').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.insertText(denyIngress);

  // flannel: the policy has no effect, and the diagnostics panel says so on the policy's line.
  const warning = app.diagnostics.getByText(/flannel does not enforce NetworkPolicy: k8snet\/default-deny has no effect/);
  await expect(warning).toBeVisible({ timeout: 15_000 });
  await expect(page.getByText(/^Verdict: delivered/)).toBeVisible();
  await expect(hops.filter({ hasText: 'Calico policy' })).toHaveCount(0);

  // Calico: the backend is isolated; the SYN is dropped before it reaches the pod.
  await page.getByRole('combobox', { name: 'Pod network' }).selectOption('calico-vxlan');
  const denied = hops.filter({ hasText: /Calico policy cali-tw-cali[0-9a-f]{11}: ingress to k8snet\/my-nginx-\S+ denied — no rule of k8snet\/default-deny allows it/ });
  await expect(denied).toHaveCount(1, { timeout: 15_000 });
  await expect(page.getByText(/^Verdict: dropped/)).toBeVisible();
  await expect(warning).toHaveCount(0);
  await denied.click();
  await expect(page.getByText(/That isolates the pod/)).toBeVisible();
  await page.screenshot({ path: 'test-results/policy-denied.png' });
});
