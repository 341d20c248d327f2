import { describe, expect, it } from 'vitest';
import { defaultScenario } from '../../scenarios/default.ts';
import { iptablesSave } from '../dataplane/iptablesSave.ts';
import { loadSnapshot } from '../snapshot.ts';

const withText = (from: string, to: string) => {
  expect(defaultScenario).toContain(from);
  return defaultScenario.replace(from, to);
};
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('cluster model from the default scenario', () => {
  const s = loadSnapshot(defaultScenario, 7);

  it('has three default nodes with flannel addressing and no diagnostics', () => {
    expect(s.version).toBe(7);
    expect(s.diagnostics).toEqual([]);
    expect(s.topology.nodes.map((n) => [n.name, n.ip, n.podCIDR])).toEqual([
      ['node-1', '192.168.1.11', '10.244.0.0/24'],
      ['node-2', '192.168.1.12', '10.244.1.0/24'],
      ['node-3', '192.168.1.13', '10.244.2.0/24'],
    ]);
    const n2 = s.topology.nodes[1]!;
    expect(n2.interfaces.map((i) => `${i.name} ${i.address} mtu ${i.mtu}`)).toEqual(['eth0 192.168.1.12/24 mtu 1500', 'cni0 10.244.1.1/24 mtu 1450', 'flannel.1 10.244.1.0/32 mtu 1450']);
    expect(n2.routes.map((r) => `${r.dst} ${r.via ?? ''} ${r.dev}${r.onlink ? ' onlink' : ''}`)).toContain('10.244.2.0/24 10.244.2.0 flannel.1 onlink');
    const vtep3 = s.topology.nodes[2]!.interfaces.find((i) => i.name === 'flannel.1')!;
    expect(n2.neighbours).toContainEqual({ ip: '10.244.2.0', mac: vtep3.mac, dev: 'flannel.1' });
    expect(n2.fdb).toContainEqual({ mac: vtep3.mac, dev: 'flannel.1', dst: '192.168.1.13' });
  });

  it('keeps pods off the tainted control plane and spreads the Deployment', () => {
    expect(s.topology.nodes[0]!.pods).toEqual([]);
    const nginx = s.topology.nodes.flatMap((n) => n.pods).filter((p) => p.labels.run === 'my-nginx');
    expect(nginx.map((p) => p.node).sort()).toEqual(['node-2', 'node-3']);
    for (const p of nginx) expect(p.name).toMatch(/^my-nginx-[bcdfghjklmnpqrstvwxz2456789]+-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('gives the Service a ClusterIP in 10.96.0.0/12 and both pods as endpoints', () => {
    const svc = s.topology.services[0]!;
    expect(svc.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    expect(svc.endpoints.map((e) => `${e.ip}:${e.port}`)).toEqual(['10.244.1.2:80', '10.244.2.2:80']);
  });

  it('is deterministic', () => {
    expect(loadSnapshot(defaultScenario, 7)).toEqual(s);
  });
});

describe('edits change the cluster', () => {
  it('replicas: 3 adds a third backend', () => {
    const s = loadSnapshot(withText('replicas: 2', 'replicas: 3'), 1);
    expect(s.topology.services[0]!.endpoints).toHaveLength(3);
    // Scaling one workload never moves another's pods.
    const nodeOf = (x: typeof s, name: string) => x.topology.nodes.find((n) => n.pods.some((p) => p.name === name))?.name;
    expect(nodeOf(s, 'inspector')).toBe(nodeOf(loadSnapshot(defaultScenario, 1), 'inspector'));
  });

  it('a selector that matches nothing leaves the Service without endpoints and says where', () => {
    const text = withText('  selector:\n    run: my-nginx\n  ports:', '  selector:\n    run: my-nginx-typo\n  ports:');
    const s = loadSnapshot(text, 1);
    expect(s.topology.services[0]!.endpoints).toEqual([]);
    const d = s.diagnostics.find((x) => x.code === 'PP007')!;
    expect(d.severity).toBe('warning');
    expect(d.line).toBe(lineOf(text, 'run: my-nginx-typo') - 1);
  });
});

describe('diagnostics carry the document and the line', () => {
  it.each([
    ['a YAML syntax error in the 3rd document', withText('  replicas: 2', '  replicas: [2'), 'PP001', 'error'],
    ['a removed apiVersion', withText('apiVersion: apps/v1\nkind: Deployment', 'apiVersion: apps/v1beta1\nkind: Deployment'), 'PP005', 'warning'],
    ['an unknown Flow client', withText('from: k8snet/inspector', 'from: k8snet/nobody'), 'PP010', 'error'],
    ['a Deployment selector that does not match its template', withText('    matchLabels:\n      run: my-nginx', '    matchLabels:\n      run: other'), 'PP006', 'error'],
  ])('%s', (_name, text, code, severity) => {
    const s = loadSnapshot(text, 1);
    const d = s.diagnostics.find((x) => x.code === code);
    expect(d, JSON.stringify(s.diagnostics)).toBeDefined();
    expect(d!.severity).toBe(severity);
    expect(d!.line).toBeGreaterThan(1);
    expect(text.split('\n')[d!.line - 1]).toBeDefined();
  });

  it('a syntax error fails the snapshot and points at the broken line', () => {
    const text = withText('  replicas: 2', '  replicas: [2');
    const s = loadSnapshot(text, 1);
    expect(s.failed).toBe(true);
    const d = s.diagnostics[0]!;
    expect(d.doc).toBe(1);
    expect(Math.abs(d.line - lineOf(text, 'replicas: [2'))).toBeLessThanOrEqual(1);
  });

  it('the removed apiVersion warning is on the apiVersion line', () => {
    const text = withText('apiVersion: apps/v1\nkind: Deployment', 'apiVersion: apps/v1beta1\nkind: Deployment');
    const d = loadSnapshot(text, 1).diagnostics.find((x) => x.code === 'PP005')!;
    expect(d.line).toBe(lineOf(text, 'apps/v1beta1'));
    expect(d.doc).toBe(1);
  });

  it('a pod no node tolerates stays Pending', () => {
    const nodes = `apiVersion: v1\nkind: Node\nmetadata:\n  name: only\nspec:\n  taints:\n  - key: dedicated\n    effect: NoSchedule\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: busybox\n`;
    const s = loadSnapshot(nodes, 1);
    expect(s.diagnostics.map((d) => [d.code, d.line])).toContainEqual(['PP011', 10]);
  });
});

describe('Node objects', () => {
  it('reads names, InternalIPs, podCIDRs and builds a flannel mesh of routes', () => {
    const text = Array.from({ length: 10 }, (_, i) => `apiVersion: v1\nkind: Node\nmetadata:\n  name: w${i}\nspec:\n  podCIDR: 10.244.${i + 10}.0/24\nstatus:\n  addresses:\n  - type: InternalIP\n    address: 192.168.1.${100 + i}\n`).join('---\n');
    const s = loadSnapshot(text, 1);
    expect(s.diagnostics).toEqual([]);
    expect(s.topology.nodes).toHaveLength(10);
    expect(s.topology.nodes[3]!.ip).toBe('192.168.1.103');
    expect(s.topology.nodes[3]!.routes.filter((r) => r.dev === 'flannel.1')).toHaveLength(9);
  });
});

describe('Services of every type', () => {
  const text = `apiVersion: v1
kind: Service
metadata: {name: np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 8080, targetPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: headless}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: manual}
spec:
  ports: [{port: 80}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: manual}
subsets:
- addresses: [{ip: 172.17.0.4}]
  ports: [{port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]
`;
  const s = loadSnapshot(text, 1);
  const svc = (name: string) => s.topology.services.find((x) => x.name === name)!;

  it('allocates NodePorts, a health-check port and a load-balancer IP as the API server and a LB controller would', () => {
    expect(s.diagnostics).toEqual([]);
    expect(svc('np').ports[0]!.nodePort).toBeGreaterThanOrEqual(30000);
    expect(svc('np').ports[0]!.nodePort).toBeLessThanOrEqual(32767);
    expect(svc('lb').loadBalancerIPs[0]).toMatch(/^203\.0\.113\.\d+$/);
    expect(svc('lb').healthCheckNodePort).toBeGreaterThanOrEqual(30000);
    expect(svc('np').healthCheckNodePort).toBe(0);
  });

  it('keeps headless Services out of kube-proxy and takes hand-written Endpoints for selector-less ones', () => {
    expect(svc('headless').clusterIP).toBe('None');
    expect(svc('headless').endpoints).toHaveLength(1);
    expect(svc('manual').endpoints.map((e) => `${e.ip}:${e.port}`)).toEqual(['172.17.0.4:80']);
    const rules = iptablesSave(s.topology, 'node-2');
    expect(rules).not.toContain('default/headless');
    expect(rules).toContain('DNAT --to-destination 172.17.0.4:80');
    expect(rules).toMatch(new RegExp(`-A KUBE-NODEPORTS -m comment --comment default/np -m tcp -p tcp --dport ${svc('np').ports[0]!.nodePort} -j KUBE-EXT-`));
  });
});

describe('KubeProxyConfiguration', () => {
  const kpc = (body: string) => `${defaultScenario}---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n${body}`;

  it('masqueradeAll marks every ClusterIP connection for masquerade', () => {
    const s = loadSnapshot(kpc('iptables:\n  masqueradeAll: true\n'), 1);
    expect(s.diagnostics).toEqual([]);
    const rules = iptablesSave(s.topology, 'node-2');
    expect(rules).toMatch(/-A KUBE-SVC-\w+ -m comment --comment "k8snet\/my-nginx cluster IP" -m tcp -p tcp -d [\d.]+ --dport 80 -j KUBE-MARK-MASQ/);
  });

  it('clusterCIDR and masqueradeBit change the local detector and the mark', () => {
    const rules = iptablesSave(loadSnapshot(kpc('clusterCIDR: 10.200.0.0/16\niptables:\n  masqueradeBit: 15\n'), 1).topology, 'node-2');
    expect(rules).toContain('! -s 10.200.0.0/16 -j KUBE-MARK-MASQ');
    expect(rules).toContain('-j MARK --or-mark 0x8000');
  });

  it('mode: nftables switches the cluster to nftables mode, without a diagnostic', () => {
    const s = loadSnapshot(kpc('mode: nftables\n'), 1);
    expect(s.topology.settings.kubeProxy.mode).toBe('nftables');
    expect(s.diagnostics).toEqual([]);
  });

  it('mode: ipvs switches the cluster to IPVS mode (simulated)', () => {
    const s = loadSnapshot(kpc('mode: ipvs\n'), 1);
    expect(s.topology.settings.kubeProxy.mode).toBe('ipvs');
    expect(s.diagnostics.map((x) => [x.code, x.severity])).toEqual([['PP004', 'info']]);
  });
});

describe('Flow objects', () => {
  it('accept a client outside the cluster', () => {
    const s = loadSnapshot(withText('from: k8snet/inspector\n  to: my-nginx:80', 'from: external\n  to: node-2:30080'), 1);
    expect(s.diagnostics).toEqual([]);
    expect(s.flows[0]).toMatchObject({ from: 'external', to: 'node-2:30080' });
  });
});
