import { describe, expect, it } from 'vitest';
import { CNI_CHOICES } from '../scenarios/cniDocs.ts';
import { initI18n } from './i18n.ts';

describe('i18n', () => {
  it.each(['en', 'ja'] as const)('labels every pod network the picker offers (%s)', async (lng) => {
    const i18n = initI18n('en');
    await i18n.changeLanguage(lng);
    for (const c of CNI_CHOICES) {
      const label = i18n.t(`cni.${c}`);
      expect(label, c).not.toBe(`cni.${c}`);
      expect(label, c).toMatch(/^(flannel|Calico|Cilium) \(/);
    }
    expect(i18n.t('cni.cilium-geneve')).toContain('Geneve');
    expect(i18n.t('identity', { n: 4515 })).toContain('4515');
  });
});
