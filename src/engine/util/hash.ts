import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { base32 } from '@scure/base';

/**
 * kube-proxy's chain-name hash: the first 16 characters of base32(sha256(s)), RFC 4648 alphabet.
 * Source: kubernetes pkg/proxy/iptables/proxier.go, portProtoHash / servicePortEndpointChainName.
 */
export function kubeProxyHash16(s: string): string {
  return kubeProxyHash(s, 16);
}

/** The first `n` characters of base32(sha256(s)): 16 in iptables mode, 8 in nftables mode. */
export function kubeProxyHash(s: string, n: number): string {
  return base32.encode(sha256(utf8ToBytes(s))).slice(0, n);
}

/** FNV-1a 32-bit: a small, stable hash for deterministic names, MACs and addresses. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
