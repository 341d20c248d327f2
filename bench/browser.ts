// The same edit → snapshot + layout + trace figure, measured where a person meets it: typing into
// Monaco in Debian's Chromium, against the production build, with the real engine Worker. The app
// marks each load it sends and measures "podpath:edit" once that version's diagram and trace are on
// screen, from an effect after React's commit (src/state/engineSync.ts, src/ui/diagram/Diagram.tsx);
// the 150 ms typing debounce is not counted.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Page } from '@playwright/test';

const PORT = 4179;
const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Durations of the "podpath:edit" measures that started at or after `since` (page clock). */
async function measuresSince(page: Page, since: number): Promise<number[]> {
  return page.evaluate((t) => globalThis.performance.getEntriesByName('podpath:edit').filter((e) => e.startTime >= t).map((e) => e.duration), since);
}

/** Time of the first complete load → trace after an edit; undefined if none came within 10 s. */
async function editAndWait(page: Page, edit: () => Promise<void>): Promise<number | undefined> {
  const since = await page.evaluate(() => globalThis.performance.now());
  await edit();
  for (let i = 0; i < 1000; i++) {
    const m = await measuresSince(page, since);
    // Wait for the debounce to settle: the last measure of this edit is the one a person sees.
    if (m.length > 0) {
      await sleep(200);
      const all = await measuresSince(page, since);
      return all[all.length - 1];
    }
    await sleep(10);
  }
  return undefined;
}

async function caretTo(page: Page, line: number) {
  await page.locator('.monaco-editor .view-lines').click();
  await page.keyboard.press('Control+Home');
  for (let i = 1; i < line; i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('End');
}

export interface BrowserFigures {
  value: number[];
  structure: number[];
  /** Over all edits: load round trip (snapshot + layout), trace round trip. */
  load: number[];
  trace: number[];
  /** Edits after which no complete load → trace was seen within 10 s (a newer one superseded it). */
  missed: number;
}

/** Serve `dist` with vite preview, load `text` into podpath, time `edits` value and structural edits. */
export async function browserEdits(dist: string, scenarios: { name: string; text: string }[], edits: number): Promise<Map<string, BrowserFigures>> {
  const server = spawn('npx', ['vite', 'preview', '--outDir', dist, '--port', String(PORT), '--strictPort'], { stdio: 'ignore', detached: true });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });
  const out = new Map<string, BrowserFigures>();
  try {
    for (let i = 0; i < 100; i++) {
      try {
        if ((await fetch(`http://localhost:${PORT}/`)).ok) break;
      } catch {
        /* not up yet */
      }
      await sleep(100);
    }
    for (const sc of scenarios) {
      const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
      await page.goto(`http://localhost:${PORT}/`);
      await page.evaluate((text) => (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem('podpath.text.v1', text), sc.text);
      await page.reload();
      for (let i = 0; i < 600 && (await measuresSince(page, 0)).length === 0; i++) await sleep(20);
      const lines = sc.text.split('\n');
      const commentLine = lines.findIndex((l) => l.startsWith('#')) + 1;
      const replicasLine = lines.findIndex((l) => /^\s+replicas: 2$/.test(l)) + 1;
      const figures: BrowserFigures = { value: [], structure: [], load: [], trace: [], missed: 0 };
      await caretTo(page, commentLine);
      for (let k = 0; k < edits + 5; k++) {
        const dt = await editAndWait(page, () => page.keyboard.insertText(String(k % 10)));
        if (dt === undefined) figures.missed++;
        else if (k >= 5) figures.value.push(dt);
      }
      for (let k = 0; k < edits + 5; k++) {
        const dt = await editAndWait(page, async () => {
          await caretTo(page, replicasLine);
          await page.keyboard.press('Backspace');
          await page.keyboard.insertText(k % 2 ? '2' : '3');
        });
        if (dt === undefined) figures.missed++;
        else if (k >= 5) figures.structure.push(dt);
      }
      const parts = await page.evaluate(() => ({
        load: globalThis.performance.getEntriesByName('podpath:load').map((e) => e.duration),
        trace: globalThis.performance.getEntriesByName('podpath:trace').map((e) => e.duration),
      }));
      figures.load = parts.load.slice(1);
      figures.trace = parts.trace.slice(1);
      out.set(sc.name, figures);
      await page.close();
    }
  } finally {
    await browser.close();
    try {
      process.kill(-server.pid!);
    } catch {
      /* already gone */
    }
  }
  return out;
}

