// The selected flow as the mesh sees it (engine/mesh/flowRuns.ts, asked of the worker beside the
// trace): the whole request tree in virtual time — what the client got and when, what the page
// shows, the story in time order — and, when the Flow asks for load, fortio's results with the
// client Envoy's circuit-breaker and outlier-detection counters. There only when the engine has a
// request tree or load results for the flow; while an edit is being recomputed the last result
// stays, marked as updating, so the editor above does not jump on every key.
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Section, SimResult } from '../../engine/mesh/calls.ts';
import type { LoadResult } from '../../engine/mesh/load.ts';
import { usePodpath, type FlowMeshRuns } from '../../state/store.ts';

/** Virtual time in seconds; sub-millisecond times (a load's hops are 0.5 ms) keep their digit. */
function seconds(ms: number): string {
  return (ms / 1000).toFixed(Number.isInteger(ms) ? 3 : 4);
}

function Sections({ sections }: { sections: Section[] }) {
  const { t } = useTranslation();
  return (
    <ul className="pp-requests-sections">
      {sections.map((s, i) => (
        <li key={i} className={s.ok ? 'is-ok' : 'is-error'}>
          <span className="pp-requests-service">{s.service}</span>{' '}
          <span className="pp-requests-state">{s.ok ? t('requests.sectionOk', { status: s.status }) : s.status ? t('requests.sectionError', { status: s.status }) : t('requests.sectionNoAnswer')}</span>
          {s.message ? <span className="pp-requests-message"> “{s.message}”</span> : null}
          {s.sections.length ? <Sections sections={s.sections} /> : null}
        </li>
      ))}
    </ul>
  );
}

function Events({ events, label }: { events: { atMs: number; text: string }[]; label: string }) {
  const { t } = useTranslation();
  return (
    <ol className="pp-requests-events" aria-label={label}>
      {events.map((e, i) => (
        <li key={i}>
          <span className="pp-requests-time">{t('requests.seconds', { seconds: seconds(e.atMs) })}</span>{' '}
          <span>{e.text}</span>
        </li>
      ))}
    </ol>
  );
}

function Timeline({ timeline }: { timeline: SimResult }) {
  const { t } = useTranslation();
  const id = useId();
  const { root } = timeline;
  const at = seconds(timeline.durationMs);
  return (
    <section className="pp-requests-part" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>{t('requests.one')}</h3>
      <p className={`pp-requests-answer ${timeline.status >= 200 && timeline.status < 400 ? 'is-ok' : 'is-error'}`}>
        <strong>{timeline.status ? t('requests.answer', { status: timeline.status, seconds: at }) : t('requests.noAnswer', { seconds: at })}</strong>{' '}
        <span className="pp-muted">
          {root.from} → {root.to}
          {root.path}
        </span>
      </p>
      {timeline.sections.length ? (
        <>
          <h4>{t('requests.page')}</h4>
          <Sections sections={timeline.sections} />
        </>
      ) : null}
      <h4>{t('requests.events')}</h4>
      <Events events={timeline.events} label={t('requests.events')} />
    </section>
  );
}

const THRESHOLDS = [
  ['maxConnections', 'max_connections'],
  ['maxPendingRequests', 'max_pending_requests'],
  ['maxRequests', 'max_requests'],
  ['maxRetries', 'max_retries'],
  ['maxRequestsPerConnection', 'max_requests_per_connection'],
] as const;

function Load({ load }: { load: LoadResult }) {
  const { t } = useTranslation();
  const id = useId();
  const total = load.codes.reduce((n, c) => n + c.count, 0) || 1;
  const flags = Object.entries(load.flags);
  return (
    <section className="pp-requests-part" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>{t('requests.load', { connections: load.spec.connections, requests: load.spec.requests })}</h3>
      <pre className="pp-requests-summary" tabIndex={0} aria-label={t('requests.summary')}>
        {load.summary.join('\n')}
      </pre>
      <h4 id={`${id}-codes`}>{t('requests.codes')}</h4>
      <table className="pp-requests-table" aria-labelledby={`${id}-codes`}>
        <thead>
          <tr>
            <th scope="col">{t('requests.code')}</th>
            <th scope="col">{t('requests.count')}</th>
            <th scope="col">{t('requests.share')}</th>
          </tr>
        </thead>
        <tbody>
          {load.codes.map((c) => {
            const pct = (100 * c.count) / total;
            return (
              <tr key={c.status} className={c.status >= 500 ? 'is-error' : undefined}>
                <th scope="row">{c.status}</th>
                <td className="pp-num">{c.count}</td>
                <td className="pp-requests-share">
                  <span className="pp-requests-bar" aria-hidden="true">
                    <span style={{ width: `${pct}%` }} />
                  </span>
                  {pct.toFixed(1)} %
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {flags.length ? <p className="pp-requests-flags">{t('requests.flags', { flags: flags.map(([f, n]) => `${f} × ${n}`).join(', ') })}</p> : null}
      {load.clusters.map((c, ci) => (
        <div key={c.cluster}>
          <h4 id={`${id}-cl${ci}`}>{t('requests.stats', { cluster: c.cluster })}</h4>
          <p className="pp-muted pp-requests-thresholds">{t('requests.thresholds', { list: THRESHOLDS.map(([k, name]) => `${name} ${c.thresholds[k]}`).join(' · ') })}</p>
          <table className="pp-requests-table" aria-labelledby={`${id}-cl${ci}`}>
            <thead>
              <tr>
                <th scope="col">{t('requests.stat')}</th>
                <th scope="col">{t('requests.value')}</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(c.stats).map(([name, value]) => (
                <tr key={name} className={value > 0 && /overflow|ejections/.test(name) ? 'is-error' : undefined}>
                  <th scope="row">{name}</th>
                  <td className="pp-num">{value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
      {load.endpoints.length ? (
        <>
          <h4 id={`${id}-eps`}>{t('requests.endpoints')}</h4>
          <table className="pp-requests-table pp-requests-endpoints" aria-labelledby={`${id}-eps`}>
            <thead>
              <tr>
                <th scope="col">{t('requests.endpoint')}</th>
                <th scope="col">{t('requests.pod')}</th>
                <th scope="col">{t('requests.requests')}</th>
                <th scope="col">{t('requests.errors')}</th>
                <th scope="col">{t('requests.ejections')}</th>
              </tr>
            </thead>
            <tbody>
              {load.endpoints.map((e) => (
                <tr key={`${e.cluster} ${e.endpoint}`} title={e.cluster}>
                  <th scope="row">{e.endpoint}</th>
                  <td>{e.pod ?? '—'}</td>
                  <td className="pp-num">{e.requests}</td>
                  <td className="pp-num">{e.errors}</td>
                  <td className="pp-num">
                    {e.ejections.length}
                    {e.ejections.map((j, i) => (
                      <span key={i} className="pp-requests-ejection">
                        {j.toMs === undefined ? t('requests.ejectedFrom', { from: seconds(j.fromMs) }) : t('requests.ejectedFor', { from: seconds(j.fromMs), to: seconds(j.toMs) })}
                      </span>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      {load.events.length ? (
        <details className="pp-requests-loadevents">
          <summary>{t('requests.loadEvents', { count: load.events.length })}</summary>
          <Events events={load.events} label={t('requests.loadEvents', { count: load.events.length })} />
        </details>
      ) : null}
    </section>
  );
}

export function RequestsPanel() {
  const { t } = useTranslation();
  const current = usePodpath((s) => s.meshRuns);
  const pending = usePodpath((s) => s.meshRunsPending);
  const selectedFlow = usePodpath((s) => s.selectedFlow);
  const error = usePodpath((s) => s.meshRunsError);
  const [held, setHeld] = useState<FlowMeshRuns | null>(null);
  const [open, setOpen] = useState(true);
  const id = useId();
  if (current && current !== held) setHeld(current);
  // While an edit is recomputed, keep showing the flow's last result (marked as updating).
  const shown = current ?? (pending && held?.flow === selectedFlow ? held : null);
  const runs = shown?.runs;
  if (!runs?.timeline && !runs?.load && !error) return null;
  const updating = !current && !!shown;
  return (
    <section className="pp-requests" aria-label={t('requests.title')} aria-busy={updating}>
      <h2>
        <button type="button" aria-expanded={open} aria-controls={`${id}-body`} onClick={() => setOpen(!open)}>
          <span aria-hidden="true" className="pp-legacy-caret">
            {open ? '▾' : '▸'}{' '}
          </span>
          {t('requests.title')}
        </button>
        {updating ? <span className="pp-muted pp-requests-updating"> {t('requests.updating')}</span> : null}
      </h2>
      <div id={`${id}-body`} className={`pp-requests-body${updating ? ' is-updating' : ''}`} hidden={!open}>
        {error ? <p className="pp-error">{t('requests.error', { message: error })}</p> : null}
        {runs?.notes.map((n, i) => (
          <p key={i} className="pp-requests-note">
            {n}
          </p>
        ))}
        {runs?.load ? <Load load={runs.load} /> : null}
        {runs?.timeline ? <Timeline timeline={runs.timeline} /> : null}
      </div>
    </section>
  );
}
