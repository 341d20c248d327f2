// The classic libpcap file format (https://www.tcpdump.org/manpages/pcap-savefile.5.html):
// a 24-byte global header (magic 0xa1b2c3d4, version 2.4, snaplen, LINKTYPE_ETHERNET = 1), then
// per frame a 16-byte record header (seconds, microseconds, captured and original length).
// Little-endian, as libpcap writes on x86. No clock: the caller gives each frame's time.
import type { Trace } from '../types.ts';
import { encodePacket } from './bytes.ts';

export interface PcapFrame {
  bytes: Uint8Array;
  /** Microseconds since the epoch. */
  micros: number;
}

export function pcapFile(frames: readonly PcapFrame[]): Uint8Array {
  const size = 24 + frames.reduce((n, f) => n + 16 + f.bytes.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true); // thiszone
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, 65535, true); // snaplen
  v.setUint32(20, 1, true); // LINKTYPE_ETHERNET
  let o = 24;
  for (const f of frames) {
    v.setUint32(o, Math.floor(f.micros / 1e6), true);
    v.setUint32(o + 4, f.micros % 1e6, true);
    v.setUint32(o + 8, f.bytes.length, true);
    v.setUint32(o + 12, f.bytes.length, true);
    out.set(f.bytes, o + 16);
    o += 16 + f.bytes.length;
  }
  return out;
}

/** 2024-01-01T00:00:00Z: a fixed start, so the same trace always gives the same file. */
const START = 1_704_067_200_000_000;

/**
 * A trace as a capture: the frame after each hop, skipping a hop that left the frame as it was,
 * 100 µs apart. Each record stands for what a capture at that hop's place would show.
 */
export function tracePcapFrames(trace: Trace): { hop: number; frame: PcapFrame }[] {
  const out: { hop: number; frame: PcapFrame }[] = [];
  let last = '';
  for (const h of trace.hops) {
    const bytes = encodePacket(h.after);
    const key = Array.from(bytes).join(',');
    if (key === last) continue;
    last = key;
    out.push({ hop: h.index, frame: { bytes, micros: START + h.index * 100 } });
  }
  return out;
}

export function tracePcap(trace: Trace): Uint8Array {
  return pcapFile(tracePcapFrames(trace).map((f) => f.frame));
}
