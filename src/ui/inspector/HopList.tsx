// The trace's hops as a listbox: click or arrow keys select the hop the diagram shows.
import type { KeyboardEvent } from 'react';
import { memo, useEffect, useMemo, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { ids } from '../../engine/ids.ts';
import type { Hop } from '../../engine/types.ts';
import { usePodpath } from '../../state/store.ts';
import { placeLabel } from '../diagram/toFlow.ts';

interface HopRowProps {
  index: number;
  title: string;
  direction: Hop['direction'];
  place: string;
  active: boolean;
}

/** One hop. Plain-value props, so a row is redrawn only when what it shows changes (every new
 *  trace arrives as fresh objects, and moving the active hop touches two rows). */
const HopRow = memo(function HopRow({ index, title, direction, place, active }: HopRowProps) {
  const { t } = useTranslation();
  return (
    <li
      id={`hop-${index}`}
      data-hop={index}
      role="option"
      aria-selected={active}
      className={`pp-hop pp-hop-${direction}${active ? ' is-active' : ''}`}
      onClick={() => {
        usePodpath.getState().setPlaying(false);
        usePodpath.getState().setActiveHop(index);
      }}
    >
      <span className="pp-hop-title">
        {index + 1}. {title}
      </span>
      <span className="pp-hop-at">
        <span className={`pp-dir pp-dir-${direction}`}>{t(direction)}</span> {t('hopAt', { at: place })}
      </span>
    </li>
  );
});

export function HopList() {
  const { t } = useTranslation();
  const trace = usePodpath((s) => s.trace);
  const topology = usePodpath((s) => s.good?.snapshot.topology);
  const activeHop = usePodpath((s) => s.activeHop);
  const list = useRef<HTMLOListElement>(null);
  const places = useMemo(
    () => (trace && topology ? trace.hops.map((h) => (h.at === ids.external() ? t(trace.hops[0]!.at === ids.external() ? 'externalClient' : 'externalServer') : placeLabel(topology, h.at))) : []),
    [trace, topology, t],
  );

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
        <HopRow key={i} index={i} title={h.mechanism.title} direction={h.direction} place={places[i] ?? h.at} active={i === activeHop} />
      ))}
    </ol>
  );
}
