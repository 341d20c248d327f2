// Structural sharing for the diagram: every snapshot and trace arrives as fresh objects (they
// cross the Worker boundary by structured clone), so toFlow's output is new even where nothing
// changed. React Flow treats a new node object as a new node: it rebuilds its internal node,
// drops the measured size and handle bounds, re-renders the node and every edge touching it, and
// measures it again (getBoundingClientRect per handle). At 50 Services that is ~500 elements per
// snapshot; keeping the previous object wherever the new one is equal leaves React Flow only the
// elements that really changed (a highlighted hop, a moved packet, one node group re-laid out).
import type { DiagramEdge, DiagramNode } from './toFlow.ts';

export interface Flow {
  nodes: DiagramNode[];
  edges: DiagramEdge[];
}

/** Deep equality for plain data (what toFlow emits: objects, arrays, strings, numbers, booleans). */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bs = b as unknown[];
    return a.length === bs.length && a.every((x, i) => sameData(x, bs[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = Object.keys(ao);
  if (keys.length !== Object.keys(bo).length) return false;
  return keys.every((k) => Object.hasOwn(bo, k) && sameData(ao[k], bo[k]));
}

/**
 * `next`, with every element that equals the element of the same id in `prev` replaced by that
 * previous object; `prev` itself when nothing changed at all (same ids, same order, same data).
 */
export function reuseById<T extends { id: string }>(prev: readonly T[], next: readonly T[]): readonly T[] {
  const before = new Map(prev.map((x) => [x.id, x]));
  let unchanged = prev.length === next.length;
  const out = next.map((x, i) => {
    const old = before.get(x.id);
    const kept = old !== undefined && sameData(old, x) ? old : x;
    if (kept !== prev[i]) unchanged = false;
    return kept;
  });
  return unchanged ? prev : out;
}

/** `next` sharing every unchanged node, edge and array with `prev`. Pure. */
export function shareFlow(prev: Flow, next: Flow): Flow {
  const nodes = reuseById(prev.nodes, next.nodes) as DiagramNode[];
  const edges = reuseById(prev.edges, next.edges) as DiagramEdge[];
  return nodes === prev.nodes && edges === prev.edges ? prev : { nodes, edges };
}

/**
 * A memo around toFlow's results for one diagram: each call returns the new flow sharing what it
 * can with the flow it returned last. The diagram stays derived from snapshot + trace (`next`
 * is toFlow's output); only object identity is carried over.
 */
export function createFlowSharer(): (next: Flow) => Flow {
  let last: Flow = { nodes: [], edges: [] };
  return (next) => (last = shareFlow(last, next));
}
