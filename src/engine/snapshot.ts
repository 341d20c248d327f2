// Text → Snapshot: the one call the Worker makes on every edit.

import type { Snapshot } from './types.ts';
import { buildCluster, type BuildOptions } from './model/cluster.ts';

export function loadSnapshot(text: string, version: number, opts?: BuildOptions): Snapshot {
  const m = buildCluster(text, opts);
  return { version, topology: m.topology, diagnostics: m.diagnostics, flows: m.flows, legacyTranslations: m.legacyTranslations, failed: m.failed };
}
