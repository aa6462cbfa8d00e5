// Runs input-log compactions (compaction-files.ts compactInputFiles) in one worker thread,
// started on first use and unreferenced (it never keeps the speaker alive), so the
// speaker's event loop only does the cheap install step (docs/tcpr.md "Non-stop BGP").
// Jobs queue in the worker and run one at a time. `inline` runs them on the calling thread
// instead (TcprBgpOptions.compactInline). A worker that cannot start or dies fails the jobs
// in flight (the caller retries later); there is no silent fallback to the event loop,
// where a full table's compaction would stall every session for seconds.

import { Worker } from 'node:worker_threads';
import {
  compactInputFiles,
  type InputCompactionDone,
  type InputCompactionJob,
} from './compaction-files.js';

export interface WorkerRequest {
  readonly id: number;
  readonly job: InputCompactionJob;
}

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly done: InputCompactionDone | undefined }
  | { readonly id: number; readonly ok: false; readonly error: string };

const WORKER_URL = new URL('./compaction-worker.js', import.meta.url);

export class CompactionRunner {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (d: InputCompactionDone | undefined) => void; reject: (e: Error) => void }
  >();

  constructor(private readonly inline = false) {}

  run(job: InputCompactionJob): Promise<InputCompactionDone | undefined> {
    if (this.inline) {
      try {
        return Promise.resolve(compactInputFiles(job));
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
    const w = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref(); // a job in flight may keep the process up; an idle worker does not
      w.postMessage({ id, job } satisfies WorkerRequest);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_URL);
    w.unref();
    w.on('message', (r: WorkerReply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) w.unref();
      if (r.ok) p.resolve(r.done);
      else p.reject(new Error(r.error));
    });
    const fail = (e: Error): void => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`compaction worker exited (${code})`)));
    this.worker = w;
    return w;
  }

  /** Stops the worker; jobs in flight fail. */
  close(): void {
    const w = this.worker;
    this.worker = undefined;
    if (w) void w.terminate();
  }
}
