import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isIstioIptablesCase, runIstioIptablesCase } from '../../cli/istioIptablesCases.ts';
import { restoreNoflush } from '../dataplane/netfilter.ts';
import { captureCommandLog, captureRestore, captureRouteCommands, captureRules, cniRestore, defaultCaptureConfig, sidecarCaptureConfig, type IstioCaptureConfig } from './captureRules.ts';
import { captureRulesets, walkPodFlow, type PodFlow } from './captureWalk.ts';
import { formatPrefix, parsePrefix } from './netip.ts';

const POD = { eth0: ['10.244.1.5', 'fd00:10:244:1::5'], lo: ['127.0.0.1', '::1'] };
const app = { uid: 1000, gid: 1000 };
const proxy = { uid: 1337, gid: 1337 };
const inbound = (dport: number, extra: Partial<PodFlow> = {}): PodFlow => ({ direction: 'inbound', proto: 'tcp', iif: 'eth0', src: '10.244.2.7', dst: '10.244.1.5', dport, ...extra });
const outbound = (dst: string, dport: number, who: { uid: number; gid: number }, extra: Partial<PodFlow> = {}): PodFlow => ({ direction: 'outbound', proto: 'tcp', oif: 'eth0', src: '10.244.1.5', dst, dport, ...who, ...extra });
/** The istio-iptables test's base config (run_test.go constructTestConfig). */
const testConfig = (over: Partial<IstioCaptureConfig>): IstioCaptureConfig => ({ ...defaultCaptureConfig(), ProxyUID: '1337', ProxyGID: '1337', ...over });

describe('CNI sidecar capture (sidecar_redirect.go defaults)', () => {
  const cfg = sidecarCaptureConfig({ annotations: { 'sidecar.istio.io/status': '{}' } });

  it('derives the plugin defaults from a pod without traffic annotations', () => {
    expect(cfg.InboundPortsInclude).toBe('*');
    expect(cfg.InboundPortsExclude).toBe('15020,15021,15090');
    expect(cfg.OutboundIPRangesInclude).toBe('*');
    expect(cfg.OutboundPortsExclude).toBe('15020');
    expect([cfg.ProxyUID, cfg.ProxyGID, cfg.InboundInterceptionMode]).toEqual(['1337', '1337', 'REDIRECT']);
  });

  it('writes inbound exclusions before the catch-all and the outbound 15020 exclusion first', () => {
    const lines = cniRestore(cfg).split('\n');
    const at = (l: string) => lines.indexOf(l);
    expect(lines[0]).toBe('* nat');
    expect(at('-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN')).toBeLessThan(at('-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT'));
    expect(lines.find((l) => l.startsWith('-A ISTIO_OUTPUT'))).toBe('-A ISTIO_OUTPUT -p tcp --dport 15020 -j RETURN');
    expect(lines.at(-3)).toBe('-A ISTIO_OUTPUT -j ISTIO_REDIRECT');
    expect(lines.at(-2)).toBe('COMMIT');
  });

  it('captures app traffic both ways and leaves Envoy and the excluded ports alone', () => {
    const rs = captureRulesets(cfg);
    const walk = (f: PodFlow) => walkPodFlow(rs, f, POD);
    expect(walk(inbound(8080))).toMatchObject({ result: 'REDIRECT', toPort: 15006, captured: true });
    expect(walk(inbound(15021))).toMatchObject({ result: 'RETURN', captured: false });
    expect(walk(inbound(5353, { proto: 'udp' }))).toMatchObject({ result: 'ACCEPT', captured: false });
    expect(walk(outbound('10.96.12.34', 80, app))).toMatchObject({ result: 'REDIRECT', toPort: 15001 });
    expect(walk(outbound('10.96.12.34', 80, proxy))).toMatchObject({ result: 'RETURN' });
    expect(walk(outbound('10.244.1.5', 8080, proxy, { oif: 'lo' }))).toMatchObject({ result: 'REDIRECT', toPort: 15006 });
    expect(walk(outbound('10.96.0.10', 53, app, { proto: 'udp' }))).toMatchObject({ result: 'ACCEPT', captured: false });
  });

  it('turns DNS capture on with capture-all from the proxy environment', () => {
    const dns = sidecarCaptureConfig({ annotations: {}, proxyEnv: { ISTIO_META_DNS_CAPTURE: 'true' } });
    expect([dns.RedirectDNS, dns.CaptureAllDNS]).toEqual([true, true]);
    expect(walkPodFlow(captureRulesets(dns), outbound('8.8.8.8', 53, app, { proto: 'udp' }), POD)).toMatchObject({ result: 'REDIRECT', toPort: 15053 });
    expect(sidecarCaptureConfig({ annotations: {}, proxyEnv: { ISTIO_META_DNS_CAPTURE: 'yes' } }).RedirectDNS).toBe(false);
  });
});

describe('include / exclude annotations', () => {
  const cfg = sidecarCaptureConfig({
    annotations: {
      'traffic.sidecar.istio.io/includeInboundPorts': '1111',
      'traffic.sidecar.istio.io/excludeInboundPorts': '3333',
      'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.96.0.0/12,fd00::/8',
      'traffic.sidecar.istio.io/excludeOutboundIPRanges': '10.96.0.10/32',
    },
  });

  it('uses inbound exclusions only with the wildcard and orders outbound exclusions first', () => {
    expect(cfg.InboundPortsExclude).toBe('3333,15020,15021,15090');
    const text = cniRestore(cfg);
    expect(text).toContain('-A ISTIO_INBOUND -p tcp --dport 1111 -j ISTIO_IN_REDIRECT\n');
    expect(text).not.toContain('--dport 3333');
    expect(text).toContain('-A ISTIO_OUTPUT -d 10.96.0.10/32 -j RETURN\n-A ISTIO_OUTPUT -d 10.96.0.0/12 -j ISTIO_REDIRECT\nCOMMIT');
    // The IPv6 range goes only to ip6tables, which is off for an IPv4 pod.
    expect(text).not.toContain('fd00');
    expect(captureRestore(cfg).ipv6).toBe('');
  });

  it('walks the ranges', () => {
    const rs = captureRulesets(cfg);
    expect(walkPodFlow(rs, outbound('10.96.12.34', 80, app), POD)).toMatchObject({ result: 'REDIRECT', toPort: 15001 });
    expect(walkPodFlow(rs, outbound('10.96.0.10', 53, app), POD)).toMatchObject({ result: 'RETURN' });
    expect(walkPodFlow(rs, outbound('93.184.216.34', 443, app), POD)).toMatchObject({ result: 'ACCEPT', captured: false });
    expect(walkPodFlow(rs, inbound(3333), POD)).toMatchObject({ result: 'ACCEPT', captured: false });
  });

  it('rejects invalid annotations as the plugin does', () => {
    expect(() => sidecarCaptureConfig({ annotations: { 'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.0.0.1' } })).toThrow(/includeOutboundIPRanges/);
    expect(() => sidecarCaptureConfig({ annotations: { 'sidecar.istio.io/interceptionMode': 'NONE' } })).toThrow(/interceptionMode/);
  });

  it('refuses a wildcard outbound exclusion and skips unparsable ranges (run.go)', () => {
    expect(() => captureRules(testConfig({ OutboundIPRangesExclude: '*' }))).toThrow(/OUTBOUND_IP_RANGES_EXCLUDE/);
    expect(cniRestore(testConfig({ OutboundIPRangesInclude: '10.0.0.1,10.1.0.0/16' }))).toContain('-A ISTIO_OUTPUT -d 10.1.0.0/16 -j ISTIO_REDIRECT\nCOMMIT');
    expect(cniRestore(testConfig({ OutboundIPRangesInclude: '10.0.0.1,10.1.0.0/16' }))).not.toContain('10.0.0.1');
  });
});

describe('TPROXY inbound mode', () => {
  const cfg = testConfig({ InboundInterceptionMode: 'TPROXY', InboundPortsInclude: '*', InboundPortsExclude: '15090' });

  it('applies the three -I inserts on top of mangle ISTIO_INBOUND', () => {
    const chain = restoreNoflush(captureRestore(cfg).ipv4).tables.mangle!.find((c) => c.name === 'ISTIO_INBOUND')!;
    expect(chain.rules).toEqual([
      '-p tcp -m mark --mark 1337 -j RETURN',
      '-p tcp -s 127.0.0.6/32 -i lo -j RETURN',
      '-p tcp -i lo -m mark ! --mark 1338 -j RETURN',
      '-p tcp --dport 15090 -j RETURN',
      '-p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT',
      '-p tcp -j ISTIO_TPROXY',
    ]);
  });

  it('needs the policy route for the TPROXY mark (not part of the restore input)', () => {
    expect(captureRouteCommands(cfg)).toEqual(['ip -4 rule add fwmark 1337 lookup 133', 'ip -4 route add local 0.0.0.0/0 dev lo table 133']);
    expect(captureRouteCommands({ ...cfg, InboundInterceptionMode: 'REDIRECT' })).toEqual([]);
  });

  it('diverts established packets, tproxies new ones, lets marked Envoy traffic through', () => {
    const rs = captureRulesets(cfg);
    expect(walkPodFlow(rs, inbound(8080), POD)).toMatchObject({ result: 'TPROXY', toPort: 15006, captured: true });
    expect(walkPodFlow(rs, inbound(8080, { ctstate: 'ESTABLISHED' }), POD)).toMatchObject({ result: 'ACCEPT', captured: true, setsMark: 1337 });
    expect(walkPodFlow(rs, inbound(15090), POD)).toMatchObject({ result: 'RETURN', captured: false });
    expect(walkPodFlow(rs, inbound(8080, { iif: 'lo', src: '10.244.1.5' }), POD)).toMatchObject({ result: 'RETURN' });
    expect(walkPodFlow(rs, inbound(8080, { iif: 'lo', src: '10.244.1.5', mark: 1338 }), POD)).toMatchObject({ result: 'TPROXY', toPort: 15006 });
    // Envoy's own call to its pod IP: mangle OUTPUT marks it 1338, nat sends it to the inbound listener.
    const self = walkPodFlow(rs, outbound('10.244.1.5', 8080, proxy, { oif: 'lo' }), POD);
    expect(self).toMatchObject({ result: 'REDIRECT', toPort: 15006 });
    expect(self.walk.packet.mark).toBe(1338);
  });
});

describe('IPv6 rule set', () => {
  const cfg = testConfig({ EnableIPv6: true, InboundPortsInclude: '8080', OutboundIPRangesExclude: '2001:DB8:0:0::/32,1.1.0.0/16', OutboundIPRangesInclude: '*', RedirectDNS: true, DNSServersV6: ['fd00::a'] });

  it('writes a second block with ::6/128 and ::1/128, IPv6 ranges in canonical form', () => {
    const { ipv4, ipv6 } = captureRestore(cfg);
    expect(ipv6).toContain('-A ISTIO_OUTPUT -o lo -s ::6/128 -j RETURN');
    expect(ipv6).toContain('-A ISTIO_OUTPUT -d ::1/128 -j RETURN\n-A ISTIO_OUTPUT -d 2001:db8::/32 -j RETURN\n-A ISTIO_OUTPUT -j ISTIO_REDIRECT');
    expect(ipv6).toContain('-A ISTIO_OUTPUT_DNS -p udp --dport 53 -d fd00::a/128 -j REDIRECT --to-port 15053');
    expect(ipv6).not.toContain('1.1.0.0/16');
    // IPv4 has no resolver: no nat jump to ISTIO_OUTPUT_DNS there, and no raw PREROUTING jump.
    expect(ipv4).not.toContain('-A ISTIO_OUTPUT -j ISTIO_OUTPUT_DNS');
    expect(ipv4).not.toContain('-A PREROUTING -j ISTIO_INBOUND');
    expect(ipv4).toContain('-A ISTIO_OUTPUT -d 1.1.0.0/16 -j RETURN');
    const log = captureCommandLog(cfg).split('\n');
    expect(log.slice(0, 2)).toEqual(['iptables-save', 'ip6tables-save']);
    expect(log.slice(-2)).toEqual(['iptables-save', 'ip6tables-save']);
    expect(log.filter((l) => l === '* nat')).toHaveLength(2);
  });

  it('walks IPv6 packets through the ip6tables rules', () => {
    const rs = captureRulesets(cfg);
    const v6 = { src: 'fd00:10:244:1::5' };
    expect(walkPodFlow(rs, outbound('2001:db8::1', 443, app, v6), POD)).toMatchObject({ result: 'RETURN' });
    expect(walkPodFlow(rs, outbound('2606:4700::1', 443, app, v6), POD)).toMatchObject({ result: 'REDIRECT', toPort: 15001 });
    expect(walkPodFlow(rs, outbound('fd00::a', 53, app, { ...v6, proto: 'udp' }), POD)).toMatchObject({ result: 'REDIRECT', toPort: 15053 });
    expect(walkPodFlow(rs, inbound(8080, { src: 'fd00:10:244:2::7', dst: 'fd00:10:244:1::5' }), POD)).toMatchObject({ result: 'REDIRECT', toPort: 15006 });
  });

  it('is absent without EnableIPv6: IPv6 packets meet no Istio rule', () => {
    const rs = captureRulesets({ ...cfg, EnableIPv6: false });
    expect(walkPodFlow(rs, outbound('2606:4700::1', 443, app, { src: 'fd00:10:244:1::5' }), POD)).toMatchObject({ result: 'ACCEPT', captured: false });
  });
});

describe('virtual interfaces and restore semantics', () => {
  it('puts the last -I PREROUTING 1 first', () => {
    const rs = restoreNoflush(captureRestore(testConfig({ RerouteVirtualInterfaces: 'eth1,eth2', OutboundIPRangesInclude: '*' })).ipv4);
    expect(rs.tables.nat.find((c) => c.name === 'PREROUTING')!.rules).toEqual(['-i eth2 -j ISTIO_REDIRECT', '-i eth1 -j ISTIO_REDIRECT', '-i eth2 -j RETURN', '-i eth1 -j RETURN']);
  });

  it('fails where iptables-restore fails', () => {
    expect(() => restoreNoflush('* nat\n-I PREROUTING 2 -j RETURN\nCOMMIT\n')).toThrow(/index of insertion/);
    expect(() => restoreNoflush('* nat\n-A NOPE -j RETURN\nCOMMIT\n')).toThrow(/no chain NOPE/);
    expect(() => restoreNoflush('* mangle\n-N X\n-N X\nCOMMIT\n')).toThrow(/already exists/);
  });
});

describe('netip', () => {
  it('prints prefixes as Go does', () => {
    const p = (s: string) => { const x = parsePrefix(s); return x && formatPrefix(x); };
    expect(p('9.9.1.1/16')).toBe('9.9.1.1/16');
    expect(p('2001:0DB8:0000:0000:0:0:0:1/64')).toBe('2001:db8::1/64');
    expect(p('::ffff:10.0.0.1/128')).toBe('::ffff:10.0.0.1/128');
    expect(p('1:0:0:2:0:0:0:3/128')).toBe('1:0:0:2::3/128');
    expect(p('010.0.0.1/8')).toBeUndefined();
    expect(p('10.0.0.1')).toBeUndefined();
    expect(p('10.0.0.1/33')).toBeUndefined();
  });
});

describe('TestIptables/tproxy shape: TPROXY + DNS to an IPv4 resolver + excluded NIC + IPv6 (run.go Run, SetupDNSRedir)', () => {
  const cfg = testConfig({
    InboundInterceptionMode: 'TPROXY', InboundPortsInclude: '*', OutboundIPRangesExclude: '1.1.0.0/16', OutboundIPRangesInclude: '9.9.0.0/16',
    RedirectDNS: true, DNSServersV4: ['127.0.0.53'], ExcludeInterfaces: 'not-istio-nic', EnableIPv6: true,
  });
  const { ipv4, ipv6 } = captureRestore(cfg);
  const block = (text: string, table: string) => text.split('COMMIT\n').find((b) => b.startsWith(`* ${table}\n`))!.split('\n');

  it('returns the excluded NIC first in nat and in mangle, in both families (shortCircuitExcludeInterfaces)', () => {
    for (const text of [ipv4, ipv6]) {
      for (const t of ['nat', 'mangle']) {
        const rules = block(text, t).filter((l) => l.startsWith('-A') || l.startsWith('-I'));
        expect(rules.slice(0, 2)).toEqual(['-A PREROUTING -i not-istio-nic -j RETURN', '-A OUTPUT -o not-istio-nic -j RETURN']);
      }
    }
  });

  it('jumps to nat ISTIO_OUTPUT_DNS only in the family that has a resolver', () => {
    expect(block(ipv4, 'nat')).toContain('-N ISTIO_OUTPUT_DNS');
    expect(block(ipv4, 'nat')).toContain('-A ISTIO_OUTPUT -j ISTIO_OUTPUT_DNS');
    expect(block(ipv4, 'nat')).toContain('-A ISTIO_OUTPUT_DNS -p udp --dport 53 -d 127.0.0.53/32 -j REDIRECT --to-port 15053');
    // No IPv6 resolver: no DNS chain in ip6tables nat, but the owner rules still exclude port 53.
    expect(block(ipv6, 'nat').filter((l) => l.includes('ISTIO_OUTPUT_DNS'))).toEqual([]);
    expect(block(ipv6, 'nat')).toContain('-A ISTIO_OUTPUT -o lo ! -d ::1/128 -p tcp -m multiport ! --dports 53,15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT');
  });

  it('keeps the raw owner zones in both families but the raw PREROUTING jump only with a resolver (addDNSConntrackZones)', () => {
    expect(block(ipv6, 'raw')).toEqual([
      '* raw',
      '-N ISTIO_OUTPUT_DNS',
      '-A OUTPUT -j ISTIO_OUTPUT_DNS',
      '-A ISTIO_OUTPUT_DNS -p udp --dport 53 -m owner --uid-owner 1337 -j CT --zone 1',
      '-A ISTIO_OUTPUT_DNS -p udp --sport 15053 -m owner --uid-owner 1337 -j CT --zone 2',
      '-A ISTIO_OUTPUT_DNS -p udp --dport 53 -m owner --gid-owner 1337 -j CT --zone 1',
      '-A ISTIO_OUTPUT_DNS -p udp --sport 15053 -m owner --gid-owner 1337 -j CT --zone 2',
      '',
    ]);
    expect(block(ipv4, 'raw')).toContain('-A PREROUTING -j ISTIO_INBOUND');
    expect(block(ipv4, 'raw')).toContain('-A ISTIO_INBOUND -p udp --sport 53 -s 127.0.0.53/32 -j CT --zone 1');
  });

  it('writes IPv4 ranges only into the IPv4 set', () => {
    expect(block(ipv4, 'nat').slice(-4, -1)).toEqual(['-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN', '-A ISTIO_OUTPUT -d 1.1.0.0/16 -j RETURN', '-A ISTIO_OUTPUT -d 9.9.0.0/16 -j ISTIO_REDIRECT']);
    expect(block(ipv6, 'nat').at(-2)).toBe('-A ISTIO_OUTPUT -d ::1/128 -j RETURN');
  });
});

describe('owner groups (handleCaptureByOwnerGroup)', () => {
  const output = (cfg: IstioCaptureConfig) => captureRestore(cfg).ipv4.split('\n').filter((l) => l.startsWith('-A ISTIO_OUTPUT'));
  it('an include list is one combined RETURN for every group not listed, before the localhost RETURN', () => {
    expect(output(testConfig({ OwnerGroupsInclude: 'java,202' })).slice(-2)).toEqual([
      '-A ISTIO_OUTPUT -m owner ! --gid-owner java -m owner ! --gid-owner 202 -j RETURN',
      '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
    ]);
  });
  it('an exclude list is one RETURN per group', () => {
    expect(output(testConfig({ OwnerGroupsExclude: '888,ftp' })).slice(-3)).toEqual([
      '-A ISTIO_OUTPUT -m owner --gid-owner 888 -j RETURN',
      '-A ISTIO_OUTPUT -m owner --gid-owner ftp -j RETURN',
      '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
    ]);
  });
});

describe('conformance case reader', () => {
  it('runs an istio-iptables case that has params.yaml and expected.iptables but no flows.yaml', () => {
    const dir = mkdtempSync(join(tmpdir(), 'istio-case-'));
    const cfg = testConfig({ OutboundPortsInclude: '32000,31000' });
    writeFileSync(join(dir, 'params.yaml'), [
      'source: {repo: istio/istio}',
      'config:',
      ...Object.entries(cfg).filter(([k]) => k !== 'DualStack').map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
      'expected: {format: command-log}',
      '',
    ].join('\n'));
    // Derived from TestIptables/outbound-ports-include: the included ports come after the localhost RETURN.
    const golden = captureCommandLog(cfg);
    expect(golden).toContain('-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN\n-A ISTIO_OUTPUT -p tcp --dport 32000 -j ISTIO_REDIRECT\n-A ISTIO_OUTPUT -p tcp --dport 31000 -j ISTIO_REDIRECT\nCOMMIT');
    writeFileSync(join(dir, 'expected.iptables'), `${golden}\n`);
    expect(isIstioIptablesCase(dir)).toBe(true);
    expect(runIstioIptablesCase(dir)).toMatchObject({ ok: true });
    writeFileSync(join(dir, 'expected.iptables'), golden.replace('--dport 31000', '--dport 31001'));
    expect(runIstioIptablesCase(dir).ok).toBe(false);
  });
});
