// worker_threads entry: load the TypeScript worker through tsx (workers don't inherit loaders).
import { tsImport } from 'tsx/esm/api';
await tsImport('./engineWorker.ts', import.meta.url);
