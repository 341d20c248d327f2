// The client's recovery paths, with a stand-in Worker that never answers or that crashes: a user
// meets these only when the real engine hangs or throws, which no real input should make happen.
import * as Comlink from 'comlink';
import { describe, expect, it, vi } from 'vitest';
import type { FlowSpec } from '../engine/types.ts';
import { EngineClient } from './client.ts';
import type { EngineApi, Result } from './protocol.ts';

class SilentWorker {
  onerror: ((ev: { message: string; preventDefault(): void }) => void) | null = null;
  terminated = false;
  postMessage() {}
  addEventListener() {}
  removeEventListener() {}
  terminate() {
    this.terminated = true;
  }
}

function setup(timeoutMs: number) {
  const workers: SilentWorker[] = [];
  const errors: string[] = [];
  const client = new EngineClient({
    timeoutMs,
    createWorker: () => {
      const w = new SilentWorker();
      workers.push(w);
      return w as unknown as Worker;
    },
    onWorkerError: (m) => errors.push(m),
  });
  return { client, workers, errors };
}

describe('EngineClient', () => {
  it('replaces a worker that does not answer and reports it as data', async () => {
    const { client, workers, errors } = setup(30);
    const r = await client.load('kind: Pod', 1);
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/did not answer/) });
    expect(workers).toHaveLength(2);
    expect(workers[0]!.terminated).toBe(true);
    expect(errors).toHaveLength(1);
    client.dispose();
  });

  it('replaces a crashed worker and fails the calls in flight', async () => {
    const { client, workers, errors } = setup(10_000);
    const pending = client.load('kind: Pod', 1);
    workers[0]!.onerror!({ message: 'boom', preventDefault() {} });
    expect(await pending).toEqual({ ok: false, error: expect.stringContaining('boom') });
    expect(workers).toHaveLength(2);
    expect(errors[0]).toContain('crashed');
    client.dispose();
  });

  it('drops a load answer older than the newest request', async () => {
    const { client } = setup(30);
    const first = client.load('a: 1', 1);
    const second = client.load('a: 2', 2);
    expect(await first).toEqual({ ok: false, stale: true });
    expect((await second).ok).toBe(false);
    client.dispose();
  });
});

/** A promise the test settles by hand, so answers can arrive in any order. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

interface Call {
  method: string;
  args: unknown[];
  answer: (r: Result<unknown>) => void;
}

/**
 * A stand-in Worker that answers over a real MessageChannel through Comlink, as the engine worker
 * does; each call waits in `calls` until the test answers it.
 */
class ScriptedWorker {
  onerror: ((ev: { message: string; preventDefault(): void }) => void) | null = null;
  readonly calls: Call[] = [];
  private readonly port: MessagePort;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    const held =
      (method: string) =>
      (...args: unknown[]) => {
        const d = deferred<Result<unknown>>();
        this.calls.push({ method, args, answer: d.resolve });
        return d.promise;
      };
    const api: Record<keyof EngineApi, unknown> = { load: held('load'), trace: held('trace'), meshRuns: held('meshRuns'), traceWith: held('traceWith'), iptablesSave: held('iptablesSave'), envoyConfig: held('envoyConfig') };
    Comlink.expose(api, port2);
    this.port = port1;
  }
  postMessage(message: unknown, transfer: Transferable[] = []) {
    this.port.postMessage(message, transfer);
  }
  addEventListener(type: string, listener: EventListener) {
    this.port.addEventListener(type, listener);
  }
  removeEventListener(type: string, listener: EventListener) {
    this.port.removeEventListener(type, listener);
  }
  start() {
    this.port.start();
  }
  terminate() {
    this.port.close();
  }
}

function scripted() {
  const workers: ScriptedWorker[] = [];
  const client = new EngineClient({
    timeoutMs: 10_000,
    createWorker: () => {
      const w = new ScriptedWorker();
      workers.push(w);
      return w as unknown as Worker;
    },
  });
  /** The calls the worker has received, once there are `n` of them. */
  const calls = async (n: number) => {
    await vi.waitFor(() => expect(workers.at(-1)!.calls).toHaveLength(n));
    return workers.at(-1)!.calls;
  };
  return { client, workers, calls };
}

const flow: FlowSpec = { name: 'f', from: 'k8snet/inspector', to: 'my-nginx:80', protocol: 'TCP' };

describe('EngineClient.traceWith (a flow over a text loaded on the side)', () => {
  it('passes text, version, flow and seed through and returns the answer as data', async () => {
    const { client, calls } = scripted();
    const pending = client.traceWith('kind: IPPool', 7, flow, 3);
    const [call] = await calls(1);
    expect(call!.method).toBe('traceWith');
    expect(call!.args).toEqual(['kind: IPPool', 7, flow, 3]);
    call!.answer({ ok: false, error: 'line 3: bad' });
    expect(await pending).toEqual({ ok: false, error: 'line 3: bad' });
    client.dispose();
  });

  it('drops an older answer even when it arrives after the newer one', async () => {
    const { client, calls } = scripted();
    const older = client.traceWith('a', 1, flow, 1);
    const newer = client.traceWith('b', 1, flow, 2);
    const [first, second] = await calls(2);
    second!.answer({ ok: true, value: 'trace for seed 2' });
    expect(await newer).toEqual({ ok: true, value: 'trace for seed 2' });
    first!.answer({ ok: true, value: 'trace for seed 1' });
    expect(await older).toEqual({ ok: false, stale: true });
    client.dispose();
  });

  it('does not make the main trace stale, nor the main trace it', async () => {
    const { client, calls } = scripted();
    const main = client.trace(flow, 1, 0);
    const side = client.traceWith('b', 1, flow, 1);
    const mainAgain = client.trace(flow, 2, 0);
    const [t1, w, t2] = await calls(3);
    expect([t1!.method, w!.method, t2!.method]).toEqual(['trace', 'traceWith', 'trace']);
    for (const c of [t1, w, t2]) c!.answer({ ok: true, value: c!.method });
    expect(await main).toEqual({ ok: false, stale: true });
    expect(await side).toEqual({ ok: true, value: 'traceWith' });
    expect(await mainAgain).toEqual({ ok: true, value: 'trace' });
    client.dispose();
  });

  it('fails a side trace in flight as data when the worker crashes, and answers again from the new worker', async () => {
    const { client, workers, calls } = scripted();
    const pending = client.traceWith('a', 1, flow, 1);
    await calls(1);
    workers[0]!.onerror!({ message: 'boom', preventDefault() {} });
    expect(await pending).toEqual({ ok: false, error: expect.stringContaining('boom') });
    expect(workers).toHaveLength(2);
    const again = client.traceWith('a', 1, flow, 1);
    const [call] = await calls(1);
    call!.answer({ ok: true, value: 'ok' });
    expect(await again).toEqual({ ok: true, value: 'ok' });
    client.dispose();
  });
});

describe('EngineClient.meshRuns (the request tree and load beside a trace)', () => {
  it('passes flow, seed and version through and returns the answer as data', async () => {
    const { client, calls } = scripted();
    const pending = client.meshRuns(flow, 3, 0);
    const [call] = await calls(1);
    expect(call!.method).toBe('meshRuns');
    expect(call!.args).toEqual([flow, 3, 0]);
    call!.answer({ ok: true, value: { notes: ['none'] } });
    expect(await pending).toEqual({ ok: true, value: { notes: ['none'] } });
    client.dispose();
  });

  it('drops an older answer, and counts apart from traces', async () => {
    const { client, calls } = scripted();
    const older = client.meshRuns(flow, 1, 0);
    const trace = client.trace(flow, 1, 0);
    const newer = client.meshRuns(flow, 2, 0);
    const [m1, t, m2] = await calls(3);
    expect([m1!.method, t!.method, m2!.method]).toEqual(['meshRuns', 'trace', 'meshRuns']);
    m2!.answer({ ok: true, value: 'seed 2' });
    t!.answer({ ok: true, value: 'trace' });
    m1!.answer({ ok: true, value: 'seed 1' });
    expect(await newer).toEqual({ ok: true, value: 'seed 2' });
    expect(await trace).toEqual({ ok: true, value: 'trace' });
    expect(await older).toEqual({ ok: false, stale: true });
    client.dispose();
  });

  it('is stale when a newer text was sent for loading meanwhile', async () => {
    const { client, calls } = scripted();
    const runs = client.meshRuns(flow, 1, 1);
    void client.load('b', 2);
    const [m] = await calls(2);
    m!.answer({ ok: true, value: 'old topology' });
    expect(await runs).toEqual({ ok: false, stale: true });
    client.dispose();
  });
});
