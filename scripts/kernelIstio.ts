// The Linux kernel as the judge of Istio's sidecar capture rules (section "istio" of
// scripts/kernel-check.ts). For every case of ../shared/conformance/istio-iptables (found by layout,
// as the conformance runner finds them), with the case's Config built as
// src/cli/istioIptablesCases.ts builds it, in a pod-like network namespace of its own
// (kernelIstioLab.ts):
// 1. Load (kernelIstioRuleOrder.ts): the engine's restore input and routing commands are applied
//    as istio-iptables applies them; the kernel must accept them, and iptables-save must hold the
//    engine's chains rule for rule, in order.
// 2. Flows (kernelIstioFlows.ts): every flow of flows.yaml is sent for real; the kernel's outcome,
//    read from its own records (kernelIstioOutcome.ts), and the rules it counted must equal the
//    engine's walk of the same packet, and the outcome flows.yaml expects. Flows that cannot be
//    reproduced are SKIPPED with the reason and counted, never passed.
// Only namespaces made here carry traffic; each case's namespaces and processes are removed when it
// ends, also on failure, and on exit. Every command runs with a time limit.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import yaml from 'js-yaml';
import { findCases } from '../src/cli/conformanceRunner.ts';
import { caseCaptureConfig, isIstioIptablesCase } from '../src/cli/istioIptablesCases.ts';
import type { IstioCaptureConfig } from '../src/engine/istio/captureRules.ts';
import { captureRulesets, type PodInterfaces } from '../src/engine/istio/captureWalk.ts';
import { replayFlows } from './kernelIstioFlows.ts';
import { isV6, Lab, podLab, stderrOf, writeHelperPrograms, type HelperPrograms } from './kernelIstioLab.ts';
import { flowsOf } from './kernelIstioOutcome.ts';
import { loadCaptureRules } from './kernelIstioRuleOrder.ts';

type Doc = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// The case: its Config exactly as the conformance runner builds it (caseCaptureConfig).

const load = (file: string) => (yaml.load(readFileSync(file, 'utf8')) ?? {}) as Doc;
const caseConfig = (params: Doc): IstioCaptureConfig => caseCaptureConfig(params);

/** conventions.pod ({ eth0: 10.244.1.5/24, eth0_ipv6: fd00:…/64 }) → interface → CIDRs. */
function podCidrs(doc: Doc): Map<string, string[]> {
  const pod = ((doc.conventions as Doc | undefined)?.pod ?? {}) as Record<string, string>;
  const out = new Map<string, string[]>();
  for (const [key, cidr] of Object.entries(pod)) {
    const iface = key.replace(/_ipv[46]$/, '');
    out.set(iface, [...(out.get(iface) ?? []), String(cidr)]);
  }
  return out;
}

function identity(doc: Doc, who: string): { uid: number; gid: number } {
  const id = (((doc.conventions as Doc | undefined)?.identities ?? {}) as Record<string, { uid?: number; gid?: number }>)[who];
  return { uid: Number(id?.uid ?? 1000), gid: Number(id?.gid ?? id?.uid ?? 1000) };
}

export interface IstioKernelSummary {
  failures: number;
  skipped: number;
}

/**
 * Section "istio" of kernel-check: every case under `root`. `fail` prints and counts a failure.
 */
export async function kernelIstio(root: string, tag: string, fail: (msg: string) => void): Promise<IstioKernelSummary> {
  const started = Date.now();
  const tmp = mkdtempSync(join(tmpdir(), 'pp-istio-'));
  chmodSync(tmp, 0o755); // the senders run as the flows' uids
  const removeTmp = () => rmSync(tmp, { recursive: true, force: true });
  process.on('exit', removeTmp);
  const files = writeHelperPrograms(tmp);
  const onSignal = () => process.exit(130); // the exit handlers remove namespaces and processes
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let failures = 0;
  const failed = (msg: string) => {
    failures++;
    fail(msg);
  };
  const skipReasons = new Map<string, number>();
  let cases = 0;
  let flowsTotal = 0;
  let agreedTotal = 0;
  try {
    let dirs: string[] = [];
    try {
      dirs = findCases(root).filter(isIstioIptablesCase);
    } catch (e) {
      failed(`kernel istio: cannot read the cases under ${root}: ${stderrOf(e)}`);
    }
    if (!dirs.length) failed(`kernel istio: no case found under ${root}`);
    for (const [ci, dir] of dirs.entries()) {
      cases++;
      try {
        const r = await runCase(dir, `${tag}${ci}`, files, failed, (reason) => skipReasons.set(reason, (skipReasons.get(reason) ?? 0) + 1));
        flowsTotal += r.flows;
        agreedTotal += r.agreed;
      } catch (e) {
        // The case's own files (params.yaml, flows.yaml) or the engine could not be read.
        failed(`kernel istio ${basename(dir)}: ${stderrOf(e)}`);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', removeTmp);
    removeTmp();
  }
  const skipped = [...skipReasons.values()].reduce((a, b) => a + b, 0);
  const reasons = [...skipReasons].map(([r, n]) => `${n}× ${r}`).join('; ');
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`kernel istio: ${cases} cases, ${flowsTotal} flows: ${agreedTotal} agree (kernel = engine = flows.yaml), ${skipped} skipped${skipped ? ` (${reasons})` : ''}, ${failures} failure(s); ${secs} s`);
  return { failures, skipped };
}

async function runCase(dir: string, tag: string, files: HelperPrograms, fail: (msg: string) => void, skip: (reason: string) => void): Promise<{ flows: number; agreed: number }> {
  const name = basename(dir);
  const label = `kernel istio ${name}`;
  const params = load(join(dir, 'params.yaml'));
  const flowsDoc = load(join(dir, 'flows.yaml'));
  const flows = flowsOf(flowsDoc);
  const cfg = caseConfig(params);
  const rulesets = captureRulesets(cfg);
  const cidrs = podCidrs(flowsDoc);
  const app = identity(flowsDoc, 'app');
  // The interfaces the walker knows (as istioIptablesCases.ts gives them).
  const interfaces: PodInterfaces = { lo: ['127.0.0.1', '::1'] };
  for (const [iface, list] of cidrs) (interfaces[iface] ??= []).push(...list.map((c) => c.split('/')[0]!));
  const wantV6 = cfg.EnableIPv6 || [...cidrs.values()].flat().some(isV6) || flows.some((f) => isV6(f.dst));

  const lab = new Lab();
  const tally = { agreed: 0 };
  try {
    const { pod, behind } = podLab(lab, tag, cidrs, flows, wantV6);
    const saved = loadCaptureRules(lab, pod, tag, cfg, rulesets, label, fail);
    if (!saved) return { flows: flows.length, agreed: 0 };
    return await replayFlows({ lab, pod, behind, files, label, cfg, rulesets, interfaces, cidrs, app, flows, saved, fail, skip, tally });
  } catch (e) {
    fail(`${label}: ${stderrOf(e)}`);
    return { flows: flows.length, agreed: tally.agreed };
  } finally {
    lab.close();
  }
}
