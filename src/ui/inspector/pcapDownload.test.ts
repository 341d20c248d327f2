import { describe, expect, it } from 'vitest';
import { pcapFileName } from './pcapDownload.ts';

describe('pcapFileName', () => {
  it('names the file after the flow and the seed', () => {
    expect(pcapFileName('inspector-to-my-nginx', 1)).toBe('podpath-inspector-to-my-nginx-seed1.pcap');
  });

  it('keeps characters a file system could refuse out of the name', () => {
    expect(pcapFileName('k8snet/inspector → my-nginx:80', 7)).toBe('podpath-k8snet-inspector-my-nginx-80-seed7.pcap');
    expect(pcapFileName('///', 0)).toBe('podpath-flow-seed0.pcap');
  });
});
