// The istio-proxy box inside a pod with a sidecar, and a Bookinfo-sized cluster that stays legible.
import { describe, expect, it } from 'vitest';
import { ids } from '../../engine/ids.ts';
import { loadSnapshot } from '../../engine/snapshot.ts';
import { traceFlow } from '../../engine/trace/trace.ts';
import type { Topology } from '../../engine/types.ts';
import { layoutTopology } from '../../layout/layout.ts';
import type { Box, Layout } from '../../layout/types.ts';
import { bookinfoScenario } from '../../scenarios/bookinfo.ts';
import { fixtureTopology } from './fixture.test-helpers.ts';
import { PACKET_SIZE, placeLabel, toFlow } from './toFlow.ts';

const inside = (b: Box, outer: Box) => b.x >= outer.x && b.y >= outer.y && b.x + b.width <= outer.x + outer.width && b.y + b.height <= outer.y + outer.height;
const overlaps = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** The pod's name, suffix and address take this much of the pod box on the side away from its eth0. */
const LABEL_HEIGHT = 44;

function withSidecars(t: Topology): Topology {
  for (const n of t.nodes) for (const p of n.pods) p.sidecar = { proxyUid: 1337, proxyGid: 1337, reason: 'test', captureAnnotations: {} };
  return t;
}

function checkPods(t: Topology, layout: Layout) {
  for (const node of t.nodes) {
    const group = layout.boxes[ids.node(node.name)]!;
    const side = layout.netSide[ids.node(node.name)];
    for (const pod of node.pods) {
      const p = layout.boxes[ids.pod(pod.id)]!;
      const eth0 = layout.boxes[ids.podEth0(pod.id)]!;
      const proxy = layout.boxes[ids.sidecar(pod.id)];
      expect(inside(p, group), pod.name).toBe(true);
      if (!pod.sidecar) {
        expect(proxy).toBeUndefined();
        continue;
      }
      expect(proxy, pod.name).toBeDefined();
      expect(inside(proxy!, p), pod.name).toBe(true);
      expect(overlaps(proxy!, eth0), pod.name).toBe(false);
      // Between the pod's labels and its eth0: the app's traffic meets the proxy before eth0.
      if (side === 'bottom') {
        expect(proxy!.y + proxy!.height).toBeLessThanOrEqual(eth0.y);
        expect(proxy!.y).toBeGreaterThanOrEqual(p.y + LABEL_HEIGHT);
      } else {
        expect(proxy!.y).toBeGreaterThanOrEqual(eth0.y + eth0.height);
        expect(proxy!.y + proxy!.height).toBeLessThanOrEqual(p.y + p.height - LABEL_HEIGHT);
      }
    }
  }
}

describe('the istio-proxy box', () => {
  it('Bookinfo: every pod has one, inside the pod between its labels and its eth0; the diagram fits a laptop screen legibly', async () => {
    const s = loadSnapshot(bookinfoScenario, 1);
    const layout = await layoutTopology(s.topology);
    checkPods(s.topology, layout);
    // The diagram pane at 1600×1000 is about 1088×610: fitting the whole cluster there must keep
    // the boxes' 12–14 px text at ≥ 0.72 of its size (≈ 9–10 px on screen).
    expect(Math.min(1088 / layout.width, 610 / layout.height)).toBeGreaterThanOrEqual(0.72);
    const pods = s.topology.nodes.flatMap((n) => n.pods);
    for (const a of pods) for (const b of pods) if (a !== b) expect(overlaps(layout.boxes[ids.pod(a.id)]!, layout.boxes[ids.pod(b.id)]!)).toBe(false);
  });

  it.each([3, 10])('%i nodes with sidecars: boxes in place in both rows; two rows keep the diagram about as wide as tall', async (n) => {
    const t = withSidecars(fixtureTopology(n));
    const layout = await layoutTopology(t);
    checkPods(t, layout);
    if (n === 10) {
      expect(new Set(Object.values(layout.netSide))).toEqual(new Set(['top', 'bottom']));
      expect(layout.width / layout.height).toBeLessThan(3);
    }
  });

  it('is drawn as a child of its pod; a hop there lights it, puts the packet on the pod\'s edge and is named in the hop list', async () => {
    const s = loadSnapshot(bookinfoScenario, 1);
    const layout = await layoutTopology(s.topology);
    const trace = traceFlow(s.topology, s.flows[0]!, 1);
    const envoy = trace.hops.findIndex((h) => h.mechanism.kind === 'envoy');
    const hop = trace.hops[envoy]!;
    const client = s.topology.nodes.flatMap((n) => n.pods).find((p) => hop.at === ids.sidecar(p.id))!;
    expect(client.name).toMatch(/^productpage-v1-/);
    const { nodes } = toFlow(s.topology, layout, trace, envoy);
    const proxy = nodes.find((x) => x.id === ids.sidecar(client.id))!;
    expect(proxy.type).toBe('sidecar');
    expect(proxy.parentId).toBe(ids.pod(client.id));
    expect(proxy.data).toEqual({ pod: client.name, mark: 'active' });
    expect(nodes.filter((x) => x.type === 'sidecar')).toHaveLength(6);
    // The pod box is not what lights up: the hop is at its proxy.
    expect(nodes.find((x) => x.id === ids.pod(client.id))!.data.mark).toBeUndefined();
    const packet = nodes.find((x) => x.id === 'packet')!;
    const podBox = layout.boxes[ids.pod(client.id)]!;
    const proxyBox = layout.boxes[ids.sidecar(client.id)]!;
    expect(packet.position.x + PACKET_SIZE / 2).toBeCloseTo(podBox.x);
    expect(packet.position.y + PACKET_SIZE / 2).toBeCloseTo(proxyBox.y + proxyBox.height / 2);
    expect(placeLabel(s.topology, hop.at)).toBe(`${client.name} istio-proxy`);
    // A generated name is drawn as its workload and the suffix.
    expect(nodes.find((x) => x.id === ids.pod(client.id))!.data).toMatchObject({ name: client.name, workload: 'productpage-v1' });
  });

  it('a pod without a sidecar gets none, and a hand-written pod name is not split', async () => {
    const t = fixtureTopology(3);
    const { nodes } = toFlow(t, await layoutTopology(t), null, 0);
    expect(nodes.some((x) => x.type === 'sidecar')).toBe(false);
    expect(nodes.find((x) => x.id === ids.pod('k8snet/inspector'))!.data).not.toHaveProperty('workload');
  });
});
