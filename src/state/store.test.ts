// The mesh runs in the store: kept for the flow and seed they answer, dropped when the text or the
// flow changes (they were computed for another one).
import { describe, expect, it } from 'vitest';
import { usePodpath, type FlowMeshRuns } from './store.ts';

const runs: FlowMeshRuns = { flow: 'jason', seed: 1, runs: { notes: [] } };

describe('store: mesh runs', () => {
  it('keeps what arrives and ends the wait', () => {
    usePodpath.setState({ meshRuns: null, meshRunsPending: true, selectedFlow: 'jason' });
    usePodpath.getState().setMeshRuns(runs);
    expect(usePodpath.getState()).toMatchObject({ meshRuns: runs, meshRunsError: null, meshRunsPending: false });
    usePodpath.getState().setMeshRuns(null, 'boom');
    expect(usePodpath.getState()).toMatchObject({ meshRuns: null, meshRunsError: 'boom', meshRunsPending: false });
  });

  it('drops them on an edit and on another flow, not on a click of the same flow', () => {
    usePodpath.getState().setMeshRuns(runs);
    usePodpath.getState().setText(`${usePodpath.getState().text}\n# edited`);
    expect(usePodpath.getState()).toMatchObject({ meshRuns: null, meshRunsPending: true });

    usePodpath.getState().setMeshRuns(runs);
    usePodpath.getState().selectFlow('jason');
    expect(usePodpath.getState().meshRuns).toBe(runs);
    usePodpath.getState().selectFlow('other');
    expect(usePodpath.getState()).toMatchObject({ meshRuns: null, meshRunsPending: true, selectedFlow: 'other' });
  });
});
