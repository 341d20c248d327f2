// The engine's entry points: the only functions the Worker, the CLI and the tests call.
export { loadSnapshot } from './snapshot.ts';
export { traceFlow } from './trace/trace.ts';
export { iptablesSave, ipvsSave, kubeProxySave, nftablesSave } from './dataplane/iptablesSave.ts';
export { ids } from './ids.ts';
export { ruleBody } from './dataplane/nftWalker.ts';
export { encodePacket, decodePacket, checksumProblems } from './packet/bytes.ts';
export { pcapFile, tracePcap, tracePcapFrames } from './packet/pcap.ts';
export type * from './types.ts';
