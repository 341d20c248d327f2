// Deterministic names and hardware addresses. Real clusters draw these at random; podpath
// derives them from the input alone so the same text always gives the same cluster.

import { fnv1a32 } from '../util/hash.ts';
import { createPrng } from '../util/prng.ts';

// Kubernetes' alphabet for generated names and hashes: no vowels, no 0/1/3 (k8s.io/apimachinery
// pkg/util/rand: alphanums = "bcdfghjklmnpqrstvwxz2456789").
const alphanums = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * pod-template-hash as the Deployment controller writes it: FNV-32a of the pod template, printed
 * in decimal and "safe-encoded" character by character into `alphanums` (k8s.io/kubernetes
 * pkg/controller/controller_utils.go ComputeHash + rand.SafeEncodeString). The controller hashes
 * Go's dump of the template, which we cannot reproduce; we hash its JSON, so the value differs
 * from a real cluster's but has the same form and stability.
 */
export function podTemplateHash(template: unknown): string {
  const decimal = String(fnv1a32(JSON.stringify(template ?? {})));
  return [...decimal].map((c) => alphanums[c.charCodeAt(0) % alphanums.length]).join('');
}

/** The 5-character random suffix of generateName (names.SimpleNameGenerator), seeded by the base. */
export function nameSuffix(base: string, index: number): string {
  const rng = createPrng(fnv1a32(`${base}#${index}`));
  let s = '';
  for (let i = 0; i < 5; i++) s += alphanums[rng.int(0, alphanums.length - 1)];
  return s;
}

/**
 * A MAC address as the kernel makes a random one (eth_random_addr: unicast, locally
 * administered bit set), drawn from a hash of `key`.
 */
export function macFor(key: string): string {
  const rng = createPrng(fnv1a32(key));
  const bytes = Array.from({ length: 6 }, () => rng.int(0, 255));
  bytes[0] = (bytes[0]! & 0xfe) | 0x02;
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The host end of a pod's veth: the CNI bridge plugin names it "veth" + 8 hex digits (ip.RandomVethName). */
export function hostVethName(podId: string): string {
  return `veth${fnv1a32(`veth:${podId}`).toString(16).padStart(8, '0')}`;
}
