// A worker thread of `nonstop lab btr-eval`: loads the trace once, then runs the points the
// main thread sends, reporting progress (at most every 250 ms) and results.

import { parentPort, workerData } from 'node:worker_threads';
import type { PointSpec } from './plan.js';
import { runPoint } from './run-point.js';
import { loadTrace, perKeyChanges } from './trace.js';

export type ToWorker = { readonly type: 'run'; readonly id: string; readonly spec: PointSpec };
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly id: string; readonly fraction: number }
  | {
      readonly type: 'done';
      readonly id: string;
      readonly result: unknown;
      readonly wallMs: number;
    }
  | { readonly type: 'error'; readonly id?: string; readonly message: string };

const port = parentPort;
if (!port) throw new Error('btr-eval worker: not in a worker thread');
const { tracePath } = workerData as { tracePath: string };
const post = (m: FromWorker): void => port.postMessage(m);

try {
  const trace = await loadTrace(tracePath);
  const perKey = perKeyChanges(trace);
  port.on('message', (m: ToWorker) => {
    if (m.type !== 'run') return;
    const wall = performance.now();
    let last = 0;
    try {
      const result = runPoint(trace, perKey, m.spec, (fraction) => {
        const now = performance.now();
        if (now - last < 250) return;
        last = now;
        post({ type: 'progress', id: m.id, fraction });
      });
      post({ type: 'done', id: m.id, result, wallMs: performance.now() - wall });
    } catch (e) {
      post({ type: 'error', id: m.id, message: (e as Error).stack ?? String(e) });
    }
  });
  post({ type: 'ready' });
} catch (e) {
  post({ type: 'error', message: (e as Error).message });
}
