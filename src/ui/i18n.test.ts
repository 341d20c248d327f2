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

describe('i18n: the Istio 0.6 translation panel', () => {
  it.each([
    ['en', 'Istio 0.6 objects, translated', 'Istio 0.6 (as written)', 'Today (translated)'],
    ['ja', 'Istio 0.6 のオブジェクトと現在の書き方', 'Istio 0.6 (書かれたまま)', '現在 (翻訳後)'],
  ] as const)('has every label (%s)', async (lng, title, original, translated) => {
    const i18n = initI18n('en');
    await i18n.changeLanguage(lng);
    expect([i18n.t('legacy.title'), i18n.t('legacy.original'), i18n.t('legacy.translated')]).toEqual([title, original, translated]);
    const names = { kind: 'RouteRule', name: 'bootcamp-default', from: 57, to: 71, fields: 'spec.httpFault' };
    for (const key of ['legacy.intro', 'legacy.object', 'legacy.originalLabel', 'legacy.translatedLabel', 'legacy.jump', 'legacy.untranslated']) {
      const s = i18n.t(key, names);
      expect(s, key).not.toBe(key);
      expect(s, key).not.toMatch(/\{\{/);
    }
    expect(i18n.t('legacy.jump', names)).toMatch(/57–71/);
    expect(i18n.t('legacy.translatedLabel', names)).toContain('RouteRule bootcamp-default');
  });
});

describe('i18n: the Mesh requests panel and the Istio task scenarios', () => {
  it.each([
    ['en', 'Mesh requests', 'HTTP 200 after 6.000 s', 'Circuit breaking (Istio)', 'Egress gateway (Istio)'],
    ['ja', 'メッシュのリクエスト', '6.000 秒後に HTTP 200', 'サーキットブレーカー (Istio)', 'Egress ゲートウェイ (Istio)'],
  ] as const)('has every label (%s)', async (lng, title, answer, circuitBreaking, egressGateway) => {
    const i18n = initI18n('en');
    await i18n.changeLanguage(lng);
    expect(i18n.t('requests.title')).toBe(title);
    expect(i18n.t('requests.answer', { status: 200, seconds: '6.000' })).toBe(answer);
    expect([i18n.t('scenarios.circuitBreaking'), i18n.t('scenarios.egressGateway')]).toEqual([circuitBreaking, egressGateway]);
    const values = { status: 503, seconds: '0.500', connections: 3, requests: 30, flags: 'UO × 11', cluster: 'outbound|8000||httpbin', list: 'max_connections 1', from: '1.000', to: '2.000', count: 3, message: 'boom' };
    const keys = ['updating', 'error', 'one', 'noAnswer', 'page', 'sectionOk', 'sectionError', 'sectionNoAnswer', 'events', 'seconds', 'load', 'summary', 'codes', 'code', 'count', 'share', 'flags', 'stats', 'thresholds', 'stat', 'value', 'endpoints', 'endpoint', 'pod', 'requests', 'errors', 'ejections', 'ejectedFor', 'ejectedFrom', 'loadEvents'];
    for (const key of keys.map((k) => `requests.${k}`)) {
      const s = i18n.t(key, values);
      expect(s, key).not.toBe(key);
      expect(s, key).not.toMatch(/\{\{/);
    }
    expect(i18n.t('requests.load', values)).toContain('-c 3 -n 30');
  });
});
