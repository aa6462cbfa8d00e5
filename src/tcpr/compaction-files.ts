// The files of one non-stop BGP session (bgp-sessions.ts, docs/tcpr.md "Non-stop BGP"),
// named by the stream offset they start at, so that compaction can replace a log's head
// without ever leaving a state recovery cannot use:
//
//   in-<B>.snap   compacted form of the input stream's octets [0, B) (input-compaction.ts)
//   in-<B>.log    input octets from stream offset B on (appended as they arrive)
//   out-<W>.log   output octets from stream offset W on
//   *.tmp         a file being written; never read
//   in.log, out.log   the single-file layout of earlier versions: base 0, no snapshot
//
// The input state is the newest complete pair: the largest B with both in-<B>.snap and
// in-<B>.log (B = 0 needs no snapshot); the output state is the out-<W>.log with the
// largest W. Every file is complete once it has its name: it is written as .tmp, fsync'ed,
// renamed and the directory fsync'ed before anything that depends on it. Compaction goes:
//   1. (worker) in-<B>.snap.tmp written and fsync'ed;
//   2. renamed to in-<B>.snap, directory fsync'ed — a snapshot without its segment does not
//      count yet, recovery still uses the old pair;
//   3. in-<B>.log.tmp written with the old segment's octets from B to its end, fsync'ed,
//      renamed, directory fsync'ed: from here the new pair is the newest complete one and
//      holds every octet the old one held from B on (the switch runs in one event-loop
//      turn: nothing is appended to the old segment after its tail was copied);
//   4. the old snapshot and segment removed.
// A crash between any two steps leaves the old pair or the new one complete, never a mix.
// Trimming out.log is steps 3-4 for out-<W>.log, W being what the neighbour acknowledged.
// Recovery removes every file that is not part of the chosen state (older pairs, lone
// snapshots, .tmp files). `hook` is called after each step (tests inject crashes there).

import {
  closeSync,
  constants,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  fstatSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { CodecContext } from '../wire/index.js';
import { compactInput, type CompactionStats } from './input-compaction.js';

export const inSegmentName = (base: number): string => `in-${base}.log`;
export const snapshotName = (base: number): string => `in-${base}.snap`;
export const outSegmentName = (base: number): string => `out-${base}.log`;
const LEGACY_IN = 'in.log';
const LEGACY_OUT = 'out.log';

export interface InputFiles {
  /** Stream offset the segment starts at; the snapshot stands for [0, base). */
  readonly base: number;
  readonly snapshot?: string;
  readonly segment: string;
}

export interface OutputFiles {
  readonly base: number;
  readonly segment: string;
}

export interface LogFiles {
  readonly input: InputFiles;
  readonly output: OutputFiles;
  /** Our files that are not part of this state (to remove). */
  readonly stale: readonly string[];
}

/** Steps of compaction and trimming, in order (see the file header). */
export type CompactionStep =
  | 'snapshot-written'
  | 'snapshot-synced'
  | 'snapshot-renamed'
  | 'segment-written'
  | 'segment-renamed'
  | 'directory-synced'
  | 'old-snapshot-removed'
  | 'old-segment-removed';

export type StepHook = (step: CompactionStep) => void;

/** The state to recover from, given a directory's file names; undefined without input. */
export function pickLogFiles(names: readonly string[]): LogFiles | undefined {
  const segments = new Map<number, string>();
  const snapshots = new Set<number>();
  const outs = new Map<number, string>();
  const ours: string[] = [];
  for (const n of names) {
    const m = /^(in|out)-(\d+)\.(log|snap)(\.tmp)?$/.exec(n);
    if (m) {
      ours.push(n);
      if (m[4]) continue;
      const base = Number(m[2]);
      if (!Number.isSafeInteger(base)) continue;
      if (m[1] === 'out') {
        if (m[3] === 'log') outs.set(base, n);
      } else if (m[3] === 'log') segments.set(base, n);
      else snapshots.add(base);
    } else if (n === LEGACY_IN || n === LEGACY_OUT) ours.push(n);
  }
  if (!segments.has(0) && names.includes(LEGACY_IN)) segments.set(0, LEGACY_IN);
  if (!outs.has(0) && names.includes(LEGACY_OUT)) outs.set(0, LEGACY_OUT);
  let inBase = -1;
  for (const b of segments.keys()) if ((b === 0 || snapshots.has(b)) && b > inBase) inBase = b;
  if (inBase < 0) return undefined;
  const outBase = outs.size ? Math.max(...outs.keys()) : -1;
  const input: InputFiles =
    inBase === 0
      ? { base: 0, segment: segments.get(0)! }
      : { base: inBase, snapshot: snapshotName(inBase), segment: segments.get(inBase)! };
  // No output log at all: nothing was written yet (an empty one is made on open).
  const output: OutputFiles =
    outBase < 0
      ? { base: 0, segment: outSegmentName(0) }
      : { base: outBase, segment: outs.get(outBase)! };
  const keep = new Set([input.segment, input.snapshot, output.segment]);
  return { input, output, stale: ours.filter((n) => !keep.has(n)) };
}

/** A session's state as read back at recovery. */
export interface LoadedLogs {
  readonly files: LogFiles;
  /** Snapshot followed by segment: the replay stream. */
  readonly input: Uint8Array;
  /** Octets in the input segment: the input stream ends at files.input.base + this. */
  readonly segmentLength: number;
  /** The output segment: output stream octets from files.output.base on. */
  readonly output: Uint8Array;
}

/** Reads the newest complete state and removes every other log file; undefined if none. */
export function loadLogs(dir: string): LoadedLogs | undefined {
  const files = pickLogFiles(readdirSync(dir));
  if (!files) return undefined;
  for (const n of files.stale) rmSync(join(dir, n), { force: true });
  if (files.stale.length) syncDir(dir);
  const segment = readAll(join(dir, files.input.segment));
  const snapshot = files.input.snapshot ? readAll(join(dir, files.input.snapshot)) : undefined;
  let output: Uint8Array;
  try {
    output = readAll(join(dir, files.output.segment));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    output = new Uint8Array(0);
  }
  const input = snapshot ? concat(snapshot, segment) : segment;
  return { files, input, segmentLength: segment.length, output };
}

/** A new session: every log file removed, empty base-0 logs created. */
export function resetLogs(dir: string): LogFiles {
  for (const n of readdirSync(dir)) {
    if (/^(in|out)(-\d+\.(log|snap)(\.tmp)?|\.log)$/.test(n)) rmSync(join(dir, n), { force: true });
  }
  writeFileSync(join(dir, inSegmentName(0)), '');
  writeFileSync(join(dir, outSegmentName(0)), '');
  syncDir(dir);
  return {
    input: { base: 0, segment: inSegmentName(0) },
    output: { base: 0, segment: outSegmentName(0) },
    stale: [],
  };
}

/** What the worker is asked to compact: the snapshot and the segment's first octets. */
export interface InputCompactionJob {
  readonly dir: string;
  readonly input: InputFiles;
  /** Octets of the segment to take (appends after the request are left for later). */
  readonly segmentLength: number;
  readonly ctx: CodecContext;
}

export interface InputCompactionDone {
  /** Stream offset the new snapshot stands for: [0, base). */
  readonly base: number;
  /** The new snapshot, written and fsync'ed under its .tmp name (install renames it). */
  readonly tmp: string;
  /** Octets of snapshot + segment read, and of the new snapshot. */
  readonly before: number;
  readonly after: number;
  readonly stats: CompactionStats;
  readonly ms: number;
}

/**
 * Step 1 (runs in the worker): reads the current snapshot and `segmentLength` octets of the
 * segment, compacts them and writes the new snapshot as .tmp. Undefined when there is
 * nothing to gain (no complete message past the current base).
 */
export function compactInputFiles(
  job: InputCompactionJob,
  hook?: StepHook,
): InputCompactionDone | undefined {
  const t0 = performance.now();
  const { dir, input } = job;
  const snapshot = input.snapshot ? readAll(join(dir, input.snapshot)) : new Uint8Array(0);
  const segment = readRange(join(dir, input.segment), 0, job.segmentLength);
  const bytes = concat(snapshot, segment);
  const r = compactInput(bytes, job.ctx);
  const base = input.base + (r.consumed - snapshot.length);
  if (r.consumed <= snapshot.length || base <= input.base) return undefined;
  const tmp = `${snapshotName(base)}.tmp`;
  const fd = openSync(join(dir, tmp), 'w');
  try {
    writeAll(fd, r.output);
    hook?.('snapshot-written');
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  hook?.('snapshot-synced');
  return {
    base,
    tmp,
    before: bytes.length,
    after: r.output.length,
    stats: r.stats,
    ms: performance.now() - t0,
  };
}

/**
 * A new state's files and the new segment's descriptor, open for appending: the caller
 * appends through it from now on and closes it. It was opened before the rename, so the
 * switch cannot fail once the new files count (reopening by name could, with EMFILE, and
 * appends would then go to the removed old segment and be lost at the next crash).
 */
export interface Installed<F> {
  readonly files: F;
  readonly fd: number;
}

/**
 * Steps 2-4 on the main thread: the new snapshot and segment (`tail`: the old segment's
 * octets from `done.base` to its end) take over, the old pair goes. Returns the new state.
 * When it throws, nothing was switched: the old pair is the state (see abandonInput).
 */
export function installInput(
  dir: string,
  cur: InputFiles,
  done: Pick<InputCompactionDone, 'base' | 'tmp'>,
  tail: Uint8Array,
  hook?: StepHook,
): Installed<InputFiles> {
  const snapshot = snapshotName(done.base);
  renameSync(join(dir, done.tmp), join(dir, snapshot));
  syncDir(dir);
  hook?.('snapshot-renamed');
  const { name: segment, fd } = replaceSegment(dir, inSegmentName(done.base), tail, hook);
  closingOnThrow(fd, () => {
    if (cur.snapshot) bestEffort(() => rmSync(join(dir, cur.snapshot!), { force: true }));
    hook?.('old-snapshot-removed');
    bestEffort(() => rmSync(join(dir, cur.segment), { force: true }));
    hook?.('old-segment-removed');
  });
  return { files: { base: done.base, snapshot, segment }, fd };
}

/**
 * After installInput threw (a full disk, most likely): removes what it left of the new
 * state, unless its segment got its name (then the new pair is the state). Without this,
 * each failed run would leave a lone snapshot of the table's size behind until the next
 * recovery, one per retry, on the disk that was full.
 */
export function abandonInput(dir: string, done: Pick<InputCompactionDone, 'base' | 'tmp'>): void {
  const segment = inSegmentName(done.base);
  if (existsSync(join(dir, segment))) return;
  for (const n of [done.tmp, snapshotName(done.base), `${segment}.tmp`]) {
    bestEffort(() => rmSync(join(dir, n), { force: true }));
  }
}

/** Trims the output log: `tail` is its octets from stream offset `base` on. */
export function installOutput(
  dir: string,
  cur: OutputFiles,
  base: number,
  tail: Uint8Array,
  hook?: StepHook,
): Installed<OutputFiles> {
  const { name: segment, fd } = replaceSegment(dir, outSegmentName(base), tail, hook);
  closingOnThrow(fd, () => {
    bestEffort(() => rmSync(join(dir, cur.segment), { force: true }));
    hook?.('old-segment-removed');
  });
  return { files: { base, segment }, fd };
}

/** Append-only writes to a fresh (truncated) file, as the logs are written. */
const APPEND_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND;

/**
 * Step 3: a segment written as .tmp, fsync'ed, renamed, the directory fsync'ed. Returns
 * the descriptor it was written through, still open (Installed).
 */
function replaceSegment(
  dir: string,
  name: string,
  bytes: Uint8Array,
  hook?: StepHook,
): { name: string; fd: number } {
  const tmp = join(dir, `${name}.tmp`);
  const fd = openSync(tmp, APPEND_NEW);
  try {
    writeAll(fd, bytes);
    hook?.('segment-written');
    fdatasyncSync(fd);
    renameSync(tmp, join(dir, name));
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  // From the rename on, the new files are the state recovery takes: the caller must switch
  // to them whatever happens next, so later failures (directory fsync, removing the old
  // files, both only tidiness against a process crash) do not throw.
  closingOnThrow(fd, () => {
    hook?.('segment-renamed');
    bestEffort(() => syncDir(dir));
    hook?.('directory-synced');
  });
  return { name, fd };
}

/** Only a test's hook throws after the rename (a simulated crash): the fd is closed then. */
function closingOnThrow(fd: number, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function bestEffort(fn: () => void): void {
  try {
    fn();
  } catch {
    // see replaceSegment
  }
}

/** Octets [from, to) of a file. */
export function readRange(path: string, from: number, to: number): Uint8Array {
  const out = new Uint8Array(Math.max(0, to - from));
  const fd = openSync(path, 'r');
  try {
    let got = 0;
    while (got < out.length) {
      const n = readSync(fd, out, got, out.length - got, from + got);
      if (n === 0) throw new Error(`${path}: ends at ${from + got}, ${to} expected`);
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

function readAll(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  let size: number;
  try {
    size = fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
  return readRange(path, 0, size);
}

function writeAll(fd: number, b: Uint8Array): void {
  for (let at = 0; at < b.length;) at += writeSync(fd, b, at, b.length - at);
}

/** fsync of a directory: the renames and removals in it are durable. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
