// The UI store (zustand 5): what the person typed, the last good snapshot and its layout, the
// trace being played. State and actions are typed apart; the store never computes networking.
import { create } from 'zustand';
import type { MeshRuns } from '../engine/mesh/flowRuns.ts';
import type { Diagnostic, FlowSpec, Snapshot, Trace } from '../engine/types.ts';
import type { Layout } from '../layout/types.ts';
import { defaultScenario } from '../scenarios/default.ts';

export type Language = 'en' | 'ja';
export type ModelStatus = 'loading' | 'ok' | 'broken';

export const TEXT_KEY = 'podpath.text.v1';
export const LANG_KEY = 'podpath.lang.v1';

/** The mesh's view of a traced flow (request tree, load results), with the flow and seed it is for. */
export interface FlowMeshRuns {
  flow: string;
  seed: number;
  runs: MeshRuns;
}

export interface PodpathState {
  text: string;
  /** Version of `text`; bumped on every edit. */
  version: number;
  /** The last snapshot that was not `failed`, with its layout: what the diagram shows. */
  good: { snapshot: Snapshot; layout: Layout } | null;
  /** Diagnostics of the newest snapshot (failed or not). */
  diagnostics: Diagnostic[];
  status: ModelStatus;
  flows: FlowSpec[];
  selectedFlow: string | null;
  seed: number;
  trace: Trace | null;
  traceError: string | null;
  /** The selected flow's request tree and load results; null until asked for and after an edit. */
  meshRuns: FlowMeshRuns | null;
  meshRunsError: string | null;
  /** True from an edit (or another flow or seed) until the new mesh runs arrive. */
  meshRunsPending: boolean;
  activeHop: number;
  playing: boolean;
  language: Language;
  workerError: string | null;
  /** A request for the editor to reveal a line; the nonce makes repeated clicks count. */
  reveal: { line: number; col: number; nonce: number } | null;
}

export interface PodpathActions {
  setText(text: string): void;
  /** Replaces the text with a built-in scenario (persisted like an edit) and rewinds playback. */
  loadScenario(text: string): void;
  applySnapshot(snapshot: Snapshot, layout: Layout | null): void;
  setTrace(trace: Trace | null, error?: string | null): void;
  setMeshRuns(runs: FlowMeshRuns | null, error?: string | null): void;
  selectFlow(name: string): void;
  setSeed(seed: number): void;
  setActiveHop(index: number): void;
  step(delta: number): void;
  setPlaying(playing: boolean): void;
  restart(): void;
  setLanguage(language: Language): void;
  setWorkerError(message: string | null): void;
  revealLine(line: number, col?: number): void;
}

export type PodpathStore = PodpathState & PodpathActions;

function readStorage(key: string): string | null {
  try {
    return globalThis.localStorage?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

function writeStorage(key: string, value: string) {
  try {
    globalThis.localStorage?.setItem(key, value);
  } catch {
    // Storage full or disabled: the app still works, the text just does not survive a reload.
  }
}

export const usePodpath = create<PodpathStore>()((set, get) => ({
  text: readStorage(TEXT_KEY) ?? defaultScenario,
  version: 1,
  good: null,
  diagnostics: [],
  status: 'loading',
  flows: [],
  selectedFlow: null,
  seed: 1,
  trace: null,
  traceError: null,
  meshRuns: null,
  meshRunsError: null,
  meshRunsPending: false,
  activeHop: 0,
  playing: false,
  language: readStorage(LANG_KEY) === 'ja' ? 'ja' : 'en',
  workerError: null,
  reveal: null,

  setText: (text) => {
    if (text === get().text) return;
    writeStorage(TEXT_KEY, text);
    // The mesh runs were for the old text: drop them (the panel may keep showing them, marked as
    // updating, until the new ones arrive, so the editor above it does not jump on every key).
    set((s) => ({ text, version: s.version + 1, meshRuns: null, meshRunsError: null, meshRunsPending: true }));
  },
  loadScenario: (text) => {
    get().setText(text);
    set({ activeHop: 0, playing: false });
  },
  applySnapshot: (snapshot, layout) =>
    set((s) => {
      if (snapshot.failed || !layout) return { diagnostics: snapshot.diagnostics, status: 'broken' };
      const selectedFlow = pickFlow(snapshot.flows, s.selectedFlow)?.name ?? null;
      return { good: { snapshot, layout }, diagnostics: snapshot.diagnostics, status: 'ok', flows: snapshot.flows, selectedFlow };
    }),
  setTrace: (trace, error = null) =>
    set((s) => ({
      trace,
      traceError: error,
      activeHop: trace ? Math.min(s.activeHop, Math.max(trace.hops.length - 1, 0)) : 0,
    })),
  setMeshRuns: (meshRuns, error = null) => set({ meshRuns, meshRunsError: error, meshRunsPending: false }),
  selectFlow: (name) => set((s) => (name === s.selectedFlow ? { activeHop: 0 } : { selectedFlow: name, activeHop: 0, meshRuns: null, meshRunsError: null, meshRunsPending: true })),
  setSeed: (seed) => set({ seed: Number.isFinite(seed) ? Math.trunc(seed) : 1, meshRunsPending: true }),
  setActiveHop: (index) => {
    const n = get().trace?.hops.length ?? 0;
    set({ activeHop: Math.max(0, Math.min(index, n - 1)) });
  },
  step: (delta) => {
    get().setActiveHop(get().activeHop + delta);
  },
  setPlaying: (playing) => set({ playing }),
  restart: () => set({ activeHop: 0, playing: true }),
  setLanguage: (language) => {
    writeStorage(LANG_KEY, language);
    set({ language });
  },
  setWorkerError: (workerError) => set({ workerError }),
  revealLine: (line, col = 1) => set((s) => ({ reveal: { line, col, nonce: (s.reveal?.nonce ?? 0) + 1 } })),
}));

/** The flow to trace in `flows`: the selected one if it is still there, else the first. */
export function pickFlow(flows: FlowSpec[], selected: string | null): FlowSpec | null {
  return flows.find((f) => f.name === selected) ?? flows[0] ?? null;
}

/** The flow currently selected, as a FlowSpec. */
export function selectedFlowSpec(s: PodpathState): FlowSpec | null {
  return s.flows.find((f) => f.name === s.selectedFlow) ?? null;
}
