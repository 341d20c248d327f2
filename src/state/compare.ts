// The "Compare pod networks" view: whether it is open, which pod network the right column shows,
// and that column's trace. The left column is the main trace (store.ts); compareSync.ts computes
// the right one. Kept apart from the main store: nothing else reads it, and closing the view must
// leave the main trace and playback exactly as they were.
import { create } from 'zustand';
import type { FlowSpec, Trace } from '../engine/types.ts';
import { CNI_CHOICES, cniChoiceOf, type CniChoiceKey } from '../scenarios/cniDocs.ts';
import type { PodpathState } from './store.ts';

/** What the right column should show now: the main trace's flow, seed and text version, another pod network. */
export interface CompareTarget {
  /** Names the question, so an answer to an older one is never shown as the current one. */
  key: string;
  version: number;
  flow: FlowSpec;
  seed: number;
  /** The pod network of the text (the left column). */
  current: CniChoiceKey;
  /** The pod network to trace the same flow with (the right column). */
  other: CniChoiceKey;
  /** The text's pod CIDR, so the rewritten text keeps its addresses' range. */
  podCIDR: string;
}

export interface CompareState {
  open: boolean;
  /** The pod network picked for the right column; null until the person picks one. */
  chosen: CniChoiceKey | null;
  /** The right column's trace and the pod network the engine read from the rewritten text. */
  result: { key: string; cni: CniChoiceKey; trace: Trace } | null;
  error: { key: string; message: string } | null;
}

export interface CompareActions {
  setOpen(open: boolean): void;
  choose(cni: CniChoiceKey): void;
  setResult(result: NonNullable<CompareState['result']>): void;
  setError(error: NonNullable<CompareState['error']>): void;
}

export const useCompare = create<CompareState & CompareActions>()((set) => ({
  open: false,
  chosen: null,
  result: null,
  error: null,
  setOpen: (open) => set({ open }),
  choose: (chosen) => set({ chosen }),
  setResult: (result) => set({ result, error: null }),
  setError: (error) => set({ error, result: null }),
}));

/**
 * The pod network to compare with: the one picked, unless it is the text's own (the person
 * switched the header's picker to it), else the first choice that differs from the text's.
 */
export function resolveOther(current: CniChoiceKey, chosen: CniChoiceKey | null): CniChoiceKey {
  if (chosen && chosen !== current) return chosen;
  return CNI_CHOICES.find((c) => c !== current)!;
}

/** What to compare for the main store's state, or null while there is no good snapshot or no flow. */
export function compareTarget(s: Pick<PodpathState, 'good' | 'flows' | 'selectedFlow' | 'seed'>, chosen: CniChoiceKey | null): CompareTarget | null {
  if (!s.good) return null;
  const flow = s.flows.find((f) => f.name === s.selectedFlow);
  if (!flow) return null;
  const { version, topology } = s.good.snapshot;
  const current = cniChoiceOf(topology.settings.cni);
  const other = resolveOther(current, chosen);
  return { key: `${version}\n${flow.name}\n${s.seed}\n${other}`, version, flow, seed: s.seed, current, other, podCIDR: topology.settings.podCIDR };
}
