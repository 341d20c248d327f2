// The client's recovery paths, with a stand-in Worker that never answers or that crashes: a user
// meets these only when the real engine hangs or throws, which no real input should make happen.
import { describe, expect, it } from 'vitest';
import { EngineClient } from './client.ts';

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
