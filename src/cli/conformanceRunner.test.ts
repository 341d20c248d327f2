// Every single-family (IPv4) kube-proxy iptables case of ../shared/conformance passes: dumps after
// kube-proxy's normalisation, and flows through kube-proxy's own tracer semantics. Cases with
// per-family inputs need IPv6, which the engine does not model yet (issue 4).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRoot, findCases, runCase } from './conformanceRunner.ts';

const cases = findCases(join(defaultRoot, 'kube-proxy')).filter((dir) => existsSync(join(dir, 'input.yaml')) || existsSync(join(dir, 'rules.iptables')));

describe('kube-proxy iptables conformance (IPv4 cases)', () => {
  it('finds the cases', () => expect(cases.length).toBeGreaterThanOrEqual(15));
  it.each(cases.map((c) => [c.slice(defaultRoot.length + 1), c]))('%s', (_name, dir) => {
    const r = runCase(dir);
    expect(r.detail, r.detail).not.toMatch(/^(dump differs|flow|error)/);
    expect(r.ok).toBe(true);
  });
});
