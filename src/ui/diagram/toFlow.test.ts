import { describe, expect, it } from 'vitest';
import { ids } from '../../engine/ids.ts';
import { layoutTopology } from '../../layout/layout.ts';
import type { Box } from '../../layout/types.ts';
import { fixtureTopology, fixtureTrace } from './fixture.test-helpers.ts';
import { PACKET_SIZE, placeLabel, toFlow } from './toFlow.ts';

const overlaps = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe('layoutTopology', () => {
  it.each([3, 10])('places %i node groups without overlap, every element inside its node', async (n) => {
    const topo = fixtureTopology(n);
    const layout = await layoutTopology(topo);
    const groups = topo.nodes.map((node) => layout.boxes[ids.node(node.name)]!);
    for (let i = 0; i < groups.length; i++) for (let j = i + 1; j < groups.length; j++) expect(overlaps(groups[i]!, groups[j]!)).toBe(false);
    for (const node of topo.nodes) {
      const g = layout.boxes[ids.node(node.name)]!;
      for (const id of [ids.nodeIf(node.name, 'eth0'), ids.nodeIf(node.name, 'cni0'), ids.netfilter(node.name), ...node.pods.map((p) => ids.pod(p.id))]) {
        const b = layout.boxes[id]!;
        expect(b, id).toBeDefined();
        expect(b.x >= g.x && b.y >= g.y && b.x + b.width <= g.x + g.width && b.y + b.height <= g.y + g.height, id).toBe(true);
      }
      // eth0 is the element closest to the node network
      const net = layout.boxes[ids.nodeNetwork()]!;
      const eth = layout.boxes[ids.nodeIf(node.name, 'eth0')]!;
      const cni = layout.boxes[ids.nodeIf(node.name, 'cni0')]!;
      expect(Math.abs(eth.y - net.y) < Math.abs(cni.y - net.y)).toBe(true);
    }
    // two rows at 10 nodes keep the diagram roughly as wide as tall
    if (n === 10) expect(layout.width / layout.height).toBeLessThan(3);
  });
});

describe('toFlow', () => {
  it('draws node groups, interfaces, pods, the service and the node network with engine ids', async () => {
    const topo = fixtureTopology(3);
    const layout = await layoutTopology(topo);
    const { nodes, edges } = toFlow(topo, layout, null, 0);
    const byId = new Map(nodes.map((n) => [n.id, n]));
    for (const id of [
      ids.node('node-1'),
      ids.nodeIf('node-2', 'eth0'),
      ids.nodeIf('node-2', 'cni0'),
      ids.nodeIf('node-2', 'flannel.1'),
      ids.netfilter('node-2'),
      ids.pod('k8snet/inspector'),
      ids.podEth0('k8snet/inspector'),
      ids.nodeIf('node-2', 'veth20abc'),
      ids.service('k8snet/my-nginx'),
      ids.nodeNetwork(),
    ]) {
      expect(byId.has(id), id).toBe(true);
    }
    // children point at their parents, and parents come first
    const pod = byId.get(ids.podEth0('k8snet/inspector'))!;
    expect(pod.parentId).toBe(ids.pod('k8snet/inspector'));
    expect(nodes.findIndex((n) => n.id === pod.parentId)).toBeLessThan(nodes.indexOf(pod));
    // endpoints are dashed edges from the service to each backend
    const endpointEdges = edges.filter((e) => e.className === 'edge-endpoint');
    expect(endpointEdges.map((e) => e.target).sort()).toEqual([ids.pod('k8snet/my-nginx-2'), ids.pod('k8snet/my-nginx-3')]);
    // every eth0 connects to the node network
    expect(edges.filter((e) => e.target === ids.nodeNetwork())).toHaveLength(3);
    expect(byId.has('packet')).toBe(false);
    // edge ids are unique
    expect(new Set(edges.map((e) => e.id)).size).toBe(edges.length);
  });

  it('highlights the active hop, lights the edge from the previous place and puts the packet there', async () => {
    const topo = fixtureTopology(3);
    const layout = await layoutTopology(topo);
    const trace = fixtureTrace();
    const { nodes, edges } = toFlow(topo, layout, trace, 2);
    const cni = nodes.find((n) => n.id === ids.nodeIf('node-2', 'cni0'))!;
    expect(cni.data.mark).toBe('active');
    expect(nodes.find((n) => n.id === ids.podEth0('k8snet/inspector'))!.data.mark).toBe('visited');
    const lit = edges.filter((e) => e.data?.lit);
    expect(lit).toHaveLength(1);
    expect(lit[0]!.source).toBe(ids.nodeIf('node-2', 'veth20abc'));
    expect(lit[0]!.className).toContain('edge-request');
    const packet = nodes.find((n) => n.id === 'packet')!;
    const box = layout.boxes[ids.nodeIf('node-2', 'cni0')]!;
    expect(packet.position.x + PACKET_SIZE / 2).toBeCloseTo(box.x);
    expect(packet.position.y + PACKET_SIZE / 2).toBeCloseTo(box.y + box.height / 2);
    expect(packet.data.direction).toBe('request');
  });

  it('adds a lit edge when consecutive places have no drawn link, styled for replies', async () => {
    const topo = fixtureTopology(3);
    const layout = await layoutTopology(topo);
    const { edges, nodes } = toFlow(topo, layout, fixtureTrace(), 8);
    const lit = edges.filter((e) => e.data?.lit);
    expect(lit).toHaveLength(1);
    expect(lit[0]!.id).toBe('hop:8');
    expect(lit[0]!.className).toContain('edge-reply');
    expect(nodes.find((n) => n.id === 'packet')!.data.direction).toBe('reply');
  });

  it('names places for the hop list', () => {
    const topo = fixtureTopology(3);
    expect(placeLabel(topo, ids.nodeIf('node-2', 'flannel.1'))).toBe('node-2 flannel.1');
    expect(placeLabel(topo, ids.pod('k8snet/inspector'))).toBe('k8snet/inspector');
    expect(placeLabel(topo, ids.nodeNetwork())).toBe('node network 192.168.1.0/24');
  });
});
