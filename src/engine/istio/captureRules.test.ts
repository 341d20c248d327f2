import { describe, expect, it } from 'vitest';
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
