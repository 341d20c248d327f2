// The conformance runner: finds reference cases by their layout and checks the engine against them.
//   kube-proxy    params.yaml (proxier.mode iptables) + input.yaml + expected.iptables and/or flows.yaml
//   trace-packet  rules.iptables + flows.yaml
//   kube-proxy-ipvs  params.yaml (proxier.mode ipvs) + input.yaml + expected.yaml
//   kube-proxy-nftables  params.yaml (proxier.mode nftables) + input*.yaml + expected.nft and/or flows.yaml
//   istio-iptables  params.yaml (source.repo istio/istio) + expected.iptables + flows.yaml (istioIptablesCases.ts)
//   istio routing   cases.yaml with scenarios (apply lists) and requests (meshCases.ts)
//   cndjp4          cases.yaml with part1 / part2 (part 2, Istio 0.6 route rules: cndjp4Cases.ts)
// Other layouts (nftables, IPVS, Gateway API, Istio, cndjp4) are reported as not supported yet.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { loadSnapshot } from '../engine/index.ts';
import { normalizeKubeProxyDump, parseIptablesSave, renderRuleset, servicePortsOf } from '../engine/dataplane/iptablesSave.ts';
import { kubeProxyRules, type KubeProxyParams } from '../engine/dataplane/kubeProxyIptables.ts';
import { traceOutcomes, type TracerFlow, type TracerResult } from '../engine/dataplane/ruleTracer.ts';
import { kubeProxyIpvs, type IpvsParams, type VirtualServer } from '../engine/dataplane/kubeProxyIpvs.ts';
import { kubeProxyNftables, normalizeNft, type NftParams } from '../engine/dataplane/kubeProxyNftables.ts';
import { traceNft } from '../engine/dataplane/nftTracer.ts';
import { ipInCidr } from '../engine/util/ip.ts';
import type { Ruleset } from '../engine/dataplane/kubeProxyIptables.ts';
import { isIstioIptablesCase, runIstioIptablesCase } from './istioIptablesCases.ts';
import { isMeshCasesDir, runMeshCases } from './meshCases.ts';
import { isCndjp4Dir, runCndjp4 } from './cndjp4Cases.ts';

type Doc = Record<string, unknown>;
interface Outcome { ok: boolean; detail: string; skipped?: boolean }

const here = dirname(fileURLToPath(import.meta.url));
export const defaultRoot = resolve(here, '../../../shared/conformance');

function load(file: string): Doc {
  return (yaml.load(readFileSync(file, 'utf8')) ?? {}) as Doc;
}

/** Case directories: those holding a params.yaml, rules.iptables, expected.* or cases.yaml. */
export function findCases(dir: string): string[] {
  const files = readdirSync(dir);
  if (files.some((f) => f === 'params.yaml' || f === 'rules.iptables' || f.startsWith('expected.') || f === 'cases.yaml')) return [dir];
  return files
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isDirectory())
    .sort()
    .flatMap(findCases);
}

function paramsOf(params: Doc): KubeProxyParams {
  const px = { ...(params.proxier as Doc), ...((params.overrides as Doc) ?? {}) };
  const detector = px.localDetector as { mode?: string; clusterCIDR?: string } | undefined;
  const counters = (px.nfacctCounters as string[] | undefined) ?? [];
  const interfaces = (px.nodeInterfaces as Record<string, string[]> | undefined) ?? {};
  return {
    nodeName: String(px.nodeName),
    nodeIP: String(px.nodeIP),
    nodeAddresses: Object.values(interfaces).flat().map((a) => a.split('/')[0]!),
    clusterCIDR: detector?.mode === 'ClusterCIDR' ? detector.clusterCIDR ?? null : null,
    masqueradeBit: Math.log2(parseInt(String(px.masqueradeMark ?? '0x4000'), 16)),
    masqueradeAll: px.masqueradeAll === true,
    localhostNodePorts: px.localhostNodePorts !== false,
    nodePortAddresses: (px.nodePortAddresses as string[] | null | undefined) ?? null,
    nfacct: { ctStateInvalidDropped: counters.includes('ct_state_invalid_dropped_pkts'), localhostNodePortsAccepted: counters.includes('localhost_nps_accepted_pkts') },
    randomFully: px.hasRandomFully === true,
    conntrackTCPLiberal: px.conntrackTCPLiberal === true,
  };
}

/** Remove the document named by an "after:" note ("EndpointSlice ns1/svc1-1 deleted"). */
function withoutObject(text: string, after: string): string {
  const m = /^(\w+) ([\w.-]+)\/([\w.-]+) deleted$/i.exec(after.trim());
  if (!m) throw new Error(`cannot apply "after: ${after}"`);
  const [, kind, ns, name] = m;
  return text
    .split(/^---$/m)
    .filter((docText) => {
      const d = yaml.load(docText) as Doc | null;
      const meta = d?.metadata as Doc | undefined;
      return !(d && String(d.kind).toLowerCase() === kind!.toLowerCase() && meta?.name === name && (meta?.namespace ?? 'default') === ns);
    })
    .join('---\n');
}

function kubeProxyRuleset(inputText: string, p: KubeProxyParams): Ruleset {
  const snap = loadSnapshot(inputText, 1, { apiDefaults: false });
  return kubeProxyRules(servicePortsOf(snap.topology), p);
}

function diffLines(ours: string, expected: string): string {
  const a = ours.split('\n');
  const b = expected.split('\n');
  const missing = b.filter((l) => !a.includes(l));
  const extra = a.filter((l) => !b.includes(l));
  const show = (xs: string[]) => xs.slice(0, 3).join(' | ') + (xs.length > 3 ? ` (+${xs.length - 3})` : '');
  if (!missing.length && !extra.length) return 'same lines, different order';
  return `${missing.length ? `missing: ${show(missing)}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `unexpected: ${show(extra)}` : ''}`;
}

/** A flow's outcome; undefined when the tracer cannot run that flow (it is counted as skipped). */
type Trace = (flow: TracerFlow, after?: string) => TracerResult | undefined;

/**
 * Who traces the flows: the engine's static tracers (kube-proxy's own test tracers, reproduced),
 * or — in scripts/kernel-check.ts — the Linux kernel with the ruleset loaded in a namespace.
 */
export interface Tracers {
  iptables(rs: Ruleset, localIPs: string[]): (flow: TracerFlow) => TracerResult | undefined;
  nftables(lines: string[], localIPs: string[]): (flow: TracerFlow) => TracerResult | undefined;
}

export const engineTracers: Tracers = {
  iptables: (rs, localIPs) => (flow) => traceOutcomes(rs, flow, localIPs),
  nftables: (lines, localIPs) => (flow) => traceNft(lines, flow, localIPs),
};

const sameOutput = (got: TracerResult, want: string) => (got.unordered ? got.output.split(', ').sort().join(', ') === want.split(', ').sort().join(', ') : got.output === want);

function checkFlows(flowsDoc: Doc, trace: Trace): Outcome[] {
  const flows = flowsDoc.flows as Doc[] | undefined;
  if (!Array.isArray(flows)) return [{ ok: false, detail: `flows.yaml format not supported yet (${Object.keys(flowsDoc).join(', ')})` }];
  return flows.map((f) => {
    const flow: TracerFlow = { src: String(f.src), dst: String(f.dst), proto: (f.proto as TracerFlow['proto']) ?? 'tcp', dport: Number(f.dport) };
    const got = trace(flow, f.after as string | undefined);
    if (!got) return { ok: true, skipped: true, detail: `flow "${f.name}" skipped` };
    const ok = sameOutput(got, String(f.output ?? '')) && got.masq === (f.masq === true);
    return { ok, detail: ok ? '' : `flow "${f.name}": got ${JSON.stringify(got.output)} masq=${got.masq}, want ${JSON.stringify(f.output)} masq=${f.masq}` };
  });
}

/** An iptables tracer over the ruleset a function gives (per "after:" state). */
const iptablesTrace = (tr: Tracers, rulesFor: (after?: string) => Ruleset, localIPs: string[]): Trace => (flow, after) => tr.iptables(rulesFor(after), localIPs)(flow);

/** Flows under proxier variants ({name: {masqueradeAll, localDetector}}) with per-variant overrides. */
function variantFlows(flowsDoc: Doc, traceFor: (v: { masqueradeAll: boolean; clusterCIDR: string | null }) => Trace): Outcome[] {
  const variants = flowsDoc.variants as Record<string, { masqueradeAll?: boolean; localDetector?: string }>;
  const overrides = (flowsDoc.overrides ?? {}) as Record<string, Record<string, Doc>>;
  const out: Outcome[] = [];
  for (const [name, v] of Object.entries(variants)) {
    const detector = v.localDetector?.startsWith('ClusterCIDR ') ? v.localDetector.slice('ClusterCIDR '.length) : null;
    const flows = (flowsDoc.flows as Doc[]).map((f) => ({ ...f, ...(overrides[name]?.[String(f.name)] ?? {}) }));
    out.push(...checkFlows({ flows }, traceFor({ masqueradeAll: v.masqueradeAll === true, clusterCIDR: detector })).map((o) => (o.ok ? o : { ...o, detail: `[${name}] ${o.detail}` })));
  }
  return out;
}

function runKubeProxy(dir: string, params: Doc, tr: Tracers): Outcome {
  const p = paramsOf(params);
  if (!existsSync(join(dir, 'input.yaml'))) return runKubeProxyFamilies(dir, params, p, tr);
  const inputText = readFileSync(join(dir, 'input.yaml'), 'utf8');
  const outcomes: Outcome[] = [];
  let checked = 0;
  if (existsSync(join(dir, 'expected.iptables'))) {
    checked++;
    const ours = normalizeKubeProxyDump(renderRuleset(kubeProxyRuleset(inputText, p), { builtins: false }));
    const expected = normalizeKubeProxyDump(readFileSync(join(dir, 'expected.iptables'), 'utf8'));
    outcomes.push(ours === expected ? { ok: true, detail: '' } : { ok: false, detail: `dump differs: ${diffLines(ours, expected)}` });
  }
  if (existsSync(join(dir, 'flows.yaml'))) {
    checked++;
    const flowsDoc = load(join(dir, 'flows.yaml'));
    const tracer = params.tracer as { localIPs?: string[] } | undefined;
    const localIPs = tracer?.localIPs ?? ['127.0.0.1', ...p.nodeAddresses];
    if (flowsDoc.variants && !Array.isArray(flowsDoc.variants)) {
      outcomes.push(...variantFlows(flowsDoc, (v) => iptablesTrace(tr, () => kubeProxyRuleset(inputText, { ...p, ...v }), localIPs)));
    } else if (flowsDoc.variants) {
      outcomes.push({ ok: false, detail: 'flows.yaml with a list of variants (IPv4/IPv6 NodePort settings) is not supported yet' });
    } else {
      outcomes.push(...checkFlows(flowsDoc, iptablesTrace(tr, (after) => kubeProxyRuleset(after ? withoutObject(inputText, after) : inputText, p), localIPs)));
    }
  }
  if (!checked) return { ok: false, detail: 'neither expected.iptables nor flows.yaml' };
  return summary(outcomes);
}

/** The IPv6 fake proxier of kube-proxy's tests (its nftables twin's params state it: ipv6Overrides). */
const IPV6_FAKE = { clusterCIDR: 'fd00:10::/64', nodeIP: '2001:db8::1' };

interface FamilyVariant { name: string; family: 'ipv4' | 'ipv6'; input?: string; localhostNodePorts?: boolean; nodePortAddresses?: string[] | null; allowAltNodeIP?: boolean; expectFirewall?: boolean }

/**
 * Flows under IPv4 / IPv6 proxier variants (TestNodePorts): address aliases per family, flows for
 * every variant plus conditional ones (localhost NodePorts; NodePorts on a secondary node IP).
 */
function familyFlows(flowsDoc: Doc, traceFor: (v: FamilyVariant) => { trace: Trace; firewall?: string[] }): Outcome[] {
  const addresses = flowsDoc.addresses as Record<string, Record<string, string>>;
  const conditional = (flowsDoc.conditionalFlows ?? {}) as Record<string, Doc[]>;
  const out: Outcome[] = [];
  for (const v of flowsDoc.variants as FamilyVariant[]) {
    const a = addresses[v.family]!;
    const localhost = v.family === 'ipv4' && v.localhostNodePorts === true;
    const flows = [
      ...((flowsDoc.flowsForEveryVariant as Doc[]) ?? []),
      ...(conditional[localhost ? 'localhostAllowed' : 'localhostNotAllowed'] ?? []),
      ...(conditional[v.allowAltNodeIP ? 'altNodeIPAllowed' : 'altNodeIPNotAllowed'] ?? []),
    ]
      .map((f) => ({ ...f, src: a[String(f.src)] ?? f.src, dst: a[String(f.dst)] ?? f.dst, output: a[String(f.output)] ?? f.output }));
    const { trace, firewall } = traceFor(v);
    out.push(...checkFlows({ flows }, trace).map((o) => (o.ok ? o : { ...o, detail: `[${v.name}] ${o.detail}` })));
    if (v.expectFirewall !== undefined && firewall) {
      const want = v.expectFirewall ? 1 : 0;
      if (firewall.length !== want) out.push({ ok: false, detail: `[${v.name}] KUBE-FIREWALL holds ${firewall.length} rule(s), want ${want}` });
    }
  }
  return out;
}

function runKubeProxyFamilies(dir: string, params: Doc, p: KubeProxyParams, tr: Tracers): Outcome {
  if (!existsSync(join(dir, 'flows.yaml'))) return { ok: false, detail: 'per-family inputs without flows.yaml' };
  const flowsDoc = load(join(dir, 'flows.yaml'));
  if (!flowsDoc.addresses || !Array.isArray(flowsDoc.variants)) return { ok: false, detail: 'flows.yaml format not supported' };
  const localIPs = ((params.tracer as Doc | undefined)?.localIPs as string[] | undefined) ?? ['127.0.0.1', ...p.nodeAddresses];
  const outcomes = familyFlows(flowsDoc, (v) => {
    const v6 = v.family === 'ipv6';
    const pv: KubeProxyParams = {
      ...p,
      family: v6 ? 'IPv6' : 'IPv4',
      localhostNodePorts: v.localhostNodePorts ?? p.localhostNodePorts,
      nodePortAddresses: v.nodePortAddresses === undefined ? p.nodePortAddresses : v.nodePortAddresses,
      ...(v6 ? IPV6_FAKE : {}),
    };
    const snap = loadSnapshot(readFileSync(join(dir, `input-${v.family}.yaml`), 'utf8'), 1, { apiDefaults: false });
    const rs = kubeProxyRules(servicePortsOf(snap.topology, pv.family), pv);
    const firewall = rs.tables.filter.find((c) => c.name === 'KUBE-FIREWALL')?.rules ?? [];
    return { trace: iptablesTrace(tr, () => rs, localIPs), firewall };
  });
  return summary(outcomes, ', IPv4 and IPv6');
}

function runTracePacket(dir: string, tr: Tracers): Outcome {
  const rules = parseIptablesSave(readFileSync(join(dir, 'rules.iptables'), 'utf8'));
  const flowsDoc = load(join(dir, 'flows.yaml'));
  return summary(checkFlows(flowsDoc, iptablesTrace(tr, () => rules, (flowsDoc.localIPs as string[]) ?? [])));
}

/** The ruleset the engine writes for a kube-proxy (iptables) case, or undefined for other layouts. */
export function kubeProxyCaseRuleset(dir: string): Ruleset | undefined {
  if (!existsSync(join(dir, 'params.yaml')) || !existsSync(join(dir, 'input.yaml'))) return undefined;
  const params = load(join(dir, 'params.yaml'));
  if ((params.proxier as Doc | undefined)?.mode !== 'iptables') return undefined;
  return kubeProxyRuleset(readFileSync(join(dir, 'input.yaml'), 'utf8'), paramsOf(params));
}

/** IPVS mode: virtual servers, listed ipsets and listed chains (jump target + match-set only). */
function runIpvs(dir: string, params: Doc): Outcome {
  const px = params.proxier as Doc;
  const detector = px.localDetector as { mode?: string; clusterCIDR?: string } | string | undefined;
  const p: IpvsParams = {
    nodeName: String(px.nodeName),
    nodeIPs: ((px.nodeIPs as string[] | undefined) ?? []).map(String),
    nodePortAddresses: (px.nodePortAddresses as string[] | null | undefined) ?? null,
    clusterCIDR: typeof detector === 'object' && detector?.mode === 'ClusterCIDR' ? detector.clusterCIDR ?? null : null,
    masqueradeAll: px.masqueradeAll === true,
    masqueradeBit: 14,
    scheduler: String(px.scheduler ?? 'rr'),
    randomFully: false,
  };
  const snap = loadSnapshot(readFileSync(join(dir, 'input.yaml'), 'utf8'), 1, { apiDefaults: false });
  const state = kubeProxyIpvs(servicePortsOf(snap.topology), p);
  const exp = load(join(dir, 'expected.yaml'));
  const cmp = (exp.comparison ?? {}) as Record<string, string>;
  const problems: string[] = [];
  const ipvs = (exp.ipvs ?? {}) as { virtualServers?: Doc[]; virtualServerCount?: number };
  const vsKey = (v: { address: unknown; port: unknown; protocol: unknown }) => `${v.protocol} ${v.address}:${v.port}`;
  const rsText = (rs: { address: unknown; port: unknown; weight?: unknown }[], withWeight: boolean) => rs.map((r) => `${r.address}:${r.port}${withWeight ? `w${r.weight ?? 1}` : ''}`).join(',');
  const ours = new Map(state.virtualServers.map((v) => [vsKey(v), v] as [string, VirtualServer]));
  const expected = ipvs.virtualServers ?? [];
  if (cmp.ipvs === 'exact' && expected.length !== state.virtualServers.length) problems.push(`${state.virtualServers.length} virtual servers, want ${expected.length} (${[...ours.keys()].join('; ')})`);
  if (ipvs.virtualServerCount !== undefined && ipvs.virtualServerCount !== state.virtualServers.length) problems.push(`${state.virtualServers.length} virtual servers, want ${ipvs.virtualServerCount}`);
  for (const e of expected) {
    const v = ours.get(vsKey(e as never));
    if (!v) {
      problems.push(`no virtual server ${vsKey(e as never)}`);
      continue;
    }
    const exact = cmp.ipvs === 'exact';
    if (exact && (v.scheduler !== e.scheduler || v.flags !== (e.flags ?? 0) || v.timeout !== (e.timeout ?? 0))) problems.push(`${vsKey(v)}: scheduler/flags/timeout ${v.scheduler}/${v.flags}/${v.timeout}`);
    const want = rsText((e.realServers as Doc[]) as never, exact);
    const got = rsText(v.realServers, exact);
    if (want !== got) problems.push(`${vsKey(v)}: real servers ${got}, want ${want}`);
  }
  for (const [name, set] of Object.entries((exp.ipsets ?? {}) as Record<string, { type: string; entries: string[] }>)) {
    const ourSet = state.ipsets[name];
    if (!ourSet) problems.push(`no ipset ${name}`);
    else if (ourSet.type !== set.type || [...ourSet.entries].sort().join(' ') !== [...set.entries].sort().join(' ')) problems.push(`ipset ${name}: ${ourSet.type} [${ourSet.entries.join(' ')}], want ${set.type} [${set.entries.join(' ')}]`);
  }
  for (const [chainName, rules] of Object.entries((exp.iptables ?? {}) as Record<string, { jump: string; matchSet: string | null }[]>)) {
    const texts = (['nat', 'filter'] as const).flatMap((t) => state.ruleset.tables[t].find((c) => c.name === chainName)?.rules ?? []);
    const got = texts.map((r) => `${/-j (\S+)/.exec(r)?.[1]}/${/--match-set (\S+)/.exec(r)?.[1] ?? 'null'}`);
    const want = rules.map((r) => `${r.jump}/${r.matchSet ?? 'null'}`);
    if (got.join(' ') !== want.join(' ')) problems.push(`${chainName}: [${got.join(' ')}], want [${want.join(' ')}]`);
  }
  return problems.length ? { ok: false, detail: problems.join('; ') } : { ok: true, detail: 'IPVS state (simulated: IPVS is not in this kernel)' };
}

export function nftParamsOf(params: Doc): NftParams {
  const px = params.proxier as Doc;
  const detector = px.localDetector as { mode?: string; clusterCIDR?: string } | undefined;
  return {
    nodeName: String(px.nodeName),
    nodeIP: px.nodeIP ? String(px.nodeIP) : undefined,
    clusterCIDR: detector?.mode === 'ClusterCIDR' ? detector.clusterCIDR ?? null : null,
    serviceCIDR: String(px.serviceCIDRs ?? '172.30.0.0/16'),
    masqueradeAll: px.masqueradeAll === true,
    masqueradeBit: Math.log2(parseInt(String(px.masqueradeMark ?? '0x4000'), 16)),
    nodePortIPs: ((px.nodePortAddresses as string[] | undefined) ?? []).filter((c) => c.endsWith('/32')).map((c) => c.slice(0, -3)),
  };
}

/** The nftables statements the engine writes for a kube-proxy-nftables case. */
export function nftCaseRules(dir: string): string[] | undefined {
  if (!existsSync(join(dir, 'params.yaml')) || !existsSync(join(dir, 'input.yaml'))) return undefined;
  const params = load(join(dir, 'params.yaml'));
  if ((params.proxier as Doc | undefined)?.mode !== 'nftables') return undefined;
  const snap = loadSnapshot(readFileSync(join(dir, 'input.yaml'), 'utf8'), 1, { apiDefaults: false });
  return kubeProxyNftables(servicePortsOf(snap.topology), nftParamsOf(params));
}

function nftRulesFor(inputText: string, p: NftParams): string[] {
  const snap = loadSnapshot(inputText, 1, { apiDefaults: false });
  return kubeProxyNftables(servicePortsOf(snap.topology), p);
}

function runNftables(dir: string, tr: Tracers): Outcome {
  const params = load(join(dir, 'params.yaml'));
  const p = nftParamsOf(params);
  const outcomes: Outcome[] = [];
  if (existsSync(join(dir, 'expected.nft'))) {
    const ours = normalizeNft(nftCaseRules(dir)!);
    const expected = normalizeNft(readFileSync(join(dir, 'expected.nft'), 'utf8').split('\n'));
    outcomes.push(ours.join('\n') === expected.join('\n') ? { ok: true, detail: '' } : { ok: false, detail: `ruleset differs: ${diffLines(ours.join('\n'), expected.join('\n'))}` });
  }
  if (existsSync(join(dir, 'flows.yaml'))) {
    const flowsDoc = load(join(dir, 'flows.yaml'));
    const localIPs = ((params.tracer as Doc | undefined)?.localIPs as string[] | undefined) ?? [];
    const nftTrace = (lines: string[]): Trace => tr.nftables(lines, localIPs);
    const variants = flowsDoc.variants;
    if (flowsDoc.addresses && Array.isArray(variants)) {
      // IPv4 / IPv6 proxier variants (TestNodePorts): the IPv6 proxier's settings are ipv6Overrides.
      const px = params.proxier as Doc;
      const v6o = (px.ipv6Overrides ?? {}) as { nodeIP?: string; localDetector?: { clusterCIDR?: string }; serviceCIDRs?: string };
      const interfaces = Object.values((px.nodeInterfaces as Record<string, string[]> | undefined) ?? {}).flat().map((a) => a.split('/')[0]!);
      outcomes.push(
        ...familyFlows(flowsDoc, (v) => {
          const v6 = v.family === 'ipv6';
          const cidrs = ((v.nodePortAddresses ?? (px.nodePortAddresses as string[])) ?? []).filter((c) => c.includes(':') === v6);
          const pv: NftParams = {
            ...p,
            family: v6 ? 'ip6' : 'ip',
            nodeIP: v6 ? v6o.nodeIP : p.nodeIP,
            clusterCIDR: v6 ? v6o.localDetector?.clusterCIDR ?? null : p.clusterCIDR,
            serviceCIDR: v6 ? v6o.serviceCIDRs ?? p.serviceCIDR : p.serviceCIDR,
            nodePortIPs: interfaces.filter((a) => a.includes(':') === v6 && a !== '::1' && !a.startsWith('127.') && cidrs.some((c) => ipInCidr(a, c))),
          };
          const snap = loadSnapshot(readFileSync(join(dir, String(v.input)), 'utf8'), 1, { apiDefaults: false });
          return { trace: nftTrace(kubeProxyNftables(servicePortsOf(snap.topology, v6 ? 'IPv6' : 'IPv4'), pv)) };
        }),
      );
    } else if (Array.isArray(variants)) {
      // Per-variant input files; afterEndpointSliceDeleted: the same Service with its slices gone.
      for (const v of variants as Doc[]) {
        if (!v.input || !existsSync(join(dir, String(v.input)))) {
          outcomes.push({ ok: false, detail: `variant "${v.name}": per-family inputs (IPv6) are not modelled yet` });
          continue;
        }
        const text = readFileSync(join(dir, String(v.input)), 'utf8');
        outcomes.push(...checkFlows({ flows: v.flows }, nftTrace(nftRulesFor(text, p))).map((o) => (o.ok ? o : { ...o, detail: `[${v.name}] ${o.detail}` })));
        if (flowsDoc.afterEndpointSliceDeleted) {
          const without = text.split(/^---$/m).filter((d) => !/kind:\s*EndpointSlice/.test(d)).join('---\n');
          outcomes.push(...checkFlows({ flows: flowsDoc.afterEndpointSliceDeleted }, nftTrace(nftRulesFor(without, p))).map((o) => (o.ok ? o : { ...o, detail: `[${v.name}, slices deleted] ${o.detail}` })));
        }
      }
    } else if (variants) {
      const text = readFileSync(join(dir, 'input.yaml'), 'utf8');
      outcomes.push(...variantFlows(flowsDoc, (v) => nftTrace(nftRulesFor(text, { ...p, ...v }))));
    } else {
      outcomes.push(...checkFlows(flowsDoc, nftTrace(nftRulesFor(readFileSync(join(dir, 'input.yaml'), 'utf8'), p))));
    }
  }
  if (!outcomes.length) return { ok: false, detail: 'neither expected.nft nor flows.yaml' };
  return summary(outcomes);
}

/** One case's result from its checks: the failures' details, or how many passed (and were skipped). */
function summary(outcomes: Outcome[], note = ''): Outcome {
  const bad = outcomes.filter((o) => !o.ok);
  if (bad.length) return { ok: false, detail: bad.map((o) => o.detail).join('; ') };
  const skipped = outcomes.filter((o) => o.skipped).length;
  return { ok: true, detail: `${outcomes.length - skipped} check(s)${note}${skipped ? `, ${skipped} skipped` : ''}` };
}

export function runCase(dir: string, tr: Tracers = engineTracers): Outcome {
  const has = (f: string) => existsSync(join(dir, f));
  try {
    if (isIstioIptablesCase(dir)) return runIstioIptablesCase(dir);
    if (isMeshCasesDir(dir)) return runMeshCases(dir);
    if (isCndjp4Dir(dir)) return runCndjp4(dir);
    if (has('params.yaml')) {
      const params = load(join(dir, 'params.yaml'));
      if ((params.proxier as Doc | undefined)?.mode === 'nftables') return runNftables(dir, tr);
    }
    if (has('params.yaml') && has('input.yaml') && has('expected.yaml')) {
      const params = load(join(dir, 'params.yaml'));
      if ((params.proxier as Doc | undefined)?.mode === 'ipvs') return runIpvs(dir, params);
    }
    if (has('rules.iptables') && has('flows.yaml')) return runTracePacket(dir, tr);
    if (has('params.yaml') && (has('input.yaml') || has('input-ipv4.yaml'))) {
      const params = load(join(dir, 'params.yaml'));
      if ((params.proxier as Doc | undefined)?.mode === 'iptables') return runKubeProxy(dir, params, tr);
    }
    return { ok: false, detail: `layout not supported yet (${readdirSync(dir).join(', ')})` };
  } catch (e) {
    return { ok: false, detail: `error: ${e instanceof Error ? e.message : String(e)}` };
  }
}

