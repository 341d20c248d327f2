import { describe, expect, it } from 'vitest';
import { ids } from '../../engine/ids.ts';
import { layoutTopology } from '../../layout/layout.ts';
import type { Box } from '../../layout/types.ts';
import { fixtureCiliumTopology, fixtureTopology, fixtureTrace } from './fixture.test-helpers.ts';
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

  it('draws the client outside the cluster left of the node network only when the trace reaches it', async () => {
    const topo = fixtureTopology(3);
    const layout = await layoutTopology(topo);
    const without = await layoutTopology(topo);
    delete without.boxes[ids.external()];
    // the client's box sits left of the bar's left end and moves nothing else
    const ext = layout.boxes[ids.external()]!;
    const net = layout.boxes[ids.nodeNetwork()]!;
    expect(ext.x + ext.width).toBeLessThan(net.x);
    expect(ext.y + ext.height / 2).toBeCloseTo(net.y + net.height / 2);
    for (const [id, b] of Object.entries(without.boxes)) {
      expect(layout.boxes[id], id).toEqual(b);
      expect(overlaps(b, ext), id).toBe(false);
    }

    // no trace at the client: not drawn
    expect(toFlow(topo, layout, fixtureTrace(), 0).nodes.some((n) => n.id === ids.external())).toBe(false);

    const ipv4 = { proto: 'ipv4', src: '198.51.100.7', dst: '192.168.1.12', ttl: 64, protocol: 'TCP', totalLength: 60, df: true, id: 0, tos: 0 } as const;
    const base = fixtureTrace();
    const hop = (index: number, at: string, direction: 'request' | 'reply') => ({
      ...base.hops[0]!,
      index,
      at,
      direction,
      before: { headers: [ipv4], length: 74 },
      after: { headers: [ipv4], length: 74 },
    });
    const trace = {
      ...base,
      hops: [hop(0, ids.external(), 'request'), hop(1, ids.nodeNetwork(), 'request'), hop(2, ids.nodeNetwork(), 'reply'), hop(3, ids.external(), 'reply')],
    };
    const first = toFlow(topo, layout, trace, 0);
    const client = first.nodes.find((n) => n.id === ids.external())!;
    expect(client.type).toBe('external');
    expect(client.data).toEqual({ ip: '198.51.100.7', role: 'client', mark: 'active' });
    expect(client.position).toEqual({ x: ext.x, y: ext.y });
    const link = first.edges.find((e) => e.source === ids.external() && e.target === ids.nodeNetwork())!;
    expect(link.targetHandle).toBe('lt');
    const packet = first.nodes.find((n) => n.id === 'packet')!;
    expect(packet.position.x + PACKET_SIZE / 2).toBeCloseTo(ext.x);

    // the reply's last hop lights the client's link and marks it active again
    const last = toFlow(topo, layout, trace, 3);
    expect(last.nodes.find((n) => n.id === ids.external())!.data.mark).toBe('active');
    const lit = last.edges.filter((e) => e.data?.lit);
    expect(lit.map((e) => e.id)).toEqual([link.id]);
    expect(lit[0]!.className).toContain('edge-reply');
    expect(placeLabel(topo, ids.external())).toBe('client outside the cluster');
  });

  it('names places for the hop list', () => {
    const topo = fixtureTopology(3);
    expect(placeLabel(topo, ids.nodeIf('node-2', 'flannel.1'))).toBe('node-2 flannel.1');
    expect(placeLabel(topo, ids.pod('k8snet/inspector'))).toBe('k8snet/inspector');
    expect(placeLabel(topo, ids.nodeNetwork())).toBe('node network 192.168.1.0/24');
  });

  it.each(['vxlan', 'geneve', 'native'] as const)('Cilium (%s): draws cilium_host and the tunnel device, no bridge; hops there light them', async (tunnel) => {
    const topo = fixtureCiliumTopology(3, tunnel);
    const layout = await layoutTopology(topo);
    const { nodes, edges } = toFlow(topo, layout, null, 0);
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const host = ids.nodeIf('node-2', 'cilium_host');
    const dev = ids.nodeIf('node-2', `cilium_${tunnel}`);
    expect(byId.get(host)?.data).toMatchObject({ name: 'cilium_host', address: '10.244.1.4/32', kind: 'cilium-host' });
    if (tunnel === 'native') expect(byId.has(dev)).toBe(false);
    else expect(byId.get(dev)?.data).toMatchObject({ name: `cilium_${tunnel}`, address: undefined, kind: 'vtep' });
    // cilium_net carries no hop: not drawn; no bridge anywhere
    expect(byId.has(ids.nodeIf('node-2', 'cilium_net'))).toBe(false);
    expect(nodes.some((n) => n.type === 'iface' && n.data.kind === 'bridge')).toBe(false);
    // every box inside its node group; cilium_host linked to the node's routing stack
    for (const node of topo.nodes) {
      const g = layout.boxes[ids.node(node.name)]!;
      for (const id of [ids.nodeIf(node.name, 'cilium_host'), ids.netfilter(node.name), ids.nodeIf(node.name, 'eth0')]) {
        const b = layout.boxes[id]!;
        expect(b, id).toBeDefined();
        expect(b.x >= g.x && b.y >= g.y && b.x + b.width <= g.x + g.width && b.y + b.height <= g.y + g.height, id).toBe(true);
      }
    }
    expect(edges.some((e) => e.source === host && e.target === ids.netfilter('node-2'))).toBe(true);
    // the pods' lxc veths go to the routing stack; pods show their identity; netfilter holds Cilium's rules only
    const inspector = topo.nodes[1]!.pods.find((p) => p.name === 'inspector')!;
    expect(edges.some((e) => e.source === ids.nodeIf('node-2', inspector.hostVeth.name) && e.target === ids.netfilter('node-2'))).toBe(true);
    expect(byId.get(ids.pod('k8snet/inspector'))?.data).toMatchObject({ identity: 4515 });
    expect(byId.get(ids.netfilter('node-2'))?.data).toMatchObject({ rules: 'cilium' });

    // hops at cilium_host and at the tunnel device mark them
    const base = fixtureTrace();
    const at = [ids.podEth0('k8snet/inspector'), ids.nodeIf('node-2', inspector.hostVeth.name), tunnel === 'native' ? ids.nodeIf('node-2', 'eth0') : dev, host];
    const trace = { ...base, hops: at.map((place, index) => ({ ...base.hops[0]!, index, at: place, mechanism: { kind: 'ebpf' as const, title: `hop ${index}`, detail: '' } })) };
    const third = toFlow(topo, layout, trace, 2);
    expect(third.nodes.find((n) => n.id === at[2])!.data.mark).toBe('active');
    expect(third.nodes.find((n) => n.id === 'packet')).toBeDefined();
    const fourth = toFlow(topo, layout, trace, 3);
    expect(fourth.nodes.find((n) => n.id === host)!.data.mark).toBe('active');
    expect(placeLabel(topo, host)).toBe('node-2 cilium_host');
  });

  it('draws flannel pods without an identity and its netfilter as kube-proxy\'s', async () => {
    const topo = fixtureTopology(3);
    const { nodes } = toFlow(topo, await layoutTopology(topo), null, 0);
    expect(nodes.find((n) => n.id === ids.pod('k8snet/inspector'))!.data).not.toHaveProperty('identity');
    expect(nodes.find((n) => n.id === ids.netfilter('node-2'))!.data).toMatchObject({ rules: 'kube-proxy' });
  });
});
