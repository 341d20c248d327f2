import { describe, expect, it } from 'vitest';
import { ipInCidr, parseIPv6 } from './ip.ts';

describe('family-neutral CIDR checks', () => {
  it.each([
    ['fd00:10::2', 'fd00:10::/64', true],
    ['2600:5200::1', 'fd00:10::/64', false],
    ['::1', '::1/128', true],
    ['2001:db8:1::2', '2001:db8::/64', false],
    ['2001:db8::1', '2001:db8::/64', true],
    ['10.0.0.2', '10.0.0.0/8', true],
    ['10.0.0.2', 'fd00::/8', false],
    ['fd00:10:180::2:1', 'fd00:10:180::2:1', true],
  ])('%s in %s: %s', (ip, cidr, want) => expect(ipInCidr(ip, cidr)).toBe(want));

  it('parses compressed and IPv4-tailed forms', () => {
    expect(parseIPv6('::ffff:10.0.0.1')).toBe(0xffff0a000001n);
    expect(parseIPv6('fd00::1::2')).toBeUndefined();
  });
});
