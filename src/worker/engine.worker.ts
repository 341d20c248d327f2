// The engine Worker: a thin dispatch from typed RPC calls to the pure engine and layout.
// Nothing else lives here (STYLE.md: keep workers thin).
import * as Comlink from 'comlink';
import { kubeProxySave, loadSnapshot, traceFlow } from '../engine/index.ts';
import { meshRuns } from '../engine/mesh/flowRuns.ts';
import { captureRestore, sidecarCaptureConfig } from '../engine/istio/captureRules.ts';
import { findPod, PROXY_CONFIG_VIEWS, proxyConfig, proxyConfigTable, type ConfigTable, type ProxyConfigView } from '../engine/mesh/proxyConfig.ts';
import type { Topology } from '../engine/types.ts';
import { isMeshProxy } from '../engine/mesh/proxyGateway.ts';
import { layoutTopology } from '../layout/layout.ts';
import type { EngineApi, Result } from './protocol.ts';

let lastGood: Topology | null = null;

async function asResult<T>(run: () => T | Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}

const api: EngineApi = {
  load: (text, version) =>
    asResult(async () => {
      const snapshot = loadSnapshot(text, version);
      if (snapshot.failed) return { snapshot, layout: null };
      lastGood = snapshot.topology;
      return { snapshot, layout: await layoutTopology(snapshot.topology) };
    }),
  trace: (flow, seed) =>
    asResult(() => {
      if (!lastGood) throw new Error('no topology loaded yet');
      return traceFlow(lastGood, flow, seed);
    }),
  meshRuns: (flow, seed) =>
    asResult(() => {
      if (!lastGood) throw new Error('no topology loaded yet');
      return meshRuns(lastGood, flow, seed);
    }),
  traceWith: async (text, version, flow, seed) => {
    const loaded = await asResult(() => loadSnapshot(text, version));
    if (!loaded.ok) return loaded;
    const { topology, failed, diagnostics } = loaded.value;
    if (failed) {
      const first = diagnostics.find((d) => d.severity === 'error');
      return { ok: false, error: first ? `line ${first.line}: ${first.message}` : 'the text has errors' };
    }
    return asResult(() => ({ cni: topology.settings.cni, trace: traceFlow(topology, flow, seed) }));
  },
  iptablesSave: (node) =>
    asResult(() => {
      if (!lastGood) throw new Error('no topology loaded yet');
      return kubeProxySave(lastGood, node);
    }),
  envoyConfig: (podId) =>
    asResult(() => {
      if (!lastGood) throw new Error('no topology loaded yet');
      const pod = findPod(lastGood, podId);
      if (!pod || !isMeshProxy(lastGood, pod)) return null;
      const config = proxyConfig(lastGood, pod);
      const tables = Object.fromEntries(PROXY_CONFIG_VIEWS.map((v) => [v, proxyConfigTable(config, v)])) as Record<ProxyConfigView, ConfigTable>;
      // An Istio gateway captures nothing: its Envoy is the pod's own process.
      const capture = pod.sidecar ? captureRestore(sidecarCaptureConfig({ annotations: pod.sidecar.captureAnnotations, podIPs: [pod.ip] })).ipv4 : '';
      return { pod: config.pod, config, tables, capture };
    }),
};

// elk.bundled.js, when loaded inside a worker, installs its own `self.onmessage` dispatcher that
// would answer Comlink's messages with errors; the layout uses ELK in-process, so remove it.
self.onmessage = null;
Comlink.expose(api);
