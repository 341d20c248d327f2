export function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function summary(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, median: quantile(s, 0.5), p95: quantile(s, 0.95), min: s[0]!, max: s[s.length - 1]! };
}

export const ms = (x: number) => `${x.toFixed(2)} ms`;
export const kb = (x: number) => `${(x / 1024).toFixed(1)} KiB`;
