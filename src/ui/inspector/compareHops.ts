// Where two traces of the same flow differ in mechanism, for the compare view. Two pod networks
// give every hop other addresses and device names, so comparing titles would mark everything;
// comparing the kinds of mechanism marks what a learner should see: a VXLAN encapsulation on one
// side and an IP-in-IP one on the other, a bridge on one side and none on the other.
import type { Hop, MechanismKind, Trace } from '../../engine/types.ts';

type HopKind = Pick<Hop, 'direction'> & { mechanism: { kind: MechanismKind } };

const keyOf = (h: HopKind) => `${h.direction} ${h.mechanism.kind}`;

/**
 * For each hop of `mine`: true when `other` has no hop of the same kind in the same direction
 * (request or reply), i.e. this hop is where the two paths differ.
 */
export function kindsOnlyHere(mine: readonly HopKind[], other: readonly HopKind[]): boolean[] {
  const theirs = new Set(other.map(keyOf));
  return mine.map((h) => !theirs.has(keyOf(h)));
}

type BackendSide = Pick<Trace, 'backend'> & { hops: readonly Pick<Hop, 'node'>[] };

/**
 * The nodes of the two backends when they differ. The same seed draws the same endpoint index,
 * but kube-proxy orders endpoints by IP address and each pod network hands out other addresses,
 * so the same seed can reach a pod on another node; worth saying, and all the more when one path
 * stays on the client's node (`oneStaysOnNode`) while the other crosses to another: then the
 * missing tunnel hops are the backend's doing, not the pod network's.
 */
export function differentBackendNodes(mine: BackendSide, other: BackendSide): { mine: string; other: string; oneStaysOnNode: boolean } | null {
  const a = mine.backend?.node;
  const b = other.backend?.node;
  if (!a || !b || a === b) return null;
  // The first hop is the client's socket, on the client's node (undefined for a client outside the cluster).
  const local = (side: BackendSide, node: string) => side.hops[0]?.node === node;
  return { mine: a, other: b, oneStaysOnNode: local(mine, a) !== local(other, b) };
}
