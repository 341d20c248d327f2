// Playback controls: play/pause, previous/next hop, restart. Time is the UI's choice.
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { usePodpath } from '../../state/store.ts';

const STEP_MS = 1100;

const icon = (d: string) => (
  <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
    <path d={d} fill="currentColor" />
  </svg>
);
const ICONS = {
  restart: icon('M2 2h2v12H2zM14 2v12L5 8z'),
  prev: icon('M12 2v12L4 8z'),
  play: icon('M4 2v12l10-6z'),
  pause: icon('M3 2h4v12H3zM9 2h4v12H9z'),
  next: icon('M4 2v12l8-6zM12 2h2v12h-2z'),
};

function usePlaybackClock() {
  const playing = usePodpath((s) => s.playing);
  useEffect(() => {
    if (!playing) return;
    const timer = setInterval(() => {
      const s = usePodpath.getState();
      const last = (s.trace?.hops.length ?? 0) - 1;
      if (s.activeHop >= last) s.setPlaying(false);
      else s.step(1);
    }, STEP_MS);
    return () => clearInterval(timer);
  }, [playing]);
}

export function Playback() {
  const { t } = useTranslation();
  usePlaybackClock();
  const playing = usePodpath((s) => s.playing);
  const activeHop = usePodpath((s) => s.activeHop);
  const total = usePodpath((s) => s.trace?.hops.length ?? 0);
  const s = usePodpath.getState;
  const disabled = total === 0;
  return (
    <div className="pp-playback" role="toolbar" aria-label={t('playback')}>
      <button type="button" onClick={() => s().restart()} disabled={disabled} aria-label={t('restart')} title={t('restart')}>
        {ICONS.restart}
      </button>
      <button
        type="button"
        onClick={() => {
          s().setPlaying(false);
          s().step(-1);
        }}
        disabled={disabled || activeHop === 0}
        aria-label={t('prev')}
        title={t('prev')}
      >
        {ICONS.prev}
      </button>
      <button
        type="button"
        onClick={() => {
          if (!playing && activeHop >= total - 1) s().setActiveHop(0);
          s().setPlaying(!playing);
        }}
        disabled={disabled}
        aria-label={playing ? t('pause') : t('play')}
        title={playing ? t('pause') : t('play')}
        className="pp-play"
      >
        {playing ? ICONS.pause : ICONS.play}
      </button>
      <button
        type="button"
        onClick={() => {
          s().setPlaying(false);
          s().step(1);
        }}
        disabled={disabled || activeHop >= total - 1}
        aria-label={t('next')}
        title={t('next')}
      >
        {ICONS.next}
      </button>
      <span className="pp-hop-counter" aria-live="polite">
        {total > 0 ? t('hopCounter', { n: activeHop + 1, total }) : ''}
      </span>
    </div>
  );
}
