import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { kubeProxyHash16 } from '../util/hash.ts';
import { kubeProxyRules, type KubeProxyServicePort } from './kubeProxyIptables.ts';
import { normalizeKubeProxyDump, renderRuleset } from './iptablesSave.ts';

const conformance = join(__dirname, '../../../../shared/conformance/kube-proxy');

describe('kube-proxy chain-name hash', () => {
  // Examples from ../shared/conformance/README.md (derived from proxier.go portProtoHash).
  it.each([
    ['ns1/svc1:p80tcp', 'XPGD46QRK7WJZT7O'],
    ['ns1/svc1:p80tcp10.180.0.1:80', 'SXIVWICOYRO3J4NJ'],
    ['ns1/svc1tcp', 'AQI2S6QIMU7PVVRP'],
    ['kube-system/kube-dns:dnsudp', 'TCOU7JCQXEZGVUNU'],
    ['default/kubernetes:httpstcp', 'NPX46M4PTMTKRN6Y'],
  ])('%s → %s', (input, hash) => expect(kubeProxyHash16(input)).toBe(hash));
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped YAML fixtures
type Doc = Record<string, any>;

/** ClusterIP Services + EndpointSlices of a conformance input → kube-proxy's service ports. */
function servicePorts(input: string): KubeProxyServicePort[] {
  const docs = yaml.loadAll(input) as Doc[];
  const slices = docs.filter((d) => d?.kind === 'EndpointSlice');
  return docs
    .filter((d) => d?.kind === 'Service')
    .flatMap((svc) =>
      (svc.spec.ports as Doc[]).map((p) => {
        const eps = slices
          .filter((s) => s.metadata.namespace === svc.metadata.namespace && s.metadata.labels['kubernetes.io/service-name'] === svc.metadata.name)
          .flatMap((s) => {
            const port = (s.ports as Doc[]).find((sp) => (sp.name ?? '') === (p.name ?? ''));
            return port ? (s.endpoints as Doc[]).filter((e) => e.conditions?.ready !== false).flatMap((e) => (e.addresses as string[]).map((ip) => ({ ip, port: port.port as number }))) : [];
          });
        return {
          namespace: svc.metadata.namespace, name: svc.metadata.name, portName: p.name ?? '', clusterIP: svc.spec.clusterIP, port: p.port, protocol: p.protocol ?? 'TCP',
          nodePort: 0, externalIPs: [], loadBalancerVIPs: [], loadBalancerSourceRanges: [], healthCheckNodePort: 0, externalPolicyLocal: false, internalPolicyLocal: false,
          endpoints: eps.map((e) => ({ ...e, ready: true, serving: true, terminating: false })),
        };
      }),
    );
}

describe('kube-proxy iptables rules match kube-proxy\'s own expected dumps (ClusterIP cases)', () => {
  it.each(['clusterip-two-services', 'internal-traffic-policy-cluster'])('%s', (name) => {
    const dir = join(conformance, name);
    const params = yaml.load(readFileSync(join(dir, 'params.yaml'), 'utf8')) as Doc;
    const px = params.proxier;
    const rs = kubeProxyRules(servicePorts(readFileSync(join(dir, 'input.yaml'), 'utf8')), {
      nodeName: px.nodeName,
      nodeIP: px.nodeIP,
      nodeAddresses: [],
      clusterCIDR: px.localDetector.clusterCIDR,
      masqueradeBit: Math.log2(parseInt(px.masqueradeMark, 16)),
      masqueradeAll: false,
      localhostNodePorts: true,
      nodePortAddresses: null,
      nfacct: { ctStateInvalidDropped: (px.nfacctCounters ?? []).length > 0, localhostNodePortsAccepted: (px.nfacctCounters ?? []).length > 0 },
      randomFully: false,
      conntrackTCPLiberal: false,
    });
    const ours = normalizeKubeProxyDump(renderRuleset(rs, { builtins: false }));
    const expected = normalizeKubeProxyDump(readFileSync(join(dir, 'expected.iptables'), 'utf8'));
    expect(ours).toBe(expected);
  });
});

describe('large cluster mode', () => {
  const ports = (endpoints: number): KubeProxyServicePort[] => [
    {
      namespace: 'ns', name: 'big', portName: 'p', clusterIP: '172.30.0.9', port: 80, protocol: 'TCP', nodePort: 0, externalIPs: [], loadBalancerVIPs: [], loadBalancerSourceRanges: [],
      healthCheckNodePort: 0, externalPolicyLocal: false, internalPolicyLocal: false,
      endpoints: Array.from({ length: endpoints }, (_, i) => ({ ip: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, port: 80, ready: true, serving: true, terminating: false })),
    },
  ];
  const params = { nodeName: 'n', nodeIP: '192.168.0.2', nodeAddresses: [], clusterCIDR: '10.0.0.0/8', masqueradeBit: 14, masqueradeAll: false, localhostNodePorts: true, nodePortAddresses: null, nfacct: { ctStateInvalidDropped: false, localhostNodePortsAccepted: false }, randomFully: false, conntrackTCPLiberal: false };
  const sepRules = (n: number) => kubeProxyRules(ports(n), params).tables.nat.filter((c) => c.name.startsWith('KUBE-SEP-')).flatMap((c) => c.rules);
  const svcRules = (n: number) => kubeProxyRules(ports(n), params).tables.nat.find((c) => c.name.startsWith('KUBE-SVC-'))!.rules;

  it('keeps endpoint comments up to 1000 endpoints', () => {
    expect(sepRules(1000).every((r) => r.startsWith('-m comment --comment ns/big:p '))).toBe(true);
  });

  it('drops them above 1000 (kube-proxy largeClusterEndpointsThreshold), but not the ClusterIP rule\'s', () => {
    expect(sepRules(1001).some((r) => r.includes('--comment'))).toBe(false);
    expect(sepRules(1001)[1]).toBe('-m tcp -p tcp -j DNAT --to-destination 10.1.0.1:80');
    const svc = svcRules(1001);
    expect(svc[0]).toContain('--comment "ns/big:p cluster IP"');
    expect(svc[1]).toMatch(/^-m statistic --mode random --probability 0\.0009990010 -j KUBE-SEP-/);
  });
});
