// npm run conformance -- [dir...]: run every reference case found under the given directories
// (default: ../shared/conformance), recognised by its layout, not its name. One line per case,
// then "N passed, N failed"; exit code 1 on any failure.
import { relative, resolve } from 'node:path';
import { defaultRoot, findCases, runCase } from './conformanceRunner.ts';

export function main(args: string[]): number {
  const roots = (args.length ? args : [defaultRoot]).map((a) => resolve(a));
  const cases = roots.flatMap(findCases);
  let passed = 0;
  for (const dir of cases) {
    const r = runCase(dir);
    if (r.ok) passed++;
    console.log(`${r.ok ? 'PASS' : 'FAIL'} ${relative(process.cwd(), dir)}${r.detail ? ` — ${r.detail}` : ''}`);
  }
  console.log(`${passed} passed, ${cases.length - passed} failed`);
  return passed === cases.length ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
