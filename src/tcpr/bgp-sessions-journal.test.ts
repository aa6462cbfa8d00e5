// Non-stop BGP's per-connection journal (bgp-sessions.ts, docs/tcpr.md "Non-stop BGP"),
// in-process over loopback TCP with a stub TCPR side channel. Checked, because a resume
// replays exactly what the files hold:
// - two connections racing for one neighbour (RFC 4271 §6.8): only the one whose session is
//   Established becomes the stored session (its input, output and TCPR record), and the
//   loser's later octets and its close never touch the files;
// - nothing is on disk before Established, while input is still checkpointed from memory;
// - the commit after promotion checkpoints the input written at promotion even with no new
//   input (FRR's KEEPALIVE that completed the handshake was never acknowledged);
// - a new connection drops a stored session whose connection closed, not a live one;
// - input after promotion is appended in order;
// - once another session began, the old session's connection no longer writes the files;
// - files that cannot be written at Established: logged, and the session carries on
//   unprotected (its input still checkpointed) instead of the error escaping;
// - closing a connection tells TCPR done (writing and reading) before the FIN, except while
//   the speaker hands its sessions over to the next process.
// Expected octets are the ones this test writes on the sockets, never our code's output.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ManualClock } from '../lib/clock.js';
import { parseAddr } from '../lib/ip.js';
import { createLogger } from '../lib/log.js';
import { TcpTransport } from '../net/tcp.js';
import type { Transport } from '../net/transport.js';
import type { NeighborConfig } from '../speaker/config/index.js';
import type { Peer } from '../speaker/session/index.js';
import { sessionDirName, TcprBgpSessions } from './bgp-sessions.js';
import { TcprClientError, type TcprChannel, type TcprRecord } from './client.js';
import { WS_NONE, type ConnectionSnapshot } from './connection.js';
import type { ConnRef, UpdateFields } from './control-codec.js';

const COMMIT_MS = 5;
const CLOCK_AT = 1234;
const LOOPBACK = '127.0.0.1';
// bgp-sessions reads only the neighbour's key (and `passive`, for its connector).
const N = { key: LOOPBACK, passive: false } as unknown as NeighborConfig;
const SNAPSHOT = { format: 'test-peer-snapshot', name: 'the fake peer' };

/** The side channel's calls a protected connection makes here: no middlebox runs in a
 * unit test, so TCPR's state is made up (an input base near 2^32, per connection). */
class StubChannel {
  readonly acks: { port: number; peerPort: number; ack: number }[] = [];
  /** Every update's fields other than `ack`, by local port. */
  readonly flags: { port: number; fields: UpdateFields }[] = [];
  /** Set: every query fails with it (TCPR silent, refusing, or without the connection). */
  failQuery: TcprClientError | undefined;
  base(port: number, peerPort: number): number {
    return 0xffffff00 + ((port + peerPort) % 200);
  }
  query(ref: ConnRef): Promise<ConnectionSnapshot> {
    if (this.failQuery) return Promise.reject(this.failQuery);
    const addr = parseAddr(LOOPBACK)!; // the socket's local address: adopt() checks it
    const ack = this.base(ref.port, ref.peerPort);
    const seq = 0x12345678;
    return Promise.resolve({
      internalAddr: addr,
      externalAddr: addr,
      peerAddr: ref.peerAddr,
      port: ref.port,
      hard: {
        port: ref.port,
        peerPort: ref.peerPort,
        peerMss: 0,
        peerWs: 0,
        peerSackPermitted: false,
        appWs: WS_NONE,
        ack,
        doneReading: false,
        doneWriting: false,
      },
      delta: 0,
      ack: 0,
      fin: 0,
      seq,
      win: 0,
      haveFin: false,
      done: false,
      failed: false,
      synSent: false,
      spliced: false,
      spliceAck: ack,
      peer: { ack: seq, fin: 0, win: 0, haveFin: false, haveAck: true },
      appWsNow: WS_NONE,
    });
  }
  update(ref: ConnRef, fields: UpdateFields): Promise<void> {
    const { ack, ...rest } = fields;
    if (ack !== undefined) this.acks.push({ ...ref, ack });
    if (Object.keys(rest).length) this.flags.push({ port: ref.port, fields: rest });
    return Promise.resolve();
  }
  async updateAndQuery(ref: ConnRef, fields: UpdateFields): Promise<ConnectionSnapshot> {
    await this.update(ref, fields);
    const s = await this.query(ref);
    for (const f of this.flags.filter((f) => f.port === ref.port)) Object.assign(s.hard, f.fields);
    return s;
  }
  /** Was input offset `offset` of connection `c` checkpointed? */
  acked(c: Conn, offset: number): boolean {
    const ack = (this.base(c.t.local.port, c.t.remote.port) + offset) % 2 ** 32;
    return this.acks.some((a) => a.port === c.t.local.port && a.ack === ack);
  }
}

/** One connection: our journaled transport and the neighbour's end of it. */
interface Conn {
  t: Transport;
  far: Socket;
  got: Buffer[]; // delivered by `t`
  farGot: Buffer[]; // received by the neighbour
  closed: boolean;
  onData?: () => void;
}

const all = (bs: Buffer[]): Buffer => Buffer.concat(bs);
const octets = (tag: string, n: number): Buffer => Buffer.from(`<${tag}>`.repeat(n));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean): Promise<void> {
  for (const end = Date.now() + 3000; !cond(); await sleep(2)) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
  }
}

async function listening(onSocket: (s: Socket) => void): Promise<Server> {
  const srv = createServer(onSocket);
  await new Promise<void>((r) => srv.listen(0, LOOPBACK, r));
  return srv;
}

async function rig(t: TestContext) {
  const stateDir = mkdtempSync(join(tmpdir(), 'nonstop-journal-'));
  const sockets: Socket[] = [];
  const waiting: ((s: Socket) => void)[] = [];
  const next = (): Promise<Socket> => new Promise((r) => waiting.push(r));
  const handOver = (s: Socket): void => void (sockets.push(s), waiting.shift()!(s));
  // The neighbour's listener (for `connect`) and ours (for `accepted`).
  const [theirs, ours] = [await listening(handOver), await listening(handOver)];
  const port = (s: Server): number => (s.address() as { port: number }).port;
  const lines: string[] = [];
  const channel = new StubChannel();
  const sessions = new TcprBgpSessions({
    stateDir,
    channel: channel as unknown as TcprChannel, // a stub: see StubChannel
    clock: new ManualClock(CLOCK_AT),
    log: createLogger({ sink: (l) => lines.push(l), trace: '' }),
    commitIntervalMs: COMMIT_MS,
    compactThreshold: 0,
    compactInline: true,
  });
  t.after(() => {
    for (const s of sockets) s.destroy();
    theirs.close();
    ours.close();
    sessions.close();
    rmSync(stateDir, { recursive: true, force: true });
  });
  const watch = (tr: Transport, far: Socket): Conn => {
    const c: Conn = { t: tr, far, got: [], farGot: [], closed: false };
    tr.onData((chunk) => (c.got.push(Buffer.from(chunk)), c.onData?.()));
    tr.onClose(() => (c.closed = true));
    far.on('data', (chunk) => c.farGot.push(chunk));
    return c;
  };
  const dir = join(stateDir, sessionDirName(N.key));
  return {
    sessions,
    channel,
    dir,
    warnings: () => lines.filter((l) => !l.includes('"level":"info"')),
    file: (f: string): Buffer => readFileSync(join(dir, f)),
    record: (): TcprRecord =>
      (JSON.parse(readFileSync(join(dir, 'session.json'), 'utf8')) as { record: TcprRecord })
        .record,
    /** An outgoing connection (TcprBgpSessions.connect to the neighbour's listener). */
    async dial(): Promise<Conn> {
      const far = next();
      const tr = await sessions.connect(N, { address: LOOPBACK, port: port(theirs) });
      return watch(tr, await far);
    },
    /** An incoming connection (the neighbour connects, TcprBgpSessions.accepted adopts it). */
    async accept(): Promise<Conn> {
      const { near, far } = await this.incoming();
      const tr = await sessions.accepted(N, near);
      assert.equal(tr.kind, 'tcpr', 'the accepted connection is protected');
      return watch(tr, far);
    },
    /** The neighbour's connection to our listener: its end, and ours as the listener has it. */
    async incoming(): Promise<{ near: TcpTransport; far: Socket }> {
      const near = next();
      const far = connect(port(ours), LOOPBACK);
      sockets.push(far);
      return { near: new TcpTransport(await near), far };
    },
  };
}
type Rig = Awaited<ReturnType<typeof rig>>;

/** Exchanges `input` (neighbour → us) and `output` (us → neighbour) on `c`. */
async function exchange(c: Conn, input: Buffer, output: Buffer): Promise<void> {
  const [inAt, outAt] = [all(c.got).length + input.length, all(c.farGot).length + output.length];
  c.t.write(output);
  c.far.write(input);
  await until('the octets on both ends', () => {
    return all(c.got).length >= inAt && all(c.farGot).length >= outAt;
  });
}

// established() reads a Peer's transport, negotiated (.receive) and exportState() only;
// a real Peer needs an OPEN exchange this test is not about.
const peerOn = (t: Transport): Peer =>
  ({ transport: t, negotiated: null, exportState: () => SNAPSHOT }) as unknown as Peer;

/** A session Established on an accepted connection after `yIn` / `yOut`. */
async function establishedOn(r: Rig, yIn: Buffer, yOut: Buffer): Promise<Conn> {
  const y = await r.accept();
  await exchange(y, yIn, yOut);
  r.sessions.established(N, peerOn(y.t));
  return y;
}

test('collision: only the Established connection becomes the stored session', async (t) => {
  const r = await rig(t);
  const x = await r.dial();
  const y = await r.accept();
  const [yIn, yOut] = [octets('y-in', 60), octets('y-out', 40)];
  await exchange(x, octets('x-in', 50), octets('x-out', 30));
  await exchange(y, yIn, yOut);
  await sleep(4 * COMMIT_MS);
  assert.equal(existsSync(r.dir), false, 'nothing on disk before Established');
  r.sessions.established(N, peerOn(y.t));
  assert.deepEqual(readdirSync(r.dir).sort(), ['in-0.log', 'out-0.log', 'session.json']);
  assert.deepEqual(r.file('in-0.log'), yIn);
  assert.deepEqual(r.file('out-0.log'), yOut);
  const rec = r.record();
  assert.deepEqual([rec.localPort, rec.peerPort], [y.t.local.port, y.far.localPort]);
  assert.equal(rec.inBase, r.channel.base(y.t.local.port, y.far.localPort!));
  const session = JSON.parse(r.file('session.json').toString()) as Record<string, unknown>;
  assert.deepEqual([session.snapshot, session.clockAt], [SNAPSHOT, CLOCK_AT]);
  // The loser carries on until the collision's Cease closes it: none of that is stored.
  const stored = r.file('session.json');
  await exchange(x, octets('x-late-in', 50), octets('x-late-out', 30));
  await sleep(4 * COMMIT_MS);
  x.t.destroy();
  await until('the loser closed', () => x.closed);
  await sleep(4 * COMMIT_MS);
  assert.deepEqual(r.file('in-0.log'), yIn);
  assert.deepEqual(r.file('out-0.log'), yOut);
  assert.deepEqual(r.file('session.json'), stored);
  assert.deepEqual(r.warnings(), []);
});

test('before Established: no files, input checkpointed from memory', async (t) => {
  const r = await rig(t);
  const y = await r.accept();
  const yIn = octets('open', 30);
  await exchange(y, yIn, octets('our-open', 30));
  await until('the checkpoint of the input', () => r.channel.acked(y, yIn.length));
  assert.equal(existsSync(r.dir), false);
});

test('the commit after Established checkpoints the promoted input (no new input)', async (t) => {
  const r = await rig(t);
  const y = await r.accept();
  const [open, keepalive] = [octets('open', 30), octets('keepalive', 2)];
  await exchange(y, open, octets('our-open', 30));
  await until('the checkpoint of the OPEN', () => r.channel.acked(y, open.length));
  // The KEEPALIVE completes the handshake: Established in the same callback, before the
  // commit timer it started fires (as the Peer does).
  const total = open.length + keepalive.length;
  y.onData = () => {
    if (all(y.got).length === total) r.sessions.established(N, peerOn(y.t));
  };
  y.far.write(keepalive);
  // (The 1 s heartbeat only repeats the last checkpoint: waiting longer cannot pass it.)
  await until('the checkpoint of the KEEPALIVE', () => r.channel.acked(y, total));
  assert.deepEqual(r.file('in-0.log'), Buffer.concat([open, keepalive]));
});

test('a new connection drops a stored session that ended, not a live one', async (t) => {
  const r = await rig(t);
  const y = await establishedOn(r, octets('y-in', 20), octets('y-out', 20));
  const stored = [r.file('session.json'), r.file('in-0.log'), r.file('out-0.log')];
  const z = await r.accept(); // while y is live (the neighbour's side of a collision)
  await exchange(z, octets('z-in', 20), octets('z-out', 20));
  await sleep(4 * COMMIT_MS);
  assert.deepEqual([r.file('session.json'), r.file('in-0.log'), r.file('out-0.log')], stored);
  y.far.destroy();
  await until('the session closed', () => y.closed);
  assert.ok(existsSync(join(r.dir, 'session.json')), 'a close alone keeps the files');
  await r.dial();
  assert.equal(existsSync(join(r.dir, 'session.json')), false);
});

test('input after Established is appended to in-0.log in order', async (t) => {
  const r = await rig(t);
  const [yIn, yOut] = [octets('y-in', 20), octets('y-out', 20)];
  const y = await establishedOn(r, yIn, yOut);
  const later = [octets('update-1', 70), octets('update-2', 5), octets('update-3', 90)];
  for (const chunk of later) await exchange(y, chunk, octets('ours', 3));
  const input = Buffer.concat([yIn, ...later]);
  await until('the checkpoint of all the input', () => r.channel.acked(y, input.length));
  assert.deepEqual(r.file('in-0.log'), input);
  assert.deepEqual(
    r.file('out-0.log'),
    Buffer.concat([yOut, ...later.map(() => octets('ours', 3))]),
  );
  assert.deepEqual(r.warnings(), []);
});

test("a superseded session's connection no longer touches the files", async (t) => {
  const r = await rig(t);
  const x = await establishedOn(r, octets('x-in', 20), octets('x-out', 20));
  const [yIn, yOut] = [octets('y-in', 30), octets('y-out', 30)];
  const y = await establishedOn(r, yIn, yOut); // e.g. after a collision with Established
  await exchange(x, octets('x-late-in', 40), octets('x-late-out', 40));
  await sleep(4 * COMMIT_MS);
  assert.deepEqual([r.file('in-0.log'), r.file('out-0.log')], [yIn, yOut]);
  assert.equal(r.record().localPort, y.t.local.port);
});

test('files that cannot be written at Established: logged, the session goes on', async (t) => {
  const r = await rig(t);
  const y = await r.accept();
  const open = octets('open', 30);
  await exchange(y, open, octets('our-open', 30));
  writeFileSync(r.dir, 'not a directory'); // the neighbour's directory cannot be made
  assert.doesNotThrow(() => r.sessions.established(N, peerOn(y.t)));
  assert.match(r.warnings().join('\n'), /TCPR session not stored/);
  const later = octets('update', 40);
  await exchange(y, later, octets('ours', 3));
  await until('the checkpoint of the later input', () =>
    r.channel.acked(y, open.length + later.length),
  );
});

/** What TCPR had been told about `c` when its FIN reached the neighbour. */
function flagsAtFin(r: Rig, c: Conn): Promise<UpdateFields[]> {
  const port = c.t.local.port;
  return new Promise((res) =>
    c.far.once('end', () =>
      res(r.channel.flags.filter((f) => f.port === port).map((f) => f.fields)),
    ),
  );
}

const DONE = { doneReading: true, doneWriting: true };

test('a close tells TCPR done before the FIN', async (t) => {
  const r = await rig(t);
  const x = await r.dial();
  const atFin = flagsAtFin(r, x);
  x.t.destroy(); // e.g. an abandoned connect: the neighbour must see it closed
  assert.deepEqual(await atFin, [DONE]);
});

test("a hand-over keeps the stored session's connection in TCPR, and closes any other", async (t) => {
  const r = await rig(t);
  const y = await establishedOn(r, octets('y-in', 20), octets('y-out', 20));
  const x = await r.dial(); // e.g. a collision's connection, never Established
  const atFin = flagsAtFin(r, x);
  r.sessions.handOver();
  x.t.destroy();
  y.t.destroy();
  assert.deepEqual(await atFin, [DONE], 'a connection nobody will resume is closed in order');
  await until('the socket closed', () => y.closed);
  await sleep(4 * COMMIT_MS);
  assert.deepEqual(
    r.channel.flags.filter((f) => f.port === y.t.local.port),
    [],
    "TCPR keeps the handed-over session's connection",
  );
});

test('an incoming connection TCPR does not hold stays plain; TCPR silent or refusing: refused', async (t) => {
  const r = await rig(t);
  const err = (code: 'ERR_TCPR_UNKNOWN_CONNECTION' | 'ERR_TCPR_TIMEOUT' | 'ERR_TCPR_REMOTE') =>
    new TcprClientError(code, code);
  r.channel.failQuery = err('ERR_TCPR_UNKNOWN_CONNECTION'); // an address TCPR does not map
  const plain = await r.sessions.accepted(N, (await r.incoming()).near);
  assert.equal(plain.kind, 'tcp');
  assert.match(r.warnings().join('\n'), /not protected by TCPR/);
  for (const code of ['ERR_TCPR_TIMEOUT', 'ERR_TCPR_REMOTE'] as const) {
    r.channel.failQuery = err(code);
    await assert.rejects(r.sessions.accepted(N, (await r.incoming()).near), { code });
  }
});
