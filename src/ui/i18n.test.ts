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

describe('i18n: the Envoy panel and the Bookinfo scenario', () => {
  it.each(['en', 'ja'] as const)('has every label (%s)', async (lng) => {
    const i18n = initI18n('en');
    await i18n.changeLanguage(lng);
    expect(i18n.t('scenarios.bookinfo')).toBe('Bookinfo (Istio)');
    expect(i18n.t('envoy.title')).toBe('Envoy (istio-proxy)');
    for (const key of ['envoy.pod', 'envoy.hint', 'envoy.tabs', 'envoy.usedHint', 'envoy.usedTitle', 'envoy.none', 'envoy.captureCaption', 'envoy.captureLabel', 'sidecarLabel', 'sidecarHint', ...['listeners', 'routes', 'clusters', 'endpoints', 'capture'].map((v) => `envoy.tab.${v}`)]) {
      expect(i18n.t(key, { pod: 'p', view: 'routes' }), key).not.toBe(key);
    }
    expect(i18n.t('sidecarLabel', { pod: 'productpage-v1-x' })).toContain('productpage-v1-x');
  });
});
