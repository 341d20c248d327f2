// Every kube-proxy case of ../shared/conformance (iptables, nftables, IPVS) passes through the
// runner: dumps after kube-proxy's normalisation, flows through kube-proxy's own tracer semantics.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRoot, findCases, runCase } from './conformanceRunner.ts';

const cases = findCases(join(defaultRoot, 'kube-proxy'));

describe('kube-proxy iptables conformance (dumps, flows; IPv4 and IPv6)', () => {
  it('finds the cases', () => expect(cases.length).toBeGreaterThanOrEqual(16));
  it.each(cases.map((c) => [c.slice(defaultRoot.length + 1), c]))('%s', (_name, dir) => {
    const r = runCase(dir);
    expect(r.detail, r.detail).not.toMatch(/^(dump differs|flow|error)/);
    expect(r.ok).toBe(true);
  });
});

describe('kube-proxy IPVS conformance (simulated mode)', () => {
  const ipvsCases = findCases(join(defaultRoot, 'kube-proxy-ipvs'));
  it.each(ipvsCases.map((c) => [c.slice(defaultRoot.length + 1), c]))('%s', (_name, dir) => {
    const r = runCase(dir);
    expect(r.ok, r.detail).toBe(true);
  });

  it('fails a case whose expectation differs (the runner can fail)', () => {
    const src = ipvsCases.find((c) => c.endsWith('node-port-udp'))!;
    const tmp = mkdtempSync(join(tmpdir(), 'podpath-conf-'));
    for (const f of readdirSync(src)) copyFileSync(join(src, f), join(tmp, f));
    writeFileSync(join(tmp, 'expected.yaml'), readFileSync(join(tmp, 'expected.yaml'), 'utf8').replace('scheduler: rr', 'scheduler: wrr'));
    const r = runCase(tmp);
    rmSync(tmp, { recursive: true, force: true });
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/scheduler/);
  });
});

describe('kube-proxy nftables conformance (rulesets and flows; IPv4 and IPv6)', () => {
  const nftCases = findCases(join(defaultRoot, 'kube-proxy-nftables'));
  it('finds the cases', () => expect(nftCases.length).toBeGreaterThanOrEqual(13));
  it.each(nftCases.map((c) => [c.slice(defaultRoot.length + 1), c]))('%s', (_name, dir) => {
    const r = runCase(dir);
    expect(r.ok, r.detail).toBe(true);
  });
});
