import { describe, expect, it } from 'vitest';
import { ids } from '../../engine/ids.ts';
import { layoutTopology } from '../../layout/layout.ts';
import { fixtureTopology, fixtureTrace } from './fixture.test-helpers.ts';
import { createFlowSharer, reuseById, sameData, shareFlow } from './stableFlow.ts';
import { toFlow } from './toFlow.ts';

/** A deep copy, as a snapshot or trace is after crossing the Worker boundary. */
const cloned = <T>(x: T): T => structuredClone(x);

describe('sameData', () => {
  it.each([
    [1, 1, true],
    ['a', 'b', false],
    [{ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [{ a: undefined }, { b: undefined }, false],
    [[1, 2], [1, 2, 3], false],
    [[], {}, false],
    [null, {}, false],
    [{ p: { x: 1, y: 2 } }, { p: { x: 1, y: 3 } }, false],
  ])('%j vs %j → %s', (a, b, same) => {
    expect(sameData(a, b)).toBe(same);
  });
});

describe('reuseById', () => {
  it('returns the previous array when every element is equal and in the same order', () => {
    const prev = [{ id: 'a', v: 1 }, { id: 'b', v: 2 }];
    expect(reuseById(prev, cloned(prev))).toBe(prev);
  });

  it('keeps equal elements, takes changed and new ones, follows the new order', () => {
    const prev = [{ id: 'a', v: 1 }, { id: 'b', v: 2 }];
    const next = [{ id: 'c', v: 0 }, { id: 'b', v: 2 }, { id: 'a', v: 9 }];
    const out = reuseById(prev, next);
    expect(out).not.toBe(prev);
    expect(out.map((x) => x.id)).toEqual(['c', 'b', 'a']);
    expect(out[0]).toBe(next[0]);
    expect(out[1]).toBe(prev[1]);
    expect(out[2]).toBe(next[2]);
  });

  it('returns a new array when an element was removed', () => {
    const prev = [{ id: 'a' }, { id: 'b' }];
    const out = reuseById(prev, [{ id: 'a' }]);
    expect(out).not.toBe(prev);
    expect(out).toEqual([prev[0]]);
    expect(out[0]).toBe(prev[0]);
  });
});

describe('shareFlow over toFlow', () => {
  it('an identical snapshot (a comment edit) gives back the very same flow', async () => {
    const topo = fixtureTopology(3);
    const layout = await layoutTopology(topo);
    const trace = fixtureTrace();
    const share = createFlowSharer();
    const first = share(toFlow(topo, layout, trace, 2));
    const again = share(toFlow(cloned(topo), cloned(layout), cloned(trace), 2));
    expect(again).toBe(first);
  });

  it('moving the active hop changes only the elements it marks, the packet and the lit edge', async () => {
    const topo = fixtureTopology(3);
    const layout = await layoutTopology(topo);
    const trace = fixtureTrace();
    const a = toFlow(topo, layout, trace, 1);
    const b = shareFlow(a, toFlow(topo, layout, trace, 2));
    const changedNodes = b.nodes.filter((n) => n !== a.nodes.find((m) => m.id === n.id)).map((n) => n.id);
    const touched = new Set([trace.hops[0]!.at, trace.hops[1]!.at, trace.hops[2]!.at, 'packet']);
    expect(changedNodes.length).toBeGreaterThan(0);
    for (const id of changedNodes) expect(touched.has(id), id).toBe(true);
    // Elements far from the trace are the previous objects.
    const svc = ids.service(topo.services[0]!.id);
    if (!touched.has(svc)) expect(b.nodes.find((n) => n.id === svc)).toBe(a.nodes.find((n) => n.id === svc));
    // The result is still exactly what toFlow computes.
    expect(b).toEqual(toFlow(topo, layout, trace, 2));
  });
});
