// layoutTopology: where every element of the diagram goes. Pure (no DOM, no store); runs in the
// worker. elkjs (layered) lays out the inside of each k8s node — pods, veths, cni0, netfilter,
// flannel.1, eth0 as one chain per packet path — because the number of pods varies and ELK keeps
// that chain straight and uncrossed. Node groups are then placed in up to two rows around the node
// network bar (top row: eth0 at the bottom edge; bottom row: mirrored, eth0 at the top edge), so
// the diagram stays about as wide as it is tall from 3 to 10 nodes. ELK's layered algorithm does
// not wrap rows, hence this small packing step.
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkNode } from 'elkjs/lib/elk.bundled.js';
import { ids } from '../engine/ids.ts';
import type { NodeInfo, Topology } from '../engine/types.ts';
import { ifaceId, nodeElements, podEth0Id, podId, podSize, sidecarId, size, vethId } from './elements.ts';
import type { Box, Layout, NetSide } from './types.ts';

const elk = new ELK();
const groupCache = new Map<string, Promise<ElkNode>>();
const GAP = 32;
const PAD = 16;
/** A node group is at least this wide (its header: name, address, role and pod CIDR). */
const MIN_GROUP_WIDTH = 260;
/** Between the Services and the nodes: room for the dashed lines to the endpoints. */
const SERVICE_GAP = 64;

interface GroupLayout {
  id: string;
  width: number;
  height: number;
  /** Element boxes relative to the group's top-left corner. */
  boxes: Record<string, Box>;
}

async function layoutNodeGroup(node: NodeInfo, side: NetSide): Promise<GroupLayout> {
  const els = nodeElements(node);
  const children: ElkNode[] = [];
  const edges: { id: string; sources: string[]; targets: string[] }[] = [];
  const chain: string[] = [];
  for (const pod of node.pods) {
    children.push({ id: podId(pod), ...podSize(pod) });
    children.push({ id: vethId(pod), ...size.veth });
    edges.push({ id: `e${edges.length}`, sources: [podId(pod)], targets: [vethId(pod)] });
    // A bridged CNI attaches the veths to cni0; a routed one (Calico) hands them to the IP stack.
    edges.push({ id: `e${edges.length}`, sources: [vethId(pod)], targets: [els.bridge ? ifaceId(node, els.bridge) : els.netfilter] });
  }
  if (els.bridge) chain.push(ifaceId(node, els.bridge));
  chain.push(els.netfilter);
  if (els.vtep) chain.push(ifaceId(node, els.vtep));
  if (els.eth0) chain.push(ifaceId(node, els.eth0));
  for (const id of chain) children.push({ id, ...(id === els.netfilter ? size.netfilter : size.iface) });
  for (let i = 1; i < chain.length; i++) edges.push({ id: `e${edges.length}`, sources: [chain[i - 1]!], targets: [chain[i]!] });
  // Cilium's cilium_host hangs off the routing stack on the pods' side (routes to pods go "via the
  // router IP dev cilium_host"): beside the lxc veths, one layer before netfilter.
  if (els.host) {
    children.push({ id: ifaceId(node, els.host), ...size.iface });
    edges.push({ id: `e${edges.length}`, sources: [ifaceId(node, els.host)], targets: [els.netfilter] });
  }

  const input: ElkNode = {
    id: els.group,
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': side === 'bottom' ? 'DOWN' : 'UP',
      'elk.spacing.nodeNode': '14',
      'elk.layered.spacing.nodeNodeBetweenLayers': '22',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.layered.nodePlacement.bk.fixedAlignment': 'BALANCED',
      'elk.padding': `[top=${size.nodeHeader},left=${PAD},bottom=${PAD},right=${PAD}]`,
    },
    children,
    edges,
  };
  // A node group's layout depends only on its ELK input: memoise it, so an edit re-lays out only
  // the groups it changed (ELK is most of an edit's cost; see npm run bench).
  const key = JSON.stringify(input);
  let pending = groupCache.get(key);
  if (!pending) {
    if (groupCache.size > 400) groupCache.clear();
    pending = elk.layout(input);
    groupCache.set(key, pending);
  }
  const graph = await pending;
  const boxes: Record<string, Box> = {};
  for (const c of graph.children ?? []) boxes[c.id] = { x: c.x ?? 0, y: c.y ?? 0, width: c.width ?? 0, height: c.height ?? 0 };
  // The pod's own eth0 sits inside the pod box, on the edge that faces its veth; its istio-proxy,
  // if any, just inside that (the app's traffic meets the proxy before eth0), the name beyond.
  for (const pod of node.pods) {
    const p = boxes[podId(pod)];
    if (!p) continue;
    const x = p.x + (p.width - size.podEth0.width) / 2;
    const y = side === 'bottom' ? p.y + p.height - size.podEth0.height - 6 : p.y + 6;
    boxes[podEth0Id(pod)] = { x, y, ...size.podEth0 };
    if (pod.sidecar) {
      const sy = side === 'bottom' ? y - size.sidecarGap - size.sidecar.height : y + size.podEth0.height + size.sidecarGap;
      boxes[sidecarId(pod)] = { x: p.x + (p.width - size.sidecar.width) / 2, y: sy, ...size.sidecar };
    }
  }
  return { id: els.group, width: Math.max(graph.width ?? 0, MIN_GROUP_WIDTH), height: graph.height ?? 0, boxes };
}

function packRow(groups: GroupLayout[], side: NetSide, top: number, rowHeight: number, out: Layout): number {
  let x = 0;
  for (const g of groups) {
    // Align each group's eth0 with the network bar: stretch the group to the row height and, in
    // the top row, push its content down (the header stays on top).
    const shift = side === 'bottom' ? rowHeight - g.height : 0;
    out.boxes[g.id] = { x, y: top, width: g.width, height: rowHeight };
    out.netSide[g.id] = side;
    for (const [id, b] of Object.entries(g.boxes)) out.boxes[id] = { ...b, x: b.x + x, y: b.y + top + shift };
    x += g.width + GAP;
  }
  return x - GAP;
}

export async function layoutTopology(topology: Topology): Promise<Layout> {
  const n = topology.nodes.length;
  const topCount = n <= 4 ? n : Math.ceil(n / 2);
  const groups = await Promise.all(
    topology.nodes.map((node, i) => layoutNodeGroup(node, i < topCount ? 'bottom' : 'top')),
  );
  const top = groups.slice(0, topCount);
  const bottom = groups.slice(topCount);
  const out: Layout = { boxes: {}, netSide: {}, width: 0, height: 0 };

  // Services first, wrapped into rows no wider than the node rows.
  const rowWidth = (gs: GroupLayout[]) => gs.reduce((w, g) => w + g.width, 0) + GAP * Math.max(gs.length - 1, 0);
  const width = Math.max(rowWidth(top), rowWidth(bottom), size.service.width);
  let sx = 0;
  let sy = 0;
  for (const svc of topology.services) {
    if (sx > 0 && sx + size.service.width > width) {
      sx = 0;
      sy += size.service.height + 24;
    }
    out.boxes[ids.service(svc.id)] = { x: sx, y: sy, ...size.service };
    sx += size.service.width + 24;
  }
  let y = topology.services.length > 0 ? sy + size.service.height + SERVICE_GAP : 0;

  const topH = Math.max(0, ...top.map((g) => g.height));
  packRow(top, 'bottom', y, topH, out);
  y += topH + GAP;
  out.boxes[ids.nodeNetwork()] = { x: 0, y, width, height: size.network };
  // A client outside the cluster (drawn only when a trace reaches it) sits left of the bar's left
  // end, where the router is, at negative x so every other position stays as it was.
  out.boxes[ids.external()] = {
    x: -size.external.width - GAP,
    y: y + (size.network - size.external.height) / 2,
    ...size.external,
  };
  y += size.network + GAP;
  if (bottom.length > 0) {
    const bottomH = Math.max(0, ...bottom.map((g) => g.height));
    packRow(bottom, 'top', y, bottomH, out);
    y += bottomH;
  } else {
    y -= GAP;
  }
  out.width = width;
  out.height = y;
  return out;
}
