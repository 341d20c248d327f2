// The packet as bytes, as a person uses it: read the VXLAN hop's frame in hex with the outer
// headers marked, and take the whole trace to Wireshark as a pcap file.
import { readFile } from 'node:fs/promises';
import type { Locator } from '@playwright/test';
import { expect, test } from './fixtures.ts';
import { PodpathPage } from './pages/PodpathPage.ts';

/** The hex digits in a piece of a dump (no offsets, no spaces), so counts do not depend on layout. */
const hexDigits = (s: string) => s.replace(/[^0-9a-f]/gi, '');

/** Bytes per row of a hex dump table: its first data cell holds the row's hex. */
async function bytesPerRow(dump: Locator): Promise<number[]> {
  const rows = await dump.getByRole('row').all();
  return Promise.all(rows.map(async (r) => hexDigits(await r.getByRole('cell').first().innerText()).length / 2));
}

/** Bytes per row inside marks described as `state`. */
async function markedPerRow(dump: Locator, state: string): Promise<number[]> {
  const rows = await dump.getByRole('row').all();
  return Promise.all(rows.map(async (r) => hexDigits((await r.locator(`mark[aria-description="${state}"]`).allInnerTexts()).join('')).length / 2));
}

test('the VXLAN hop in hex: 50 bytes of outer headers added in front, UDP port 8472 as 2118', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  await app.hopOptions().filter({ hasText: 'VXLAN encapsulation' }).first().click();

  // 124 bytes: 7 rows of 16 and one of 12, offsets as xxd prints them
  const after = page.getByRole('table', { name: 'Bytes after this hop' });
  await expect(after.getByRole('rowheader')).toHaveText(['0000', '0010', '0020', '0030', '0040', '0050', '0060', '0070']);
  expect(await bytesPerRow(after)).toEqual([16, 16, 16, 16, 16, 16, 16, 12]);
  await expect(page.getByRole('heading', { name: /^Bytes after this hop \(124 bytes: \d+ changed, 50 added\)$/ })).toBeVisible();

  // The first 50 bytes (outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8) are added.
  expect(await markedPerRow(after, 'added')).toEqual([16, 16, 16, 2, 0, 0, 0, 0]);
  // The outer UDP destination port, 8472 = 0x2118, at offset 36 (row 0x20, third group).
  await expect(after.getByRole('row').nth(2).getByRole('cell').first()).toContainText(/^\S{4} \S{4} 2118 /);

  // In the inner frame only the Ethernet addresses change (flannel.1 sends from its own MAC to the
  // remote VTEP's): bytes 50–61, in row 0x30 — the MACs the field view marks as changed.
  const changed = await markedPerRow(after, 'changed');
  expect(changed.filter((n, i) => i !== 3 && n > 0)).toEqual([]);
  expect(changed[3]).toBeGreaterThan(0);
  const innerMacs = hexDigits(await after.getByRole('row').nth(3).getByRole('cell').first().innerText()).slice(4, 28);
  const innerEthernet = page.getByRole('region', { name: 'Packet after' }).getByRole('group', { name: 'Ethernet' }).last();
  const changedMacs = (await innerEthernet.locator('mark').allInnerTexts()).map((m) => /(?:[0-9a-f]{2}:){5}[0-9a-f]{2}/.exec(m)![0]);
  expect(changedMacs).toHaveLength(2);
  for (const mac of changedMacs) expect(innerMacs).toContain(hexDigits(mac));

  // The frame before, behind a disclosure a keyboard reaches: the inner frame, its MACs marked.
  const before = page.getByRole('table', { name: 'Bytes before this hop' });
  await expect(before).toBeHidden();
  const summary = page.locator('summary').filter({ hasText: 'Bytes before this hop' });
  await summary.focus();
  await expect(summary).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(before).toBeVisible();
  expect(await bytesPerRow(before)).toEqual([16, 16, 16, 16, 10]);
  expect(await markedPerRow(before, 'removed')).toEqual([0, 0, 0, 0, 0]);
  expect((await markedPerRow(before, 'changed')).slice(1)).toEqual([0, 0, 0, 0]);
  // From the inner IPv4 header on, after's tail is before's bytes.
  const hexColumn = async (dump: Locator) => hexDigits((await dump.getByRole('cell').allInnerTexts()).filter((_, i) => i % 2 === 0).join(''));
  expect((await hexColumn(after)).slice(2 * (50 + 14))).toBe((await hexColumn(before)).slice(2 * 14));

  await after.scrollIntoViewIfNeeded();
  await page.screenshot({ path: 'test-results/hex-view.png' });
});

test('Download pcap saves the trace as a libpcap file', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  const button = app.button('Download pcap');
  await expect(button).toBeEnabled();
  const download = page.waitForEvent('download');
  await button.click();
  const file = await download;
  expect(file.suggestedFilename()).toBe('podpath-inspector-to-my-nginx-seed1.pcap');
  const bytes = await readFile(await file.path());

  // Global header (pcap-savefile(5)): magic a1b2c3d4 written little-endian, version 2.4, LINKTYPE_ETHERNET.
  expect([...bytes.subarray(0, 4)]).toEqual([0xd4, 0xc3, 0xb2, 0xa1]);
  expect([bytes.readUInt16LE(4), bytes.readUInt16LE(6)]).toEqual([2, 4]);
  expect(bytes.readUInt32LE(20)).toBe(1);

  // Records: a 16-byte header each (captured length at +8), ending exactly at the end of the file.
  const frames: Buffer[] = [];
  for (let o = 24; o < bytes.length; ) {
    const caplen = bytes.readUInt32LE(o + 8);
    frames.push(bytes.subarray(o + 16, o + 16 + caplen));
    o += 16 + caplen;
    expect(o).toBeLessThanOrEqual(bytes.length);
  }
  expect(frames.length).toBeGreaterThan(1);
  // Among them the VXLAN frame: 124 bytes, outer UDP to port 8472.
  expect(frames.some((f) => f.length === 124 && f.readUInt16BE(36) === 8472)).toBe(true);
});

test('Japanese labels for the hex view and the download', async ({ page }) => {
  const app = new PodpathPage(page);
  await app.open();
  await app.hopOptions().filter({ hasText: 'VXLAN encapsulation' }).first().click();
  await page.getByRole('combobox', { name: 'Language' }).selectOption('ja');
  await expect(page.getByRole('button', { name: 'pcap をダウンロード' })).toBeEnabled();
  await expect(page.getByRole('table', { name: '処理後のバイト列' })).toBeVisible();
  await expect(page.getByRole('heading', { name: /^処理後のバイト列 \(124 バイト: 変更 \d+、追加 50\)$/ })).toBeVisible();
  await expect(page.getByRole('table', { name: '処理後のバイト列' }).locator('mark').first()).toHaveAttribute('aria-description', '追加');
});
