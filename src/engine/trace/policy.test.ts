import { describe, expect, it } from 'vitest';
import { withCni } from '../../scenarios/cniDocs.ts';
import { defaultScenario } from '../../scenarios/default.ts';
import { nodePortScenario } from '../../scenarios/nodePort.ts';
import { selectorMatches } from '../model/networkPolicy.ts';
import { loadSnapshot } from '../snapshot.ts';
import type { Trace } from '../types.ts';
import { traceFlow } from './trace.ts';

const policy = (name: string, spec: string) => `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ${name}
  namespace: k8snet
spec:
${spec}`;
const denyIngress = policy('default-deny', '  podSelector:\n    matchLabels:\n      run: my-nginx\n  policyTypes:\n  - Ingress\n');
const allowPort = (port: number) => policy('allow-web', `  podSelector:\n    matchLabels:\n      run: my-nginx\n  ingress:\n  - from:\n    - podSelector: {}\n    ports:\n    - protocol: TCP\n      port: ${port}\n`);
const run = (text: string, seeds = 8): Trace[] => {
  const s = loadSnapshot(text, 1);
  expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return Array.from({ length: seeds }, (_, seed) => traceFlow(s.topology, s.flows[0]!, seed));
};
const policyHops = (t: Trace) => t.hops.filter((h) => h.mechanism.kind === 'policy').map((h) => h.mechanism.title);

describe('NetworkPolicy under Calico', () => {
  const calico = withCni(defaultScenario, 'calico-vxlan');

  it('a policy selecting the backends with no ingress rule isolates them: the SYN is dropped at cali-tw-…', () => {
    for (const t of run(calico + denyIngress)) {
      expect(t.verdict.kind).toBe('dropped');
      expect(policyHops(t).pop()).toMatch(/^Calico policy cali-tw-cali[0-9a-f]{11}: ingress to k8snet\/my-nginx-\S+ denied — no rule of k8snet\/default-deny allows it$/);
    }
  });

  it('an allow rule for pods of the namespace on port 80 lets it through (policies add up); port 8080 does not', () => {
    for (const t of run(calico + denyIngress + allowPort(80))) {
      expect(t.verdict.kind).toBe('delivered');
      expect(policyHops(t)).toContainEqual(expect.stringMatching(/allowed by k8snet\/allow-web \(ingress rule 1\)$/));
      // the reply is not judged again: only the request direction has policy hops
      expect(t.hops.filter((h) => h.mechanism.kind === 'policy').every((h) => h.direction === 'request')).toBe(true);
    }
    for (const t of run(calico + denyIngress + allowPort(8080))) expect(t.verdict.kind).toBe('dropped');
  });

  it('in IPVS mode (no FORWARD for a ClusterIP) the same policies are judged after IPVS picks the real server', () => {
    const ipvs = '---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\n';
    for (const t of run(calico + ipvs + denyIngress)) {
      expect(t.verdict.kind).toBe('dropped');
      expect(t.hops.some((h) => h.mechanism.title.startsWith('IPVS: '))).toBe(true);
      expect(policyHops(t).pop()).toMatch(/ingress to k8snet\/my-nginx-\S+ denied/);
    }
    for (const t of run(calico + ipvs + denyIngress + allowPort(80))) expect(t.verdict.kind).toBe('delivered');
  });

  it('egress is judged at the client pod, against the backend address after DNAT', () => {
    const denyEgress = policy('no-egress', '  podSelector: {}\n  policyTypes:\n  - Egress\n');
    const [t] = run(calico + denyEgress, 1);
    expect(t!.verdict.kind).toBe('dropped');
    expect(policyHops(t!)[0]).toMatch(/^Calico policy cali-fw-cali[0-9a-f]{11}: egress of k8snet\/inspector denied/);
    expect(t!.hops.find((h) => h.mechanism.kind === 'policy')!.mechanism.detail).toMatch(/to 10\.244\.\d+\.\d+ \(pod k8snet\/my-nginx-/);
  });

  it('ipBlock for the client outside: a local backend sees the client, a remote one the masqueraded node address', () => {
    const allowClient = policy('allow-client', '  podSelector:\n    matchLabels:\n      run: my-nginx\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 198.51.100.0/24\n');
    const traces = run(withCni(nodePortScenario, 'calico-vxlan') + allowClient, 16);
    const local = traces.filter((t) => t.hops.some((h) => h.mechanism.kind === 'policy' && h.node === 'node-2'));
    const remote = traces.filter((t) => t.hops.some((h) => h.mechanism.kind === 'policy' && h.node !== 'node-2'));
    expect(local.length).toBeGreaterThan(0);
    expect(remote.length).toBeGreaterThan(0);
    for (const t of local) expect(t.verdict.kind).toBe('delivered');
    for (const t of remote) {
      expect(t.verdict.kind).toBe('dropped');
      expect(t.verdict.message).toMatch(/from 10\.244\.0\.64/); // node-2's vxlan.calico address, after MASQUERADE
    }
  });
});

describe('NetworkPolicy under flannel', () => {
  it('is not enforced, and the diagnostics say so on the policy', () => {
    const s = loadSnapshot(defaultScenario + denyIngress, 1);
    const d = s.diagnostics.find((x) => x.code === 'PP014')!;
    expect(d.message).toMatch(/^flannel does not enforce NetworkPolicy: k8snet\/default-deny has no effect/);
    expect(d.line).toBeGreaterThan(defaultScenario.split('\n').length);
    for (const t of run(defaultScenario + denyIngress)) {
      expect(t.verdict.kind).toBe('delivered');
      expect(policyHops(t)).toEqual([]);
    }
  });
});

describe('label selectors', () => {
  it('match labels and expressions as the API defines them', () => {
    const sel = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['a', 'b'] }, { key: 'canary', operator: 'DoesNotExist' as const, values: [] }] };
    expect(selectorMatches(sel, { app: 'web', tier: 'a' })).toBe(true);
    expect(selectorMatches(sel, { app: 'web', tier: 'c' })).toBe(false);
    expect(selectorMatches(sel, { app: 'web', tier: 'b', canary: 'yes' })).toBe(false);
    expect(selectorMatches({ matchLabels: {}, matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['1'] }] }, {})).toBe(true);
  });
});
