// Conformance cases of Istio's sidecar capture (../shared/conformance/istio-iptables, README
// section 6): params.yaml (source.repo istio/istio, the istio-iptables Config, for cni-* also the
// pod's annotations) + expected.iptables (the upstream golden) + flows.yaml (packets and their
// capture result). Checked: the generated text against the golden with the comparison the case
// names (command-log: whole text; iptables-restore: per table), for cni-* the Config the plugin
// derives from the annotations, and every flow walked through the rules.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { captureCommandLog, captureRestore, sidecarCaptureConfig, zeroCaptureConfig, type IstioCaptureConfig, type SidecarPodInfo } from '../engine/istio/captureRules.ts';
import { captureRulesets, walkPodFlow, type PodFlow, type PodInterfaces } from '../engine/istio/captureWalk.ts';

type Doc = Record<string, unknown>;
export interface IstioCaseOutcome { ok: boolean; detail: string }

const load = (file: string) => (yaml.load(readFileSync(file, 'utf8')) ?? {}) as Doc;

/** The layout: params.yaml naming istio/istio as its source, expected.iptables and (optional) flows.yaml. */
export function isIstioIptablesCase(dir: string): boolean {
  const has = (f: string) => existsSync(join(dir, f));
  if (!has('params.yaml') || !has('expected.iptables')) return false;
  return (load(join(dir, 'params.yaml')).source as Doc | undefined)?.repo === 'istio/istio';
}

/** params.yaml `config` over Go zero values (a field the file leaves out keeps its zero value). */
function configOf(params: Doc): IstioCaptureConfig {
  const cfg: IstioCaptureConfig = zeroCaptureConfig();
  const given = (params.config ?? {}) as Record<string, unknown>;
  const fields = cfg as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(given)) {
    if (!(k in fields)) throw new Error(`params.yaml config: unknown field ${k}`);
    const zero = fields[k];
    fields[k] = Array.isArray(zero) ? ((v as unknown[] | null) ?? []).map(String) : typeof zero === 'boolean' ? v === true : String(v ?? '');
  }
  return cfg;
}

/**
 * getRules() of cni/pkg/plugin/plugin_dryrun_test.go: the text split at COMMIT, each part trimmed
 * of newlines and keyed by its "* <table>" line (the save command lines dropped first, as the
 * case's comparison rule states); the lines themselves compared exactly.
 */
function rulesByTable(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const chunk of text.split('COMMIT')) {
    const lines = chunk.replace(/^\n+|\n+$/g, '').split('\n').filter((l) => l !== 'iptables-save' && l !== 'ip6tables-save');
    if (lines[0]?.startsWith('* ')) out.set(lines[0].slice(2), [...lines, 'COMMIT'].join('\n'));
  }
  return out;
}

function firstDifference(ours: string, expected: string): string {
  const a = ours.split('\n');
  const b = expected.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}: got ${JSON.stringify(a[i] ?? '(end)')}, want ${JSON.stringify(b[i] ?? '(end)')}`;
  }
  return 'same text';
}

function compareText(params: Doc, cfg: IstioCaptureConfig, expected: string): IstioCaseOutcome {
  const exp = (params.expected ?? {}) as Doc;
  const format = String(exp.format ?? 'command-log');
  if (format === 'command-log') {
    const ours = captureCommandLog(cfg).trim();
    const want = expected.trim();
    return ours === want ? { ok: true, detail: '' } : { ok: false, detail: `command log differs: ${firstDifference(ours, want)}` };
  }
  if (format === 'iptables-restore') {
    // The plugin's dry run holds the IPv4 input (the golden was recorded without IPv6).
    const ours = rulesByTable(captureRestore(cfg).ipv4);
    const want = rulesByTable(expected);
    const problems: string[] = [];
    for (const t of new Set([...ours.keys(), ...want.keys()])) {
      const a = ours.get(t);
      const b = want.get(t);
      if (a === undefined) problems.push(`table ${t} missing`);
      else if (b === undefined) problems.push(`unexpected table ${t}`);
      else if (a !== b) problems.push(`table ${t}: ${firstDifference(a, b)}`);
    }
    return problems.length ? { ok: false, detail: problems.join('; ') } : { ok: true, detail: '' };
  }
  return { ok: false, detail: `expected.format ${format} not supported` };
}

/**
 * The pod of a cni-* case: annotations, the istio-proxy environment and, when the case sets them,
 * the istio-proxy securityContext's runAsUser / runAsGroup (custom-uid cases).
 */
function podInfo(pod: Doc): SidecarPodInfo {
  const sc = (pod.istio_proxy_security_context ?? pod.istio_proxy_securityContext ?? pod.security_context ?? pod.securityContext ?? {}) as Doc;
  const num = (...vs: unknown[]) => {
    const v = vs.find((x) => x !== undefined && x !== null);
    return v === undefined ? undefined : Number(v);
  };
  return {
    annotations: (pod.annotations ?? {}) as Record<string, string>,
    proxyEnv: Object.fromEntries(Object.entries((pod.istio_proxy_env ?? {}) as Doc).map(([k, v]) => [k, String(v)])),
    proxyUID: num(sc.runAsUser, pod.run_as_user, pod.runAsUser, pod.proxy_uid, pod.custom_uid),
    proxyGID: num(sc.runAsGroup, pod.run_as_group, pod.runAsGroup, pod.proxy_gid, pod.custom_gid),
  };
}

/** The CNI plugin's Config from the pod (sidecar_redirect.go) against the case's stated Config. */
function compareCniConfig(params: Doc, stated: IstioCaptureConfig): IstioCaseOutcome {
  const ours = sidecarCaptureConfig(podInfo(params.pod as Doc));
  const given = Object.keys((params.config ?? {}) as Doc);
  // DryRun follows DRY_RUN_FILE_PATH of the test, not the pod.
  const diffs = given
    .filter((k) => k !== 'DryRun')
    .filter((k) => JSON.stringify((ours as unknown as Doc)[k]) !== JSON.stringify((stated as unknown as Doc)[k]))
    .map((k) => `${k} ${JSON.stringify((ours as unknown as Doc)[k])}, want ${JSON.stringify((stated as unknown as Doc)[k])}`);
  return diffs.length ? { ok: false, detail: `config from annotations: ${diffs.join('; ')}` } : { ok: true, detail: '' };
}

/** conventions.pod: { eth0: 10.244.1.5/24, eth0_ipv6: fd00:…/64 } → interface addresses, plus lo. */
function interfacesOf(flowsDoc: Doc): PodInterfaces {
  const pod = ((flowsDoc.conventions as Doc | undefined)?.pod ?? {}) as Record<string, string>;
  const out: PodInterfaces = { lo: ['127.0.0.1', '::1'] };
  for (const [key, cidr] of Object.entries(pod)) {
    const iface = key.replace(/_ipv[46]$/, '');
    (out[iface] ??= []).push(String(cidr).split('/')[0]!);
  }
  return out;
}

function checkFlows(flowsDoc: Doc, cfg: IstioCaptureConfig): IstioCaseOutcome[] {
  const flows = flowsDoc.flows as Doc[] | undefined;
  if (!Array.isArray(flows)) return [{ ok: false, detail: 'flows.yaml has no flows' }];
  const rulesets = captureRulesets(cfg);
  const interfaces = interfacesOf(flowsDoc);
  return flows.map((f) => {
    const flow: PodFlow = {
      direction: f.direction === 'inbound' ? 'inbound' : 'outbound',
      proto: f.proto === 'udp' ? 'udp' : 'tcp',
      src: String(f.src),
      dst: String(f.dst),
      sport: f.sport === undefined ? undefined : Number(f.sport),
      dport: Number(f.dport),
      iif: f.iif === undefined ? undefined : String(f.iif),
      oif: f.oif === undefined ? undefined : String(f.oif),
      uid: f.uid === undefined ? undefined : Number(f.uid),
      gid: f.gid === undefined ? undefined : Number(f.gid),
      ctstate: f.ctstate === undefined ? undefined : (String(f.ctstate) as PodFlow['ctstate']),
    };
    const got = walkPodFlow(rulesets, flow, interfaces);
    const want = {
      result: String(f.result),
      toPort: f.to_port === undefined ? undefined : Number(f.to_port),
      captured: f.captured === true,
      setsMark: f.sets_mark === undefined ? undefined : String(f.sets_mark),
    };
    const ours: typeof want = { result: got.result, toPort: got.toPort, captured: got.captured, setsMark: got.setsMark === undefined ? undefined : String(got.setsMark) };
    const ok = ours.result === want.result && ours.toPort === want.toPort && ours.captured === want.captured && ours.setsMark === want.setsMark;
    if (ok) return { ok, detail: '' };
    const show = (o: typeof want) => `${o.result}${o.toPort !== undefined ? ` to ${o.toPort}` : ''} captured=${o.captured}${o.setsMark !== undefined ? ` mark ${o.setsMark}` : ''}`;
    const path = got.walk.steps.filter((s) => s.matched).map((s) => `${s.table} ${s.text} → ${s.effect}`).join(' | ');
    return { ok, detail: `flow "${String(f.name)}": got ${show(ours)}, want ${show(want)} (matched: ${path || 'nothing'})` };
  });
}

/**
 * The Config a case's rules come from: params.yaml's stated Config, or for a cni-* case what the
 * plugin derives from the pod (DryRun has no effect on the rules). The kernel check uses it too.
 */
export function caseCaptureConfig(params: Record<string, unknown>): IstioCaptureConfig {
  const stated = configOf(params);
  return params.pod ? { ...sidecarCaptureConfig(podInfo(params.pod as Doc)), DryRun: stated.DryRun } : stated;
}

export function runIstioIptablesCase(dir: string): IstioCaseOutcome {
  const params = load(join(dir, 'params.yaml'));
  const stated = configOf(params);
  const outcomes: IstioCaseOutcome[] = [];
  if (params.pod) outcomes.push(compareCniConfig(params, stated));
  const cfg = caseCaptureConfig(params);
  outcomes.push(compareText(params, cfg, readFileSync(join(dir, 'expected.iptables'), 'utf8')));
  // flows.yaml is optional: a case may carry only the golden text.
  const flowsFile = join(dir, 'flows.yaml');
  const flows = existsSync(flowsFile) ? checkFlows(load(flowsFile), cfg) : [];
  outcomes.push(...flows);
  const bad = outcomes.filter((o) => !o.ok);
  if (bad.length) return { ok: false, detail: bad.map((o) => o.detail).join('; ') };
  return { ok: true, detail: `rules identical to the golden (${String((params.expected as Doc | undefined)?.format)}), ${flows.length} flow(s)${params.pod ? ', config from annotations' : ''}` };
}
