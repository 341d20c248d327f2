// The pod network at scale: a cluster of N nodes (10 / 100 / 1000), one client pod on the first
// node and its Service's only backend on the last, so the flow always crosses nodes. Measured
// separately: building the cluster (every node's routes, neighbours and FDB entries grow with N),
// tracing the cross-node flow, and encoding every hop's frame plus the pcap.
import { performance } from 'node:perf_hooks';
import { loadSnapshot, traceFlow } from '../src/engine/index.ts';
import { encodePacket } from '../src/engine/packet/bytes.ts';
import { tracePcap } from '../src/engine/packet/pcap.ts';
import { withCni, type CniChoiceKey } from '../src/scenarios/cniDocs.ts';
import { summary } from './stats.ts';

export function crossNodeScenario(nodes: number): string {
  const docs: string[] = [];
  for (let i = 0; i < nodes; i++) {
    docs.push(`apiVersion: v1
kind: Node
metadata: {name: node-${i + 1}}
spec: {podCIDR: 10.${16 + Math.floor(i / 256)}.${i % 256}.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.${1 + Math.floor(i / 200)}.${11 + (i % 200)}}]}`);
  }
  docs.push('apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}');
  docs.push(`apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: bench}\nspec: {nodeName: node-1, containers: [{name: c, image: busybox}]}`);
  docs.push(`apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: bench, labels: {app: web}}\nspec: {nodeName: node-${nodes}, containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}`);
  docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: bench}\nspec: {selector: {app: web}, ports: [{port: 80}]}`);
  docs.push(`apiVersion: podpath.dev/v1alpha1\nkind: Flow\nmetadata: {name: cross}\nspec: {from: bench/client, to: web:80}`);
  return docs.join('\n---\n') + '\n';
}

export function benchPodNetwork(sizes: number[], cnis: CniChoiceKey[], runs = 7): string[] {
  const rows: string[] = [];
  for (const cni of cnis) {
    let prev: { load: number; trace: number } | undefined;
    for (const n of sizes) {
      const text = withCni(crossNodeScenario(n), cni, cni.startsWith('calico') ? '10.16.0.0/12' : '10.0.0.0/8');
      const load: number[] = [];
      const trace: number[] = [];
      const encode: number[] = [];
      let hops = 0;
      let bytes = 0;
      let snap = loadSnapshot(text, 1);
      for (let r = 0; r < runs; r++) {
        let t0 = performance.now();
        snap = loadSnapshot(text, r + 2);
        load.push(performance.now() - t0);
        t0 = performance.now();
        const tr = traceFlow(snap.topology, snap.flows[0]!, r);
        trace.push(performance.now() - t0);
        if (tr.verdict.kind !== 'delivered') throw new Error(`${cni} ${n} nodes: ${tr.verdict.message}`);
        t0 = performance.now();
        for (const h of tr.hops) encodePacket(h.after);
        bytes = tracePcap(tr).length;
        encode.push(performance.now() - t0);
        hops = tr.hops.length;
      }
      const l = summary(load);
      const t = summary(trace);
      const e = summary(encode);
      const growth = prev ? ` (×${(l.median / prev.load).toFixed(1)} build, ×${(t.median / prev.trace).toFixed(1)} trace for ×${n / sizes[sizes.indexOf(n) - 1]!} nodes)` : '';
      rows.push(`${cni.padEnd(16)} ${String(n).padStart(5)} nodes: build cluster median ${l.median.toFixed(1)} ms (p95 ${l.p95.toFixed(1)}); trace ${hops} hops ${t.median.toFixed(2)} ms (p95 ${t.p95.toFixed(2)}); encode hops + pcap ${e.median.toFixed(2)} ms (${bytes} B)${growth}`);
      prev = { load: l.median, trace: t.median };
    }
  }
  return rows;
}
