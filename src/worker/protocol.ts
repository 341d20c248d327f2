// The typed RPC surface between the UI and the engine Worker. Everything here is plain data:
// errors are values ({ ok: false }), never exceptions crossing the boundary.
import type { MeshRuns } from '../engine/mesh/flowRuns.ts';
import type { ConfigTable, ProxyConfig, ProxyConfigView } from '../engine/mesh/proxyConfig.ts';
import type { CniSettings, FlowSpec, Snapshot, Trace } from '../engine/types.ts';
import type { Layout } from '../layout/types.ts';

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

export interface LoadResult {
  snapshot: Snapshot;
  /** Layout of the snapshot's topology; null when the snapshot failed (keep the last good one). */
  layout: Layout | null;
}

/** A flow traced over a text loaded on the side (see `traceWith`). */
export interface SideTrace {
  /** The pod network the text configures, as the engine read it (not as the caller asked). */
  cni: CniSettings;
  trace: Trace;
}

/** A sidecar's Envoy configuration (what istioctl proxy-config shows) and its pod's capture rules. */
export interface EnvoyView {
  /** "namespace/name" of the pod. */
  pod: string;
  config: ProxyConfig;
  /** Each view as a table; rows in the same order as the config's. */
  tables: Record<ProxyConfigView, ConfigTable>;
  /** The iptables-restore input istio-init (or the istio-cni plugin) applies in the pod's network namespace. */
  capture: string;
}

export interface EngineApi {
  load(text: string, version: number): Promise<Result<LoadResult>>;
  /** Traces a flow over the worker's last good topology. */
  trace(flow: FlowSpec, seed: number, version: number): Promise<Result<Trace>>;
  /**
   * The same flow as the mesh sees it, over the last good topology: the request tree in virtual
   * time and, when the flow asks for load, fortio's results (engine/mesh/flowRuns.ts).
   */
  meshRuns(flow: FlowSpec, seed: number, version: number): Promise<Result<MeshRuns>>;
  /**
   * Loads `text` on the side and traces `flow` over it, leaving the topology `load` keeps (and
   * `trace` uses) alone: the same flow under another configuration, e.g. another pod network.
   * A text with errors is an error result.
   */
  traceWith(text: string, version: number, flow: FlowSpec, seed: number): Promise<Result<SideTrace>>;
  iptablesSave(node: string): Promise<Result<string>>;
  /** The Envoy view of a pod of the last good topology; null when it has no sidecar. */
  envoyConfig(podId: string): Promise<Result<EnvoyView | null>>;
}
