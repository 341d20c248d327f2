import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../engine/snapshot.ts';
import { CNI_CHOICES, cniChoiceOf, withCni } from './cniDocs.ts';
import { defaultScenario } from './default.ts';

describe('withCni', () => {
  it('every choice gives a text the engine reads as that CNI, without errors, keeping the other objects', () => {
    for (const choice of CNI_CHOICES) {
      const text = withCni(defaultScenario, choice);
      const s = loadSnapshot(text, 1);
      expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(cniChoiceOf(s.topology.settings.cni)).toBe(choice);
      expect(s.topology.services.map((x) => x.name)).toEqual(loadSnapshot(defaultScenario, 1).topology.services.map((x) => x.name));
    }
  });

  it('switching again replaces the document instead of adding a second one', () => {
    const once = withCni(defaultScenario, 'calico-ipip');
    const twice = withCni(once, 'flannel-host-gw');
    expect(twice.match(/kind: IPPool/g)).toBeNull();
    expect(twice.match(/kind: ConfigMap/g)).toHaveLength(1);
    expect(withCni(twice, 'flannel-host-gw')).toBe(twice);
    expect(loadSnapshot(twice, 1).diagnostics.filter((d) => d.code === 'PP008')).toEqual([]);
  });
});
