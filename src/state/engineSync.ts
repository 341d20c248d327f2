// Connects the store to the engine Worker: text → (debounce) → load → snapshot; snapshot, flow or
// seed → trace, then the same flow's mesh runs (request tree, load). The only place that talks to the worker client.
import type { FlowSpec, Trace } from '../engine/types.ts';
import { EngineClient, type ClientResult } from '../worker/client.ts';
import { pickFlow, selectedFlowSpec, usePodpath } from './store.ts';

const DEBOUNCE_MS = 150;

export function startEngineSync(): { client: EngineClient; stop: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;
  const client = new EngineClient({ onWorkerError: (m) => onWorkerError(m) });

  function onWorkerError(message: string) {
    usePodpath.getState().setWorkerError(message);
    // The new worker starts empty: give it the current text again.
    void load();
  }

  async function load() {
    const { text, version } = usePodpath.getState();
    // User Timing marks: `npm run bench` reads "podpath:edit" (load sent → diagram and trace on screen).
    performance.mark(`podpath:load:${version}`);
    const r = await client.load(text, version);
    if (disposed || 'stale' in r) return;
    performance.measure('podpath:load', `podpath:load:${version}`);
    if (!r.ok) {
      usePodpath.getState().setWorkerError(r.error);
      return;
    }
    const { snapshot, layout } = r.value;
    if (snapshot.failed) {
      usePodpath.getState().applySnapshot(snapshot, layout);
      return;
    }
    // Trace the new topology before showing it, and apply both in one store update: the diagram
    // then changes once, instead of first drawing the new topology under the old trace (a full
    // render and a frame that delayed the trace's answer by as much as the render itself took).
    const s = usePodpath.getState();
    const flow = pickFlow(snapshot.flows, s.selectedFlow);
    const traced = flow ? await requestTrace(flow, s.seed, snapshot.version) : null;
    if (disposed) return;
    const store = usePodpath.getState();
    store.applySnapshot(snapshot, layout);
    store.setWorkerError(null);
    if (!traced) {
      store.setTrace(null);
      store.setMeshRuns(null);
    }
    // A stale trace means a newer load or trace is on its way and will apply its own.
    else if (!('stale' in traced)) {
      applyTrace(traced);
      void meshRuns(flow!, s.seed, snapshot.version);
    }
  }

  /** The traced flow's request tree and load results, after its trace (the diagram comes first). */
  async function meshRuns(flow: FlowSpec, seed: number, version: number) {
    const r = await client.meshRuns(flow, seed, version);
    if (disposed || 'stale' in r) return;
    const store = usePodpath.getState();
    // The answer is for the flow asked about; another may have been selected meanwhile.
    if (store.selectedFlow !== flow.name) return;
    if (r.ok) store.setMeshRuns({ flow: flow.name, seed, runs: r.value });
    else store.setMeshRuns(null, r.error);
  }

  async function requestTrace(flow: FlowSpec, seed: number, version: number): Promise<ClientResult<Trace>> {
    performance.mark('podpath:trace:start');
    const r = await client.trace(flow, seed, version);
    performance.measure('podpath:trace', 'podpath:trace:start');
    return r;
  }

  function applyTrace(r: Exclude<ClientResult<Trace>, { stale: true }>) {
    if (!r.ok) {
      usePodpath.getState().setTrace(null, r.error);
      return;
    }
    usePodpath.getState().setTrace(r.value);
  }

  async function trace() {
    const s = usePodpath.getState();
    const flow = selectedFlowSpec(s);
    if (!flow) {
      s.setTrace(null);
      s.setMeshRuns(null);
      return;
    }
    const version = s.good?.snapshot.version ?? s.version;
    const r = await requestTrace(flow, s.seed, version);
    if (disposed || 'stale' in r) return;
    applyTrace(r);
    void meshRuns(flow, s.seed, version);
  }

  const unsubscribe = usePodpath.subscribe((s, prev) => {
    if (s.version !== prev.version) {
      clearTimeout(timer);
      timer = setTimeout(() => void load(), DEBOUNCE_MS);
    } else if (s.selectedFlow !== prev.selectedFlow || s.seed !== prev.seed) {
      void trace();
    }
  });
  void load();

  const stop = () => {
    disposed = true;
    clearTimeout(timer);
    unsubscribe();
    client.dispose();
  };
  return { client, stop };
}

/**
 * Ends the "podpath:edit" User Timing measure (load sent for `version` → its diagram and trace on
 * screen). The diagram calls it from an effect, which React runs after the render is committed and
 * painted; `npm run bench` reads the measure.
 */
export function endEditMeasure(version: number) {
  const loaded = `podpath:load:${version}`;
  if (!performance.getEntriesByName(loaded).length) return;
  performance.measure('podpath:edit', loaded);
  performance.clearMarks(loaded);
}
