// The sidecar's Envoy configuration, as `istioctl proxy-config` shows it (listeners, routes,
// clusters, endpoints: engine/mesh/proxyConfig.ts), and the pod's capture rules as the
// iptables-restore input istio-init applies. Like the iptables-save panel, it is asked of the
// worker only while open. It is there when the selected hop is at a pod with a sidecar, or the
// flow starts at one; it follows the selected hop's pod (another sidecar can still be picked), and
// marks the rows an Envoy hop used and the capture rules a netfilter hop walked.
import type { KeyboardEvent } from 'react';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ProxyConfigView } from '../../engine/mesh/proxyConfig.ts';
import type { RuleStep } from '../../engine/types.ts';
import { ids } from '../../engine/ids.ts';
import { usePodpath } from '../../state/store.ts';
import type { EngineClient } from '../../worker/client.ts';
import type { EnvoyView } from '../../worker/protocol.ts';
import { envoyMarks, flowPod, podAt, type EnvoyMarks } from './envoyMarks.ts';
import { RuleText } from './RuleText.tsx';
import { isMeshProxy } from '../../engine/mesh/proxyGateway.ts';

type Tab = ProxyConfigView | 'capture';
const TABS: readonly Tab[] = ['listeners', 'routes', 'clusters', 'endpoints', 'capture'];
const NO_RULES: RuleStep[] = [];

interface BodyProps {
  client: EngineClient;
  /** The pod shown (its id, "namespace/name"). */
  pod: string;
  setPod: (pod: string) => void;
  tab: Tab;
  setTab: (tab: Tab) => void;
}

function EnvoyBody({ client, pod, setPod, tab, setTab }: BodyProps) {
  const { t } = useTranslation();
  const topology = usePodpath((s) => s.good?.snapshot.topology);
  const goodVersion = usePodpath((s) => s.good?.snapshot.version);
  const hop = usePodpath((s) => s.trace?.hops[s.activeHop]);
  const [view, setView] = useState<{ pod: string; value: EnvoyView | null; error?: string } | null>(null);
  const tabRefs = useRef<Partial<Record<Tab, HTMLButtonElement | null>>>({});
  const sidecars = useMemo(() => (topology ? topology.nodes.flatMap((n) => n.pods).filter((p) => isMeshProxy(topology, p)) : []), [topology]);

  useEffect(() => {
    let live = true;
    void client.envoyConfig(pod).then((r) => {
      if (live) setView(r.ok ? { pod, value: r.value } : { pod, value: null, error: r.error });
    });
    return () => {
      live = false;
    };
  }, [client, pod, goodVersion]);

  const value = view?.pod === pod ? view.value : null;
  const marks = useMemo(() => (value ? envoyMarks(value.config, hop) : null), [value, hop]);
  const rules = hop && hop.at === ids.sidecar(pod) ? (hop.mechanism.rules ?? NO_RULES) : NO_RULES;

  const onKeyDown = (e: KeyboardEvent) => {
    const i = TABS.indexOf(tab);
    const to: Record<string, number> = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 };
    if (!(e.key in to)) return;
    e.preventDefault();
    const next = TABS[(to[e.key]! + TABS.length) % TABS.length]!;
    setTab(next);
    tabRefs.current[next]?.focus();
  };

  const name = pod.slice(pod.indexOf('/') + 1);
  const used = (v: Tab) => (v !== 'capture' && marks ? marks[v].size : v === 'capture' ? rules.filter((r) => r.matched).length : 0);
  return (
    <>
      <label>
        {t('envoy.pod')}{' '}
        <select value={pod} onChange={(e) => setPod(e.target.value)}>
          {sidecars.map((p) => (
            <option key={p.id} value={p.id}>
              {p.namespace}/{p.name}
            </option>
          ))}
        </select>
      </label>
      <p className="pp-muted pp-envoy-hint">{t('envoy.hint', { pod: name })}</p>
      <div role="tablist" aria-label={t('envoy.tabs')} className="pp-envoy-tabs" onKeyDown={onKeyDown}>
        {TABS.map((v) => (
          <button
            key={v}
            ref={(el) => {
              tabRefs.current[v] = el;
            }}
            type="button"
            role="tab"
            id={`pp-envoy-tab-${v}`}
            aria-selected={tab === v}
            aria-controls="pp-envoy-tabpanel"
            tabIndex={tab === v ? 0 : -1}
            onClick={() => setTab(v)}
          >
            {t(`envoy.tab.${v}`)}
            {used(v) > 0 ? (
              <span className="pp-envoy-used" title={t('envoy.usedHint')}>
                <span aria-hidden="true"> ●</span>
                <span className="pp-sr-only"> ({t('envoy.usedHint')})</span>
              </span>
            ) : null}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="pp-envoy-tabpanel" aria-labelledby={`pp-envoy-tab-${tab}`} className="pp-envoy-panel">
        {view?.error ? <p className="pp-error">{view.error}</p> : null}
        {!value ? (
          <p className="pp-muted">{view?.pod === pod ? t('envoy.none') : t('status.loading')}</p>
        ) : tab === 'capture' && !value.capture ? (
          <p className="pp-muted pp-envoy-caption">{t('envoy.noCapture', { pod: name })}</p>
        ) : tab === 'capture' ? (
          <>
            <p className="pp-muted pp-envoy-caption">{t('envoy.captureCaption', { pod: name })}</p>
            <RuleText text={value.capture} rules={rules} label={t('envoy.captureLabel', { pod: name })} tabIndex={0} />
          </>
        ) : (
          <>
          {usedLines(value, marks, tab).length > 0 ? (
            <div className="pp-envoy-usedlines">
              <span className="pp-envoy-usedtitle">{t('envoy.usedTitle')}</span>
              <ul>
                {usedLines(value, marks, tab).map((l, i) => (
                  <li key={i}>{l}</li>
                ))}
              </ul>
            </div>
          ) : null}
          <div className="pp-envoy-scroll" tabIndex={0} aria-label={t(`envoy.tab.${tab}`)}>
            <table className="pp-envoy-table">
              <caption className="pp-sr-only">{t('envoy.caption', { view: tab, pod: name })}</caption>
              <thead>
                <tr>
                  {value.tables[tab].columns.map((c) => (
                    <th key={c} scope="col">
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {value.tables[tab].rows.map((row, i) => {
                  const isUsed = marks?.[tab].has(i) ?? false;
                  const title = tab === 'clusters' ? value.config.clusters[i]?.name : tab === 'routes' ? value.config.routes[i]?.domains.join(', ') : undefined;
                  return (
                    <tr key={i} className={isUsed ? 'is-used' : undefined} title={title} data-used={isUsed || undefined}>
                      {row.map((cell, j) => (
                        <td key={j}>
                          {j === 0 && isUsed ? <span className="pp-sr-only">{t('envoy.usedHint')}: </span> : null}
                          {cell}
                        </td>
                      ))}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          </>
        )}
      </div>
    </>
  );
}

/** The rows the selected hop used, each as one line that wraps (the table scrolls sideways). */
function usedLines(value: EnvoyView, marks: EnvoyMarks | null, tab: ProxyConfigView): string[] {
  if (!marks) return [];
  const c = value.config;
  const at = <T,>(rows: T[]) => [...marks[tab]].sort((a, b) => a - b).map((i) => rows[i]!).filter(Boolean);
  switch (tab) {
    case 'listeners':
      return at(c.listeners).map((l) => `${l.name} (${l.address}:${l.port}) · ${l.match} → ${l.destination}`);
    case 'routes':
      return at(c.routes).map((r) => `${r.name} › ${r.vhost} › ${r.match} → ${r.destination}${r.virtualService ? ` (VirtualService ${r.virtualService})` : ''}`);
    case 'clusters':
      return at(c.clusters).map((x) => `${x.name} · ${x.type}${x.lbPolicy ? ` · ${x.lbPolicy}` : ''}${x.destinationRule ? ` · DestinationRule ${x.destinationRule}` : ''}`);
    case 'endpoints':
      return at(c.endpoints).map((e) => `${e.endpoint} ${e.status} · ${e.cluster}${e.pod ? ` (${e.pod})` : ''}`);
  }
}

export function EnvoyPanel({ client }: { client: EngineClient }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [picked, setPicked] = useState('');
  const [tab, setTab] = useState<Tab>('routes');
  const topology = usePodpath((s) => s.good?.snapshot.topology);
  // The sidecar of the selected hop's pod, else of the flow's client pod.
  const hopPodId = usePodpath((s) => {
    const at = s.trace?.hops[s.activeHop]?.at;
    const p = at && s.good ? podAt(s.good.snapshot.topology, at) : undefined;
    return p && s.good && isMeshProxy(s.good.snapshot.topology, p) ? p.id : undefined;
  });
  const fromPodId = usePodpath((s) => {
    const p = s.good ? flowPod(s.good.snapshot.topology, s.trace?.flow.from) : undefined;
    return p?.sidecar ? p.id : undefined;
  });
  // Follow the selected hop's pod: switch once per newly selected hop, so a pod picked by hand
  // stays until another hop at a sidecar is selected.
  const hopKey = usePodpath((s) => (hopPodId ? `${s.trace?.flow.name}#${s.activeHop}#${hopPodId}` : null));
  const [followed, setFollowed] = useState<string | null>(null);
  if (hopKey !== followed) {
    setFollowed(hopKey);
    if (hopPodId) setPicked(hopPodId);
  }
  if (!topology || (!hopPodId && !fromPodId)) return null;
  const pickedStill = picked && topology.nodes.some((n) => n.pods.some((p) => p.id === picked && isMeshProxy(topology, p))) ? picked : '';
  const pod = pickedStill || hopPodId || fromPodId!;
  return (
    <details className="pp-iptables pp-envoy" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>{t('envoy.title')}</summary>
      {open ? <EnvoyBody client={client} pod={pod} setPod={setPicked} tab={tab} setTab={setTab} /> : null}
    </details>
  );
}
