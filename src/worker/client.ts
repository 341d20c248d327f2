// The UI side of the engine Worker: typed calls, stale results dropped, a crashed or hung worker
// replaced. Callers get data ({ ok: false, error }) and never an exception.
import * as Comlink from 'comlink';
import type { MeshRuns } from '../engine/mesh/flowRuns.ts';
import type { FlowSpec, Trace } from '../engine/types.ts';
import type { EngineApi, EnvoyView, LoadResult, Result, SideTrace } from './protocol.ts';

export type Stale = { ok: false; stale: true };
export type ClientResult<T> = Result<T> | Stale;

export interface EngineClientOptions {
  /** A call without an answer after this long counts as a hung worker. */
  timeoutMs?: number;
  /** Called when the worker crashed or hung and was replaced. */
  onWorkerError?: (message: string) => void;
  createWorker?: () => Worker;
}

const defaultWorker = () => new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'podpath-engine' });

export class EngineClient {
  private worker!: Worker;
  private api!: Comlink.Remote<EngineApi>;
  private generation = 0;
  private newestLoad = 0;
  private newestTrace = 0;
  /** Mesh runs count apart from traces: each is asked for beside a trace of the same flow. */
  private newestMeshRuns = 0;
  /** Side traces count apart: a comparison in flight must not make the main trace stale. */
  private newestTraceWith = 0;
  private readonly timeoutMs: number;
  private readonly createWorker: () => Worker;
  private readonly onWorkerError: (message: string) => void;
  /** Rejects the calls in flight when the worker is replaced. */
  private failInFlight = new Set<(reason: string) => void>();

  constructor(opts: EngineClientOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.createWorker = opts.createWorker ?? defaultWorker;
    this.onWorkerError = opts.onWorkerError ?? (() => {});
    this.start();
  }

  private start() {
    this.generation++;
    const gen = this.generation;
    this.worker = this.createWorker();
    this.worker.onerror = (ev) => {
      ev.preventDefault();
      if (gen === this.generation) this.replace(`the engine worker crashed: ${ev.message || 'unknown error'}`);
    };
    this.api = Comlink.wrap<EngineApi>(this.worker);
  }

  private replace(reason: string) {
    this.api[Comlink.releaseProxy]();
    this.worker.terminate();
    for (const fail of this.failInFlight) fail(reason);
    this.failInFlight.clear();
    this.start();
    this.onWorkerError(reason);
  }

  private call<T>(run: (api: Comlink.Remote<EngineApi>) => Promise<Result<T>>): Promise<Result<T>> {
    const gen = this.generation;
    return new Promise<Result<T>>((resolve) => {
      let done = false;
      const finish = (r: Result<T>) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.failInFlight.delete(fail);
        resolve(r);
      };
      const fail = (reason: string) => finish({ ok: false, error: reason });
      this.failInFlight.add(fail);
      const timer = setTimeout(() => {
        const reason = `the engine did not answer within ${this.timeoutMs / 1000} s and was restarted`;
        fail(reason);
        if (gen === this.generation) this.replace(reason);
      }, this.timeoutMs);
      run(this.api).then(finish, (err: unknown) => fail(err instanceof Error ? err.message : String(err)));
    });
  }

  async load(text: string, version: number): Promise<ClientResult<LoadResult>> {
    this.newestLoad = Math.max(this.newestLoad, version);
    const r = await this.call((api) => api.load(text, version));
    return version < this.newestLoad ? { ok: false, stale: true } : r;
  }

  async trace(flow: FlowSpec, seed: number, version: number): Promise<ClientResult<Trace>> {
    const ticket = ++this.newestTrace;
    const r = await this.call((api) => api.trace(flow, seed, version));
    return ticket < this.newestTrace || version < this.newestLoad ? { ok: false, stale: true } : r;
  }

  /** The flow's request tree and load results; stale like a trace (a newer call or a newer load). */
  async meshRuns(flow: FlowSpec, seed: number, version: number): Promise<ClientResult<MeshRuns>> {
    const ticket = ++this.newestMeshRuns;
    const r = await this.call((api) => api.meshRuns(flow, seed, version));
    return ticket < this.newestMeshRuns || version < this.newestLoad ? { ok: false, stale: true } : r;
  }

  /** A flow over a text loaded on the side; an answer older than the newest such call is stale. */
  async traceWith(text: string, version: number, flow: FlowSpec, seed: number): Promise<ClientResult<SideTrace>> {
    const ticket = ++this.newestTraceWith;
    const r = await this.call((api) => api.traceWith(text, version, flow, seed));
    return ticket < this.newestTraceWith ? { ok: false, stale: true } : r;
  }

  iptablesSave(node: string): Promise<Result<string>> {
    return this.call((api) => api.iptablesSave(node));
  }

  /** The Envoy view of a pod with a sidecar (null: the pod has none). */
  envoyConfig(podId: string): Promise<Result<EnvoyView | null>> {
    return this.call((api) => api.envoyConfig(podId));
  }

  dispose() {
    this.generation++;
    this.api[Comlink.releaseProxy]();
    this.worker.terminate();
  }
}
