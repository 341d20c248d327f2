// The trace's hops as a listbox: click or arrow keys select the hop the diagram shows.
import type { KeyboardEvent } from 'react';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { usePodpath } from '../../state/store.ts';
import { placeLabel } from '../diagram/toFlow.ts';

export function HopList() {
  const { t } = useTranslation();
  const trace = usePodpath((s) => s.trace);
  const topology = usePodpath((s) => s.good?.snapshot.topology);
  const activeHop = usePodpath((s) => s.activeHop);
  const setActiveHop = usePodpath((s) => s.setActiveHop);
  const list = useRef<HTMLOListElement>(null);

  useEffect(() => {
    list.current?.querySelector(`[data-hop="${activeHop}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [activeHop]);

  if (!trace || !topology) return <p className="pp-muted">{t('noTrace')}</p>;

  const onKeyDown = (e: KeyboardEvent) => {
    const s = usePodpath.getState();
    const last = trace.hops.length - 1;
    const to: Record<string, number> = {
      ArrowDown: activeHop + 1,
      ArrowRight: activeHop + 1,
      ArrowUp: activeHop - 1,
      ArrowLeft: activeHop - 1,
      Home: 0,
      End: last,
    };
    if (e.key in to) {
      e.preventDefault();
      s.setPlaying(false);
      s.setActiveHop(to[e.key]!);
    } else if (e.key === ' ') {
      e.preventDefault();
      s.setPlaying(!s.playing);
    }
  };

  return (
    <ol
      ref={list}
      className="pp-hops"
      role="listbox"
      aria-label={t('hops')}
      tabIndex={0}
      aria-activedescendant={`hop-${activeHop}`}
      onKeyDown={onKeyDown}
    >
      {trace.hops.map((h, i) => (
        <li
          key={i}
          id={`hop-${i}`}
          data-hop={i}
          role="option"
          aria-selected={i === activeHop}
          className={`pp-hop pp-hop-${h.direction}${i === activeHop ? ' is-active' : ''}`}
          onClick={() => {
            usePodpath.getState().setPlaying(false);
            setActiveHop(i);
          }}
        >
          <span className="pp-hop-title">
            {i + 1}. {h.mechanism.title}
          </span>
          <span className="pp-hop-at">
            <span className={`pp-dir pp-dir-${h.direction}`}>{t(h.direction)}</span> {t('hopAt', { at: placeLabel(topology, h.at) })}
          </span>
        </li>
      ))}
    </ol>
  );
}
