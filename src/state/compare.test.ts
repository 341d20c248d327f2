import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadSnapshot } from '../engine/index.ts';
import type { FlowSpec, Trace } from '../engine/types.ts';
import type { Layout } from '../layout/types.ts';
import { withCni } from '../scenarios/cniDocs.ts';
import { defaultScenario } from '../scenarios/default.ts';
import type { ClientResult } from '../worker/client.ts';
import type { SideTrace } from '../worker/protocol.ts';
import { compareTarget, resolveOther, useCompare } from './compare.ts';
import { startCompareSync } from './compareSync.ts';
import { usePodpath } from './store.ts';

const layout = { nodes: [], edges: [], width: 0, height: 0 } as unknown as Layout;

/** The main store as engineSync leaves it after loading `text` as `version`. */
function loaded(text: string, version: number) {
  const snapshot = loadSnapshot(text, version);
  usePodpath.setState({ text, version });
  usePodpath.getState().applySnapshot(snapshot, layout);
}

describe('resolveOther', () => {
  it('keeps the pick unless it is the text’s own pod network; else the first other choice', () => {
    expect(resolveOther('flannel-vxlan', 'calico-ipip')).toBe('calico-ipip');
    expect(resolveOther('flannel-vxlan', null)).toBe('flannel-host-gw');
    expect(resolveOther('flannel-vxlan', 'flannel-vxlan')).toBe('flannel-host-gw');
    expect(resolveOther('calico-bgp', null)).toBe('flannel-vxlan');
  });
});

describe('compareTarget', () => {
  it('is the good snapshot’s version, the selected flow and the seed, with the text’s pod network on the left', () => {
    const s = loadSnapshot(withCni(defaultScenario, 'calico-vxlan', '10.32.0.0/16'), 4);
    const t = compareTarget({ good: { snapshot: s, layout }, flows: s.flows, selectedFlow: s.flows[0]!.name, seed: 9 }, null);
    expect(t).toMatchObject({ version: 4, seed: 9, current: 'calico-vxlan', other: 'flannel-vxlan', podCIDR: '10.32.0.0/16' });
    expect(t!.flow).toBe(s.flows[0]);
  });

  it('is null without a good snapshot or a selected flow', () => {
    const s = loadSnapshot(defaultScenario, 1);
    expect(compareTarget({ good: null, flows: s.flows, selectedFlow: s.flows[0]!.name, seed: 1 }, null)).toBeNull();
    expect(compareTarget({ good: { snapshot: s, layout }, flows: s.flows, selectedFlow: 'gone', seed: 1 }, null)).toBeNull();
  });
});

describe('startCompareSync', () => {
  interface Asked {
    text: string;
    version: number;
    flow: FlowSpec;
    seed: number;
    answer: (r: ClientResult<SideTrace>) => void;
  }
  let stop = () => {};
  afterEach(() => {
    stop();
    useCompare.setState({ open: false, chosen: null, result: null, error: null });
  });

  function setup() {
    const asked: Asked[] = [];
    const client = {
      traceWith: (text: string, version: number, flow: FlowSpec, seed: number) =>
        new Promise<ClientResult<SideTrace>>((answer) => asked.push({ text, version, flow, seed, answer })),
    };
    loaded(defaultScenario, 1);
    usePodpath.setState({ seed: 1 });
    stop = startCompareSync(client).stop;
    return asked;
  }
  const sideTrace = (seed: number): SideTrace => ({
    cni: loadSnapshot(withCni(defaultScenario, 'calico-ipip'), 1).topology.settings.cni,
    trace: { seed } as Trace,
  });

  it('asks nothing while closed; on opening, traces the same flow and seed over the text rewritten for the other pod network', () => {
    const asked = setup();
    usePodpath.getState().setSeed(2);
    expect(asked).toHaveLength(0);
    useCompare.getState().setOpen(true);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ text: withCni(defaultScenario, 'flannel-host-gw', '10.244.0.0/16'), version: 1, seed: 2 });
    expect(asked[0]!.flow.name).toBe(usePodpath.getState().selectedFlow);
    useCompare.getState().choose('calico-ipip');
    expect(asked[1]!.text).toBe(withCni(defaultScenario, 'calico-ipip', '10.244.0.0/16'));
  });

  it('shows an answer with the pod network the engine read, and the question it answers', async () => {
    const asked = setup();
    useCompare.setState({ open: true, chosen: 'calico-ipip' });
    asked[0]!.answer({ ok: true, value: sideTrace(1) });
    await vi.waitFor(() => expect(useCompare.getState().result).not.toBeNull());
    const { result } = useCompare.getState();
    expect(result!.cni).toBe('calico-ipip');
    expect(result!.key).toBe(compareTarget(usePodpath.getState(), 'calico-ipip')!.key);
  });

  it('a text being edited (not yet a good snapshot) is not traced: the good snapshot’s text is', () => {
    const asked = setup();
    useCompare.getState().setOpen(true);
    usePodpath.getState().setText(`${defaultScenario}\nkind: [broken`);
    usePodpath.getState().setSeed(3);
    expect(asked.at(-1)).toMatchObject({ version: 1, seed: 3, text: withCni(defaultScenario, 'flannel-host-gw', '10.244.0.0/16') });
    // The edit becomes the good snapshot: now its text is traced.
    const edited = defaultScenario.replace('replicas: 2', 'replicas: 3');
    usePodpath.getState().setText(edited);
    const v = usePodpath.getState().version;
    loaded(edited, v);
    expect(asked.at(-1)).toMatchObject({ version: v, text: withCni(edited, 'flannel-host-gw', '10.244.0.0/16') });
  });

  it('drops a stale answer, keeps an error as data and asks again on the next change', async () => {
    const asked = setup();
    useCompare.getState().setOpen(true);
    asked[0]!.answer({ ok: false, stale: true });
    await Promise.resolve();
    expect(useCompare.getState()).toMatchObject({ result: null, error: null });
    usePodpath.getState().setSeed(5);
    asked[1]!.answer({ ok: false, error: 'the engine worker crashed: boom' });
    await vi.waitFor(() => expect(useCompare.getState().error?.message).toContain('boom'));
    // The worker is replaced and engineSync reloads the same text: a new good snapshot, same question.
    loaded(defaultScenario, 1);
    expect(asked).toHaveLength(3);
    expect(asked[2]!.seed).toBe(5);
  });
});
