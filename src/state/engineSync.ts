// Connects the store to the engine Worker: text → (debounce) → load → snapshot; snapshot, flow or
// seed → trace. The only place that talks to the worker client.
import { EngineClient } from '../worker/client.ts';
import { selectedFlowSpec, usePodpath } from './store.ts';

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
    // User Timing marks: `npm run bench` reads "podpath:edit" (load sent → trace applied).
    performance.mark(`podpath:load:${version}`);
    const r = await client.load(text, version);
    if (disposed || 'stale' in r) return;
    performance.measure('podpath:load', `podpath:load:${version}`);
    if (!r.ok) {
      usePodpath.getState().setWorkerError(r.error);
      return;
    }
    usePodpath.getState().applySnapshot(r.value.snapshot, r.value.layout);
    if (!r.value.snapshot.failed) {
      usePodpath.getState().setWorkerError(null);
      void trace();
    }
  }

  async function trace() {
    const s = usePodpath.getState();
    const flow = selectedFlowSpec(s);
    if (!flow) {
      s.setTrace(null);
      return;
    }
    performance.mark('podpath:trace:start');
    const r = await client.trace(flow, s.seed, s.good?.snapshot.version ?? s.version);
    performance.measure('podpath:trace', 'podpath:trace:start');
    if (disposed || 'stale' in r) return;
    if (r.ok) {
      usePodpath.getState().setTrace(r.value);
      const loaded = `podpath:load:${usePodpath.getState().good?.snapshot.version}`;
      if (performance.getEntriesByName(loaded).length) {
        performance.measure('podpath:edit', loaded);
        performance.clearMarks(loaded);
      }
    } else usePodpath.getState().setTrace(null, r.error);
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
