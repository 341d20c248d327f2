// cndjp4 part 2 as written for Istio 0.6: the bootcamp app, its Service and the 50/50 RouteRule,
// pasted into the editor. The panel shows the RouteRule beside the VirtualService (weights 50/50)
// and DestinationRule (subsets v1, v2) that replaced it, jumps the editor to the rule, and speaks
// Japanese too.
// The manifests are read from ../shared/conformance/cndjp4 (oracle-japan/cndjp4 @ b31a472,
// istio-bootcamp/manifests, MIT License, Copyright (c) 2018 Oracle Japan for Developers).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { expect, test } from './fixtures.ts';
import { PodpathPage } from './pages/PodpathPage.ts';

const dir = fileURLToPath(new URL('../../shared/conformance/cndjp4/istio-bootcamp/manifests/', import.meta.url));
// Three of the files end their lines with CRLF; the editor keeps one kind of line ending.
const read = (f: string) => readFileSync(dir + f, 'utf8').replace(/\r\n/g, '\n');
const rule = read('bootcamp-route-rule-50-v2.yaml');
const text = [read('bootcamp.yaml'), read('bootcamp-service.yaml'), rule].join('---\n');
/** The RouteRule's first and last line (1-based) in the pasted text. */
const ruleFrom = text.split('\n').indexOf('apiVersion: config.istio.io/v1alpha2') + 1;
const ruleTo = text.split('\n').length - 1;

test('cndjp4 part 2: the Istio 0.6 RouteRule beside the VirtualService and DestinationRule that replaced it', async ({ page, context }) => {
  const app = new PodpathPage(page);
  await app.open();
  const panel = page.getByRole('region', { name: 'Istio 0.6 objects, translated' });
  await expect(panel).toHaveCount(0); // the default scenario has no Istio 0.x object

  // Paste the three files over the editor's text, through the clipboard as a person does (typed
  // text would be auto-indented by Monaco line after line).
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.evaluate((t) => (globalThis as unknown as { navigator: { clipboard: { writeText(s: string): Promise<void> } } }).navigator.clipboard.writeText(t), text);
  await app.editor.locator('.monaco-editor').click({ position: { x: 90, y: 12 } });
  await expect(app.editor.locator('.monaco-editor')).toHaveClass(/\bfocused\b/);
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('ControlOrMeta+V');
  await expect(panel).toBeVisible({ timeout: 15_000 });
  await expect(page.getByRole('status').filter({ hasText: 'Model up to date' })).toBeVisible({ timeout: 15_000 });

  await expect(panel.getByRole('heading', { level: 2 })).toHaveText(/^▾ Istio 0\.6 objects, translated 1$/);
  const item = panel.getByRole('article', { name: 'RouteRule bootcamp-default' });
  await expect(item.getByRole('heading', { level: 3, name: 'RouteRule bootcamp-default' })).toBeVisible();
  await expect(item.getByRole('heading', { level: 4 })).toHaveText(['Istio 0.6 (as written)', 'Today (translated)']);
  await expect(item).toContainText('config.istio.io/v1alpha2 RouteRule was removed in Istio 0.8: its replacement is a VirtualService');

  // Left: the rule as typed (so the editor got the text as written).
  const original = item.getByLabel('RouteRule bootcamp-default as written');
  expect(await original.textContent()).toBe(rule);
  // Right: the VirtualService with two weighted subset destinations, the DestinationRule with the label sets.
  const translated = item.getByLabel('RouteRule bootcamp-default translated');
  await expect(translated).toContainText('kind: VirtualService');
  const [vs, dr] = yaml.loadAll((await translated.textContent()) ?? '') as { apiVersion: string; kind: string; spec: unknown }[];
  expect(vs).toMatchObject({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService' });
  expect(vs!.spec).toEqual({
    hosts: ['bootcamp'],
    http: [{ route: [{ destination: { host: 'bootcamp', subset: 'v1' }, weight: 50 }, { destination: { host: 'bootcamp', subset: 'v2' }, weight: 50 }] }],
  });
  expect(dr).toMatchObject({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule' });
  expect(dr!.spec).toEqual({ host: 'bootcamp', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] });

  // Readable in the editor's column at this width: neither column cuts a line off.
  for (const pre of [original, translated]) expect(await pre.evaluate((el) => el.scrollWidth - el.clientWidth)).toBeLessThanOrEqual(0);

  // From the keyboard: the button moves the editor to the rule's first line.
  const jump = item.getByRole('button', { name: `Show in the editor (lines ${ruleFrom}–${ruleTo})` });
  await jump.focus();
  await page.keyboard.press('Enter');
  await expect(app.editor.locator('.monaco-editor')).toHaveClass(/\bfocused\b/);
  await expect(app.editor.locator('.line-numbers.active-line-number')).toHaveText(String(ruleFrom));
  // The rule in the editor above, the two columns from their headings in view below.
  await item.locator('.pp-legacy-columns').evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: '/tmp/legacy-panel.png' });

  // The heading's button folds the panel away and back.
  const toggle = panel.getByRole('button', { name: /Istio 0\.6 objects, translated/ });
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  await toggle.focus();
  await page.keyboard.press('Enter');
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  await expect(original).toBeHidden();
  await page.keyboard.press('Space');
  await expect(original).toBeVisible();

  // In Japanese.
  await page.getByRole('combobox', { name: 'Language' }).selectOption('ja');
  const panelJa = page.getByRole('region', { name: 'Istio 0.6 のオブジェクトと現在の書き方' });
  await expect(panelJa.getByRole('heading', { level: 2 })).toHaveText(/Istio 0\.6 のオブジェクトと現在の書き方/);
  await expect(panelJa.getByRole('heading', { level: 4 })).toHaveText(['Istio 0.6 (書かれたまま)', '現在 (翻訳後)']);
  await expect(panelJa.getByLabel('翻訳後の RouteRule bootcamp-default')).toContainText('weight: 50');
  await page.screenshot({ path: '/tmp/legacy-panel-ja.png' });
});
