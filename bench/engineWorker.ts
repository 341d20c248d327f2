// The bench's stand-in for the app's engine Worker, on worker_threads: the same calls per edit
// (snapshot, layout, trace of the first flow) behind a message round trip.
import { parentPort } from 'node:worker_threads';
import { loadSnapshot, traceFlow } from '../src/engine/index.ts';
import { layoutTopology } from '../src/layout/layout.ts';

parentPort!.on('message', async (m: { text: string; version: number }) => {
  const snap = loadSnapshot(m.text, m.version);
  const layout = await layoutTopology(snap.topology);
  const trace = snap.flows[0] ? traceFlow(snap.topology, snap.flows[0], 1) : undefined;
  parentPort!.postMessage({ version: m.version, hops: trace?.hops.length ?? 0, boxes: Object.keys(layout).length, verdict: trace?.verdict.kind });
});
