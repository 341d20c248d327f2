// Text → Snapshot: the one call the Worker makes on every edit.

import type { Snapshot } from './types.ts';
import { buildCluster } from './model/cluster.ts';

export function loadSnapshot(text: string, version: number): Snapshot {
  const m = buildCluster(text);
  return { version, topology: m.topology, diagnostics: m.diagnostics, flows: m.flows, failed: m.failed };
}
