// The selected trace as a pcap file, built on the main thread by the engine's pure writer and
// handed to the browser as a download: a Blob, an object URL and an <a download>. No request
// leaves the page (a blob: URL is read from memory).
import { tracePcap } from '../../engine/packet/pcap.ts';
import type { Trace } from '../../engine/types.ts';

/**
 * "podpath-<flow>-seed<N>.pcap". Flow names come from the user's YAML: anything outside
 * [A-Za-z0-9._-] becomes '-', so the name is safe on every file system.
 */
export function pcapFileName(flow: string, seed: number): string {
  const safe = flow.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'flow';
  return `podpath-${safe}-seed${seed}.pcap`;
}

/** How long the object URL lives: FileSaver.js waits 40 s, as some browsers read it after click(). */
const REVOKE_AFTER_MS = 40_000;

/** Saves `bytes` as `name` (application/vnd.tcpdump.pcap, the IANA type for pcap). */
export function saveFile(bytes: Uint8Array, name: string, type = 'application/vnd.tcpdump.pcap') {
  // A copy: Blob takes only bytes backed by a plain ArrayBuffer, and the type of `bytes` allows a
  // SharedArrayBuffer (a capture is a few kilobytes, the copy costs nothing noticeable).
  const url = URL.createObjectURL(new Blob([new Uint8Array(bytes)], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
}

export function downloadTracePcap(trace: Trace) {
  saveFile(tracePcap(trace), pcapFileName(trace.flow.name, trace.seed));
}
