// A frame's bytes as a hex dump (xxd's layout: offset, 16 bytes a row in 2-byte groups, ASCII),
// each byte marked against the frame on the other side of the hop. Pure: the component only
// renders the segments.
//
// Frames are compared aligned at their END: encapsulation (VXLAN, IP-in-IP) puts its headers in
// front of the inner frame and decapsulation takes them off, so the innermost bytes line up from
// the end — as `diffPackets` pairs headers from the innermost outwards.

export type ByteState = 'same' | 'changed' | 'added' | 'removed';

/**
 * The state of each byte of `bytes` against `other`, aligned from the end. Bytes in front of the
 * part they share are `extra` ('added' for the frame after a hop, 'removed' for the one before).
 */
export function compareFromEnd(bytes: Uint8Array, other: Uint8Array, extra: 'added' | 'removed'): ByteState[] {
  const shift = bytes.length - other.length;
  return Array.from(bytes, (b, i) => {
    const j = i - shift;
    if (j < 0) return extra;
    return other[j] === b ? 'same' : 'changed';
  });
}

/** The frame after a hop, marked against the one before: changed bytes, and headers added in front. */
export const markAfter = (before: Uint8Array, after: Uint8Array) => compareFromEnd(after, before, 'added');

/** The frame before a hop, marked against the one after: changed bytes, and headers taken off. */
export const markBefore = (before: Uint8Array, after: Uint8Array) => compareFromEnd(before, after, 'removed');

/** A run of text in one state; `same` runs are plain text (gaps between groups are always `same`). */
export interface HexSegment {
  text: string;
  state: ByteState;
}

export interface HexRow {
  /** Byte offset of the row's first byte, 4 hex digits as xxd -g2 / Wireshark print it. */
  offset: string;
  /** The row's bytes, "4500 003c …", padded so short rows keep the ASCII column aligned. */
  hex: HexSegment[];
  ascii: HexSegment[];
}

export const BYTES_PER_ROW = 16;

const hex2 = (b: number) => b.toString(16).padStart(2, '0');
/** Printable ASCII as itself, anything else as '.', as xxd does. */
const printable = (b: number) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.');
/** What follows the byte at column `col`: a space after each 2-byte group, two after the 8th byte. */
const gapAfter = (col: number) => (col === 7 ? '  ' : col % 2 === 1 ? ' ' : '');
/** Width of a full row's hex text, to pad the last row with. */
const FULL_HEX_WIDTH = BYTES_PER_ROW * 2 + Array.from({ length: BYTES_PER_ROW - 1 }, (_, c) => gapAfter(c).length).reduce((a, b) => a + b, 0);

/** Appends `text` in `state`, joining it to the previous segment when the state is the same. */
function push(segments: HexSegment[], text: string, state: ByteState) {
  const last = segments[segments.length - 1];
  if (last && last.state === state) last.text += text;
  else segments.push({ text, state });
}

/**
 * One row's hex text as runs of equal state. The gap between two bytes joins a run when both
 * bytes are in it, so a marked run reads as one block ("4500 003c") and not byte by byte.
 */
function hexSegments(bytes: Uint8Array, states: readonly ByteState[]): HexSegment[] {
  const segments: HexSegment[] = [];
  bytes.forEach((b, col) => {
    const state = states[col] ?? 'same';
    push(segments, hex2(b), state);
    if (col === bytes.length - 1) return;
    const gap = gapAfter(col);
    if (gap) push(segments, gap, states[col + 1] === state ? state : 'same');
  });
  const width = segments.reduce((n, s) => n + s.text.length, 0);
  if (width < FULL_HEX_WIDTH) push(segments, ' '.repeat(FULL_HEX_WIDTH - width), 'same');
  return segments;
}

function asciiSegments(bytes: Uint8Array, states: readonly ByteState[]): HexSegment[] {
  const segments: HexSegment[] = [];
  bytes.forEach((b, col) => push(segments, printable(b), states[col] ?? 'same'));
  return segments;
}

/** `bytes` as hex dump rows, each byte in the state `states` gives it (missing: 'same'). */
export function hexRows(bytes: Uint8Array, states: readonly ByteState[] = []): HexRow[] {
  const rows: HexRow[] = [];
  for (let at = 0; at < bytes.length; at += BYTES_PER_ROW) {
    const row = bytes.subarray(at, at + BYTES_PER_ROW);
    const rowStates = states.slice(at, at + BYTES_PER_ROW);
    rows.push({ offset: at.toString(16).padStart(4, '0'), hex: hexSegments(row, rowStates), ascii: asciiSegments(row, rowStates) });
  }
  return rows;
}

/** How many bytes are in each state, for the dump's one-line summary. */
export function countStates(states: readonly ByteState[]): Record<ByteState, number> {
  const n: Record<ByteState, number> = { same: 0, changed: 0, added: 0, removed: 0 };
  for (const s of states) n[s]++;
  return n;
}
