// A small hand-written topology for the diagram's unit tests (no engine needed).
import { ids } from '../../engine/ids.ts';
import type { Hop, NetInterface, NodeInfo, PodInfo, Topology, Trace } from '../../engine/types.ts';

const iface = (node: string, name: string, kind: NetInterface['kind'], address?: string): NetInterface => ({
  id: ids.nodeIf(node, name),
  name,
  kind,
  address,
  mac: '02:00:00:00:00:01',
  mtu: kind === 'vtep' ? 1450 : 1500,
});

function pod(node: string, n: number, name: string, ip: string): PodInfo {
  const podId = `k8snet/${name}`;
  return {
    id: podId,
    namespace: 'k8snet',
    name,
    node,
    ip,
    mac: '0a:58:0a:f4:01:02',
    labels: { run: 'my-nginx' },
    containers: [],
    hostVeth: iface(node, `veth${n}abc`, 'veth'),
    eth0: { ...iface(node, 'eth0', 'veth', `${ip}/24`), id: ids.podEth0(podId) },
    source: { doc: 1, line: 1, col: 1 },
  };
}

export function fixtureTopology(nodeCount = 3): Topology {
  const nodes: NodeInfo[] = [];
  for (let i = 1; i <= nodeCount; i++) {
    const name = `node-${i}`;
    const pods = i === 1 ? [] : [pod(name, i, `my-nginx-${i}`, `10.244.${i - 1}.2`)];
    if (i === 2) pods.push(pod(name, 20, 'inspector', '10.244.1.3'));
    nodes.push({
      id: ids.node(name),
      name,
      ip: `192.168.1.${10 + i}`,
      podCIDR: `10.244.${i - 1}.0/24`,
      roles: i === 1 ? ['control-plane'] : [],
      taints: [],
      interfaces: [
        iface(name, 'eth0', 'eth', `192.168.1.${10 + i}/24`),
        iface(name, 'cni0', 'bridge', `10.244.${i - 1}.1/24`),
        iface(name, 'flannel.1', 'vtep', `10.244.${i - 1}.0/32`),
      ],
      routes: [],
      neighbours: [],
      fdb: [],
      pods,
    });
  }
  const backends = nodes.flatMap((n) => n.pods).filter((p) => p.name.startsWith('my-nginx'));
  return {
    settings: {
      podCIDR: '10.244.0.0/16',
      serviceCIDR: '10.96.0.0/12',
      nodeNetwork: '192.168.1.0/24',
      dnsIP: '10.96.0.10',
      clusterDomain: 'cluster.local',
      cni: { plugin: 'flannel', backend: 'vxlan', vni: 1, port: 8472, mtu: 1450, device: 'flannel.1', bridge: 'cni0' },
      kubeProxy: { mode: 'iptables', masqueradeBit: 14, masqueradeAll: false, localhostNodePorts: true, nodePortAddresses: null, clusterCIDR: '10.244.0.0/16' },
    },
    nodes,
    services: [
      {
        id: 'k8snet/my-nginx',
        namespace: 'k8snet',
        name: 'my-nginx',
        type: 'ClusterIP',
        clusterIP: '10.96.0.100',
        selector: { run: 'my-nginx' },
        ports: [{ name: '', port: 80, targetPort: 80, protocol: 'TCP', nodePort: 0 }],
        endpoints: backends.map((p) => ({ ip: p.ip, port: 80, portName: '', protocol: 'TCP', ready: true, serving: true, terminating: false, nodeName: p.node, podId: p.id })),
        externalIPs: [],
        loadBalancerIPs: [],
        loadBalancerSourceRanges: [],
        externalTrafficPolicy: 'Cluster',
        internalTrafficPolicy: 'Cluster',
        healthCheckNodePort: 0,
        source: { doc: 2, line: 30, col: 1 },
      },
    ],
    namespaces: ['k8snet'],
    namespaceLabels: {},
    policies: [],
    mesh: { virtualServices: [], destinationRules: [], gateways: [], serviceEntries: [], peerAuthentications: [], outboundTrafficPolicy: 'ALLOW_ANY' },
  };
}

const packet = { headers: [], length: 74 };

export function fixtureTrace(): Trace {
  const at = [
    ids.podEth0('k8snet/inspector'),
    ids.nodeIf('node-2', 'veth20abc'),
    ids.nodeIf('node-2', 'cni0'),
    ids.netfilter('node-2'),
    ids.nodeIf('node-2', 'flannel.1'),
    ids.nodeIf('node-2', 'eth0'),
    ids.nodeNetwork(),
    ids.nodeIf('node-3', 'eth0'),
    ids.pod('k8snet/my-nginx-3'),
  ];
  const hops: Hop[] = at.map((place, index) => ({
    index,
    direction: index < 8 ? 'request' : 'reply',
    at: place,
    mechanism: { kind: 'wire', title: `hop ${index}`, detail: '' },
    before: packet,
    after: packet,
  }));
  return {
    flow: { from: 'k8snet/inspector', to: 'my-nginx:80', protocol: 'TCP', name: 'f' },
    seed: 1,
    hops,
    verdict: { kind: 'delivered', to: ids.pod('k8snet/my-nginx-3'), message: 'ok' },
  };
}

/** The fixture as Cilium builds it: no bridge; cilium_host (router IP), cilium_net and the tunnel
 *  device (no address) per node; lxc host veths; a security identity per pod. */
export function fixtureCiliumTopology(nodeCount = 3, tunnel: 'vxlan' | 'geneve' | 'native' = 'vxlan'): Topology {
  const topo = fixtureTopology(nodeCount);
  topo.settings.cni = {
    plugin: 'cilium',
    routing: tunnel === 'native' ? 'native' : 'tunnel',
    tunnelProtocol: tunnel === 'geneve' ? 'geneve' : 'vxlan',
    kubeProxyReplacement: true,
    socketLB: true,
    masquerade: true,
    bpfMasquerade: false,
    nativeRoutingCIDR: '',
    maskSize: 24,
    vni: 0,
    port: tunnel === 'geneve' ? 6081 : 8472,
    mtu: tunnel === 'native' ? 1500 : 1450,
    device: tunnel === 'native' ? '' : `cilium_${tunnel}`,
    bridge: '',
  };
  topo.nodes.forEach((node, i) => {
    node.interfaces = [
      iface(node.name, 'eth0', 'eth', `192.168.1.${11 + i}/24`),
      iface(node.name, 'cilium_host', 'veth', `10.244.${i}.4/32`),
      iface(node.name, 'cilium_net', 'veth'),
      ...(tunnel === 'native' ? [] : [iface(node.name, `cilium_${tunnel}`, 'vtep')]),
    ];
    node.pods.forEach((p, j) => {
      p.hostVeth = iface(node.name, `lxc${String(i)}${String(j)}0123456789a`, 'veth');
      p.identity = p.name.startsWith('my-nginx') ? 41940 : 4515;
    });
  });
  return topo;
}
