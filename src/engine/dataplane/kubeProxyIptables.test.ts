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
