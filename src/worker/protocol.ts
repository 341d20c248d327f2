// The typed RPC surface between the UI and the engine Worker. Everything here is plain data:
// errors are values ({ ok: false }), never exceptions crossing the boundary.
import type { FlowSpec, Snapshot, Trace } from '../engine/types.ts';
import type { Layout } from '../layout/types.ts';

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

export interface LoadResult {
  snapshot: Snapshot;
  /** Layout of the snapshot's topology; null when the snapshot failed (keep the last good one). */
  layout: Layout | null;
}

export interface EngineApi {
  load(text: string, version: number): Promise<Result<LoadResult>>;
  /** Traces a flow over the worker's last good topology. */
  trace(flow: FlowSpec, seed: number, version: number): Promise<Result<Trace>>;
  iptablesSave(node: string): Promise<Result<string>>;
}
