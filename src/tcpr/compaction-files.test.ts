// Crash safety of the log files (compaction-files.ts): a compaction of the input log and a
// trim of the output log are interrupted after each of their steps (the step hook throws,
// as a kill -9 would stop the process there), and recovery (loadLogs) must then find a
// state that holds every octet received — the input stream still ends at the offset
// TCPR may have checkpointed, and replaying it gives the RIB of the uninterrupted stream —
// and the output octets from any offset the neighbour may not have acknowledged.

import assert from 'node:assert/strict';
import {
  appendFileSync,
  closeSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeContext } from '../wire/index.js';
import {
  abandonInput,
  compactInputFiles,
  installInput,
  installOutput,
  loadLogs,
  pickLogFiles,
  resetLogs,
  type CompactionStep,
} from './compaction-files.js';
import {
  KEEPALIVE,
  OPEN,
  asPath,
  med,
  mpReach6,
  mpUnreach6,
  nextHop,
  origin,
  p4,
  p6,
  replayRib,
  update,
} from './compaction-testing.js';

const CTX = makeContext({ as4: true });
const base = [origin(), asPath(65002), nextHop(198, 18, 2, 2)];

/** A session's input: announcements, re-announcements and withdrawals, IPv4 and IPv6. */
function inputStream(): Uint8Array {
  const m: number[][] = [OPEN, KEEPALIVE];
  for (let i = 0; i < 200; i++) {
    m.push(update([], i % 3 ? base : [...base, med(i)], [p4(`198.18.${i}.0/24`)]));
    if (i % 7 === 0) m.push(update([p4(`198.18.${i >> 1}.0/24`)], []));
    if (i % 11 === 0) m.push(update([], [...base, mpReach6(p6(i))]), KEEPALIVE);
    if (i % 13 === 0) m.push(update([], [mpUnreach6(p6(i >> 1))]));
  }
  return Uint8Array.from(m.flat());
}

const STREAM = inputStream();
/** What was received when the compaction started, and by the time it is installed. */
const AT_START = Math.floor(STREAM.length * 0.6) + 7; // inside a message
const AT_INSTALL = Math.floor(STREAM.length * 0.8);
const OUTPUT = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31) & 0xff);
const ACKED = 3300;

class Crash extends Error {}

function freshDir(): string {
  return mkdtempSync(join(tmpdir(), 'nonstop-compaction-'));
}

/** The input side: compaction of the first AT_START octets, installed at AT_INSTALL. */
function compactWithCrash(dir: string, at: CompactionStep | undefined): void {
  const files = resetLogs(dir);
  appendFileSync(join(dir, files.input.segment), STREAM.subarray(0, AT_START));
  appendFileSync(join(dir, files.output.segment), OUTPUT);
  const hook = (s: CompactionStep): void => {
    if (s === at) throw new Crash(s);
  };
  // The worker takes AT_START octets; more input keeps arriving while it runs.
  appendFileSync(join(dir, files.input.segment), STREAM.subarray(AT_START, AT_INSTALL));
  const done = compactInputFiles(
    { dir, input: files.input, segmentLength: AT_START, ctx: CTX },
    hook,
  );
  assert.ok(done, 'compaction found nothing to do');
  closeSync(installInput(dir, files.input, done, STREAM.subarray(done.base, AT_INSTALL), hook).fd);
}

const INPUT_STEPS: CompactionStep[] = [
  'snapshot-written',
  'snapshot-synced',
  'snapshot-renamed',
  'segment-written',
  'segment-renamed',
  'directory-synced',
  'old-snapshot-removed',
  'old-segment-removed',
];

const whole = replayRib(STREAM.subarray(0, AT_INSTALL), CTX);

for (const step of [...INPUT_STEPS, undefined]) {
  test(`input compaction interrupted ${step ? `after ${step}` : 'never'}: recovery has every octet`, () => {
    const dir = freshDir();
    try {
      try {
        compactWithCrash(dir, step);
        assert.equal(step, undefined, 'the hook was not called at this step');
      } catch (e) {
        if (!(e instanceof Crash)) throw e;
      }
      const r = loadLogs(dir);
      assert.ok(r, 'no state to recover');
      // The new pair counts from the moment its segment has its name, not before.
      const switched =
        step === undefined || INPUT_STEPS.indexOf(step) >= INPUT_STEPS.indexOf('segment-renamed');
      assert.equal(r.files.input.base > 0, switched, `input base ${r.files.input.base}`);
      assert.equal(r.files.input.base + r.segmentLength, AT_INSTALL, 'input stream end');
      const got = replayRib(r.input, CTX);
      assert.deepEqual(got.routes, whole.routes, 'RIB replayed from the recovered state');
      assert.equal(got.received, whole.received);
      if (switched) assert.ok(r.input.length < AT_INSTALL, 'the compacted state is not smaller');
      // Only the chosen files are left.
      const left = readdirSync(dir).sort();
      const want = [r.files.input.segment, r.files.output.segment];
      if (r.files.input.snapshot) want.push(r.files.input.snapshot);
      assert.deepEqual(left, want.sort());
      assert.deepEqual([...r.output], [...OUTPUT]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

const OUTPUT_STEPS: CompactionStep[] = [
  'segment-written',
  'segment-renamed',
  'directory-synced',
  'old-segment-removed',
];

for (const step of [...OUTPUT_STEPS, undefined]) {
  test(`output trim interrupted ${step ? `after ${step}` : 'never'}: the unacknowledged octets stay`, () => {
    const dir = freshDir();
    try {
      const files = resetLogs(dir);
      appendFileSync(join(dir, files.input.segment), STREAM);
      appendFileSync(join(dir, files.output.segment), OUTPUT);
      try {
        const { fd } = installOutput(dir, files.output, ACKED, OUTPUT.subarray(ACKED), (s) => {
          if (s === step) throw new Crash(s);
        });
        closeSync(fd);
      } catch (e) {
        if (!(e instanceof Crash)) throw e;
      }
      const r = loadLogs(dir)!;
      const b = r.files.output.base;
      const switched = step === undefined || OUTPUT_STEPS.indexOf(step) >= 1;
      assert.equal(b, switched ? ACKED : 0);
      assert.deepEqual([...r.output], [...OUTPUT.subarray(b)], 'output octets from the base');
      assert.equal(r.files.input.base + r.segmentLength, STREAM.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('torn and lone files are ignored and removed; the newest complete pair wins', () => {
  const dir = freshDir();
  try {
    compactWithCrash(dir, undefined);
    const before = loadLogs(dir)!;
    // A crash while writing the next compaction: a torn snapshot, a lone snapshot without
    // its segment, a torn segment .tmp, a torn out .tmp.
    const b2 = before.files.input.base + 40;
    writeFileSync(join(dir, `in-${b2}.snap.tmp`), Uint8Array.from(OPEN.slice(0, 7)));
    writeFileSync(join(dir, `in-${b2 + 1}.snap`), Uint8Array.from(OPEN));
    writeFileSync(join(dir, `in-${b2}.log.tmp`), STREAM.subarray(0, 3));
    writeFileSync(join(dir, `out-${ACKED}.log.tmp`), OUTPUT.subarray(0, 9));
    const r = loadLogs(dir)!;
    assert.deepEqual(r.files, { ...before.files, stale: r.files.stale });
    assert.equal(r.files.stale.length, 4);
    assert.deepEqual([...r.input], [...before.input]);
    assert.equal(readdirSync(dir).length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a state directory of the single-file layout (in.log, out.log) recovers, then compacts', () => {
  const dir = freshDir();
  try {
    writeFileSync(join(dir, 'in.log'), STREAM.subarray(0, AT_START));
    writeFileSync(join(dir, 'out.log'), OUTPUT);
    const r = loadLogs(dir)!;
    assert.deepEqual(r.files.input, { base: 0, segment: 'in.log' });
    assert.deepEqual(r.files.output, { base: 0, segment: 'out.log' });
    assert.equal(r.segmentLength, AT_START);
    const done = compactInputFiles({
      dir,
      input: r.files.input,
      segmentLength: AT_START,
      ctx: CTX,
    })!;
    closeSync(installInput(dir, r.files.input, done, STREAM.subarray(done.base, AT_START)).fd);
    closeSync(installOutput(dir, r.files.output, ACKED, OUTPUT.subarray(ACKED)).fd);
    const after = loadLogs(dir)!;
    assert.ok(!readdirSync(dir).includes('in.log') && !readdirSync(dir).includes('out.log'));
    assert.equal(after.files.input.base + after.segmentLength, AT_START);
    assert.deepEqual(
      replayRib(after.input, CTX).routes,
      replayRib(STREAM.subarray(0, AT_START), CTX).routes,
    );
    assert.deepEqual([...after.output], [...OUTPUT.subarray(ACKED)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pickLogFiles: offsets, not file order; no segment, no state', () => {
  assert.equal(pickLogFiles(['session.json', 'in-5.snap', 'out-0.log']), undefined);
  const f = pickLogFiles([
    'in-0.log',
    'in-90.snap',
    'in-90.log',
    'in-100.snap',
    'out-7.log',
    'out-12.log',
    'out.log',
  ])!;
  assert.deepEqual(f.input, { base: 90, snapshot: 'in-90.snap', segment: 'in-90.log' });
  assert.deepEqual(f.output, { base: 12, segment: 'out-12.log' });
  assert.deepEqual([...f.stale].sort(), ['in-0.log', 'in-100.snap', 'out-7.log', 'out.log']);
});

// The switch to the new segment happens through the descriptor the install wrote it with
// (opened before the rename): appends made after the install are in the state recovery
// takes, with no reopening by name that could fail once the old segment is gone.
test('appends after an install go through its descriptor into the new segments', () => {
  const dir = freshDir();
  try {
    const files = resetLogs(dir);
    appendFileSync(join(dir, files.input.segment), STREAM.subarray(0, AT_START));
    appendFileSync(join(dir, files.output.segment), OUTPUT.subarray(0, ACKED + 100));
    const done = compactInputFiles({ dir, input: files.input, segmentLength: AT_START, ctx: CTX })!;
    const inp = installInput(dir, files.input, done, STREAM.subarray(done.base, AT_START));
    writeSync(inp.fd, STREAM.subarray(AT_START, AT_INSTALL));
    closeSync(inp.fd);
    const out = installOutput(dir, files.output, ACKED, OUTPUT.subarray(ACKED, ACKED + 100));
    writeSync(out.fd, OUTPUT.subarray(ACKED + 100));
    closeSync(out.fd);
    const r = loadLogs(dir)!;
    assert.equal(r.files.input.base + r.segmentLength, AT_INSTALL, 'input stream end');
    assert.deepEqual(replayRib(r.input, CTX).routes, whole.routes);
    assert.deepEqual([...r.output], [...OUTPUT.subarray(ACKED)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// An install that fails (ENOSPC writing the new segment, say) while the process lives on:
// the renamed snapshot must not stay behind, one per retry, on the full disk.
test('a failed install leaves no lone snapshot behind; a completed one is left alone', () => {
  for (const at of ['snapshot-renamed', 'segment-written', 'segment-renamed'] as const) {
    const dir = freshDir();
    try {
      const files = resetLogs(dir);
      appendFileSync(join(dir, files.input.segment), STREAM.subarray(0, AT_START));
      const done = compactInputFiles({
        dir,
        input: files.input,
        segmentLength: AT_START,
        ctx: CTX,
      })!;
      assert.throws(() =>
        installInput(dir, files.input, done, STREAM.subarray(done.base, AT_START), (s) => {
          if (s === at) throw new Error('ENOSPC');
        }),
      );
      abandonInput(dir, done);
      const switched = at === 'segment-renamed';
      const want = switched
        ? [`in-${done.base}.log`, `in-${done.base}.snap`, 'in-0.log', 'out-0.log']
        : ['in-0.log', 'out-0.log'];
      assert.deepEqual(readdirSync(dir).sort(), want.sort(), `failed after ${at}`);
      const r = loadLogs(dir)!;
      assert.equal(r.files.input.base, switched ? done.base : 0, `failed after ${at}`);
      assert.equal(r.files.input.base + r.segmentLength, AT_START);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
