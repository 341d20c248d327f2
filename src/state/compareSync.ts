// Computes the compare view's right column: the main trace's flow and seed, traced by the worker
// over the same text rewritten for another pod network (withCni). The editor text is not touched.
//
// It follows the main trace rather than the editor: it asks again when a new good snapshot
// arrives (so edits are debounced by engineSync's load, and a text with errors keeps the last good
// comparison, as the diagram does), when the flow or the seed change, and when the view opens or
// another pod network is picked. The text traced is the one of the good snapshot's version, not
// the newest (which may not parse): both columns then come from the same text.
import { cniChoiceOf, withCni } from '../scenarios/cniDocs.ts';
import type { EngineClient } from '../worker/client.ts';
import { compareTarget, useCompare } from './compare.ts';
import { usePodpath } from './store.ts';

export function startCompareSync(client: Pick<EngineClient, 'traceWith'>): { stop: () => void } {
  let disposed = false;
  /** Text per version, from the good snapshot's version on (older ones can no longer be asked for). */
  const texts = new Map<number, string>();
  const first = usePodpath.getState();
  texts.set(first.version, first.text);

  async function request() {
    const c = useCompare.getState();
    if (!c.open) return;
    const target = compareTarget(usePodpath.getState(), c.chosen);
    const text = target ? texts.get(target.version) : undefined;
    // Already on screen; an error is asked again (the worker may have been replaced since).
    if (!target || text === undefined || c.result?.key === target.key) return;
    const r = await client.traceWith(withCni(text, target.other, target.podCIDR), target.version, target.flow, target.seed);
    // Stale: a newer comparison was asked for and will answer.
    if (disposed || 'stale' in r) return;
    const now = useCompare.getState();
    if (r.ok) now.setResult({ key: target.key, cni: cniChoiceOf(r.value.cni), trace: r.value.trace });
    else now.setError({ key: target.key, message: r.error });
  }

  const unsubscribeMain = usePodpath.subscribe((s, prev) => {
    if (s.version !== prev.version) texts.set(s.version, s.text);
    if (s.good !== prev.good && s.good) {
      for (const v of texts.keys()) if (v < s.good.snapshot.version) texts.delete(v);
    }
    if (s.good !== prev.good || s.selectedFlow !== prev.selectedFlow || s.seed !== prev.seed) void request();
  });
  const unsubscribeCompare = useCompare.subscribe((c, prev) => {
    if ((c.open && !prev.open) || c.chosen !== prev.chosen) void request();
  });

  return {
    stop: () => {
      disposed = true;
      unsubscribeMain();
      unsubscribeCompare();
    },
  };
}
