// NetworkPolicy (networking.k8s.io/v1), read as the API defines it
// (https://kubernetes.io/docs/concepts/services-networking/network-policies/ and the API
// reference): podSelector picks the pods a policy isolates; policyTypes defaults to Ingress, plus
// Egress when the policy has an egress section; a rule with no from/to matches every peer, with no
// ports every port; a peer with podSelector alone means pods of the policy's own namespace, with
// namespaceSelector alone every pod of the matching namespaces, with both the pods matching both;
// ipBlock matches addresses in cidr but not in except.

import type { LabelSelector, NetworkPolicyInfo, PolicyPeer, PolicyPort, PolicyRule } from '../types.ts';
import { parseCidr } from '../util/ipv4.ts';
import type { DocReader, Obj, ObjectMeta } from './objects.ts';

export function readSelector(r: DocReader, parent: Obj, key: string): LabelSelector | undefined {
  const m = r.map(parent, key);
  if (!m) return undefined;
  const expressions = r.list(m, 'matchExpressions').flatMap((e): LabelSelector['matchExpressions'] => {
    const x = e as Obj;
    const op = r.str(x, 'operator');
    if (op !== 'In' && op !== 'NotIn' && op !== 'Exists' && op !== 'DoesNotExist') {
      r.report('PP013', 'error', `matchExpressions operator must be In, NotIn, Exists or DoesNotExist (found "${op}").`, x, 'operator');
      return [];
    }
    return [{ key: r.str(x, 'key') ?? '', operator: op, values: r.list(x, 'values').map(String) }];
  });
  return { matchLabels: r.strings(m, 'matchLabels'), matchExpressions: expressions };
}

export function selectorMatches(s: LabelSelector, labels: Record<string, string>): boolean {
  return (
    Object.entries(s.matchLabels).every(([k, v]) => labels[k] === v) &&
    s.matchExpressions.every((e) => {
      const has = e.key in labels;
      if (e.operator === 'Exists') return has;
      if (e.operator === 'DoesNotExist') return !has;
      if (e.operator === 'In') return has && e.values.includes(labels[e.key]!);
      return !has || !e.values.includes(labels[e.key]!);
    })
  );
}

export function formatSelector(s: LabelSelector): string {
  const parts = [...Object.entries(s.matchLabels).map(([k, v]) => `${k}=${v}`), ...s.matchExpressions.map((e) => `${e.key} ${e.operator}${e.values.length ? ` (${e.values.join(', ')})` : ''}`)];
  return parts.length ? parts.join(', ') : 'every pod';
}

function readPeers(r: DocReader, rule: Obj, key: 'from' | 'to'): PolicyPeer[] | 'all' {
  if (rule[key] === undefined || rule[key] === null) return 'all';
  const list = r.list(rule, key);
  if (list.length === 0) return 'all';
  return list.map((p) => {
    const x = p as Obj;
    const peer: PolicyPeer = { podSelector: readSelector(r, x, 'podSelector'), namespaceSelector: readSelector(r, x, 'namespaceSelector') };
    const ib = r.map(x, 'ipBlock');
    if (ib) {
      const cidr = r.str(ib, 'cidr');
      if (!cidr || !parseCidr(cidr)) r.report('PP013', 'error', `ipBlock.cidr must be an IPv4 CIDR${cidr ? ` (found "${cidr}")` : ''}.`, ib, 'cidr');
      else peer.ipBlock = { cidr, except: r.list(ib, 'except').map(String) };
    }
    if (!peer.podSelector && !peer.namespaceSelector && !peer.ipBlock) r.report('PP003', 'error', 'A peer needs podSelector, namespaceSelector or ipBlock.', x);
    return peer;
  });
}

function readPorts(r: DocReader, rule: Obj): PolicyPort[] | 'all' {
  const list = r.list(rule, 'ports');
  if (list.length === 0) return 'all';
  return list.map((p) => {
    const x = p as Obj;
    const port = x.port === undefined ? undefined : typeof x.port === 'number' ? x.port : String(x.port);
    return { protocol: r.protocol(x), port, endPort: r.int(x, 'endPort', 1, 65535) };
  });
}

function readRules(r: DocReader, spec: Obj, key: 'ingress' | 'egress'): PolicyRule[] {
  return r.list(spec, key).map((x) => ({ peers: readPeers(r, x as Obj, key === 'ingress' ? 'from' : 'to'), ports: readPorts(r, x as Obj) }));
}

export function readNetworkPolicy(r: DocReader, meta: ObjectMeta): NetworkPolicyInfo | undefined {
  const spec = r.map(meta.raw, 'spec');
  if (!spec) {
    r.report('PP003', 'error', 'NetworkPolicy needs a spec with a podSelector ({} selects every pod of the namespace).', meta.raw, 'kind');
    return undefined;
  }
  const podSelector = readSelector(r, spec, 'podSelector');
  if (!podSelector) r.report('PP003', 'error', 'NetworkPolicy spec.podSelector is required ({} selects every pod of the namespace).', spec);
  const declared = r.list(spec, 'policyTypes').map(String);
  for (const t of declared) if (t !== 'Ingress' && t !== 'Egress') r.report('PP013', 'error', `policyTypes entries must be Ingress or Egress (found "${t}").`, spec, 'policyTypes');
  const policyTypes = (declared.length ? declared : ['Ingress', ...(spec.egress !== undefined ? ['Egress'] : [])]).filter((t): t is 'Ingress' | 'Egress' => t === 'Ingress' || t === 'Egress');
  return {
    namespace: meta.namespace,
    name: meta.name,
    podSelector: podSelector ?? { matchLabels: {}, matchExpressions: [] },
    policyTypes,
    ingress: readRules(r, spec, 'ingress'),
    egress: readRules(r, spec, 'egress'),
    source: meta.source,
  };
}
