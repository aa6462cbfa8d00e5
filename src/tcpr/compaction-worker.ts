// The worker thread of CompactionRunner (compaction-runner.ts): runs step 1 of input-log
// compaction (compaction-files.ts compactInputFiles: read, compact, write the new snapshot
// as .tmp and fsync it) off the speaker's event loop, one job at a time, and posts the
// result back. A full table's compaction takes about a second of CPU (docs/tcpr.md).

import { parentPort } from 'node:worker_threads';
import { compactInputFiles } from './compaction-files.js';
import type { WorkerReply, WorkerRequest } from './compaction-runner.js';

const port = parentPort;
if (!port) throw new Error('compaction-worker.js runs as a worker thread');
port.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = { id: req.id, ok: true, done: compactInputFiles(req.job) };
  } catch (e) {
    reply = { id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
