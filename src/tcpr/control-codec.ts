// The TCPR side channel (spec §2.5 semantics, our own format): the messages an application
// and TCPR exchange, their binary encoding for UDP or Unix datagrams, and a JSON form of
// the hard state for save/restore tools. Pure: node:crypto only.
//
// Datagram (all integers big-endian):
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-------------------------------------------------------------+
//   |                   magic "TCPR" (54 43 50 52)                 |
//   +---------------+---------------+---------------+---------------+
//   |  version = 1  |     type      |  flags (A=1)  |   reserved 0  |
//   +---------------+---------------+---------------+---------------+
//   |                 sequence number (64 bits, < 2^53)             |
//   |                                                               |
//   +-------------------------------+-------------------------------+
//   |          body length          |  body ...                     |
//   +-------------------------------+                               |
//   |  ... then, when flag A (authenticated) is set, a 16-byte tag:  |
//   |  HMAC-SHA256(key, every byte before the tag), truncated        |
//   +---------------------------------------------------------------+
//
// Addresses are a family octet (0 = absent, 4, 6) and 0, 4 or 16 bytes.
//
// Decisions:
// - Authentication is optional. A receiver configured with a key accepts only
//   authenticated datagrams with a valid tag (compared in constant time); one without a key
//   accepts unauthenticated ones and refuses tagged ones it cannot check.
// - Replay guard: the sender numbers its datagrams (e.g. starting from wall-clock
//   microseconds so a restarted sender keeps increasing); the receiver's `ReplayGuard`
//   keeps, per sender, the highest number and a 64-wide window below it, and refuses
//   repeats and anything older than the window. It is only consulted for authenticated
//   datagrams (an unauthenticated one can be forged anyway), and only updated once the
//   tag and body checked out. A restarted receiver forgets its window: an attacker could
//   then replay a recent datagram, which at worst repeats an idempotent update.
// - Decoding never throws: every malformation is an error value with a stable `code`
//   and a message that says what was wrong, where, and what to do.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { Reader, Underflow, Writer } from '../lib/bytes.js';
import { formatAddr, parseAddr } from '../lib/ip.js';
import { err, ok, type Result } from '../lib/result.js';
import type { ConnectionSnapshot, HardState, SavedState } from './connection.js';

/** Names a connection by its peer-visible side; the external address may be left out. */
export interface ConnRef {
  externalAddr?: Uint8Array;
  /** The application's port as the peer sees it. */
  port: number;
  peerAddr: Uint8Array;
  peerPort: number;
}

/** Field-wise update (E10): only the fields present change. */
export interface UpdateFields {
  /** New checkpoint: the app has made everything before this durable. */
  ack?: number;
  doneReading?: boolean;
  doneWriting?: boolean;
  /** true: the app's socket is dead; TCPR resets it (tcpr-kill). */
  failed?: boolean;
  /** true: forget the connection. */
  done?: boolean;
  /** New internal port (the recovering app bound another local port). */
  port?: number;
  /** New internal address (the app moved). */
  internalAddr?: Uint8Array;
}

export interface ListenSpec {
  internalAddr: Uint8Array;
  internalPort: number;
  /** Defaults to the external address the internal one is mapped to. */
  externalAddr?: Uint8Array;
  /** External (peer-visible) port. */
  port: number;
}

export type ControlMessage =
  | { type: 'query'; conn: ConnRef }
  | { type: 'state'; state: ConnectionSnapshot }
  | { type: 'unknown'; conn: ConnRef }
  | { type: 'update'; conn: ConnRef; fields: UpdateFields }
  | { type: 'restore'; state: SavedState }
  /** A recovering app, behind its SYN: restore unless TCPR has a checkpoint (E17); → `state`. */
  | { type: 'recover'; state: SavedState }
  | { type: 'listen'; listen: ListenSpec; remove: boolean }
  | { type: 'list'; offset: number }
  | { type: 'list-reply'; total: number; offset: number; conns: ConnectionSnapshot[] }
  | {
      type: 'no-state';
      side: 'app' | 'peer';
      localAddr: Uint8Array;
      localPort: number;
      peerAddr: Uint8Array;
      peerPort: number;
    }
  | { type: 'ok' }
  | { type: 'error'; code: string; message: string };

export const CONTROL_TYPE = {
  query: 1,
  state: 2,
  unknown: 3,
  update: 4,
  restore: 5,
  listen: 6,
  list: 7,
  'list-reply': 8,
  'no-state': 9,
  ok: 10,
  error: 11,
  recover: 12,
} as const satisfies Record<ControlMessage['type'], number>;

export const CONTROL_VERSION = 1;
const MAGIC = [0x54, 0x43, 0x50, 0x52];
const HEADER_LEN = 18;
const TAG_LEN = 16;
const FLAG_AUTH = 0x01;

export type ControlErrorCode =
  | 'ERR_TCPR_CTL_SHORT'
  | 'ERR_TCPR_CTL_MAGIC'
  | 'ERR_TCPR_CTL_VERSION'
  | 'ERR_TCPR_CTL_TYPE'
  | 'ERR_TCPR_CTL_FLAGS'
  | 'ERR_TCPR_CTL_LENGTH'
  | 'ERR_TCPR_CTL_TRUNCATED'
  | 'ERR_TCPR_CTL_TRAILING'
  | 'ERR_TCPR_CTL_ADDRESS'
  | 'ERR_TCPR_CTL_VALUE'
  | 'ERR_TCPR_CTL_AUTH_REQUIRED'
  | 'ERR_TCPR_CTL_AUTH_UNEXPECTED'
  | 'ERR_TCPR_CTL_AUTH_FAILED'
  | 'ERR_TCPR_CTL_REPLAY'
  | 'ERR_TCPR_STATE_JSON';

export interface ControlError {
  readonly code: ControlErrorCode;
  readonly message: string;
}

/** Thrown inside the body decoder only; converted to a ControlError at the boundary. */
class BodyError extends Error {
  constructor(
    readonly code: ControlErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** Per-sender sliding window of accepted sequence numbers. */
export class ReplayGuard {
  private readonly senders = new Map<string, { high: number; seen: Set<number> }>();

  constructor(
    private readonly window = 64,
    private readonly maxSenders = 4096,
  ) {}

  /** True when (sender, seq) is fresh. Does not record it. */
  fresh(sender: string, seq: number): boolean {
    const s = this.senders.get(sender);
    if (!s) return true;
    if (seq > s.high) return true;
    if (seq <= s.high - this.window) return false;
    return !s.seen.has(seq);
  }

  accept(sender: string, seq: number): void {
    let s = this.senders.get(sender);
    if (!s) {
      if (this.senders.size >= this.maxSenders) {
        this.senders.delete(this.senders.keys().next().value as string);
      }
      s = { high: seq, seen: new Set() };
      this.senders.set(sender, s);
    }
    s.seen.add(seq);
    if (seq > s.high) {
      s.high = seq;
      for (const x of s.seen) if (x <= seq - this.window) s.seen.delete(x);
    }
  }
}

export interface EncodeOptions {
  /** Sequence number for the replay guard (0 when not authenticating). */
  seq?: number;
  /** Shared key: when present the datagram is authenticated. */
  key?: Uint8Array;
}

export interface DecodeOptions {
  /** Shared key: when present, only authenticated datagrams are accepted. */
  key?: Uint8Array;
  replay?: ReplayGuard;
  /** Who sent the datagram (e.g. "udp:198.18.0.2:4000"), for the replay guard. */
  sender?: string;
}

export interface Decoded {
  msg: ControlMessage;
  seq: number;
  authenticated: boolean;
}

function tag(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(data).digest().subarray(0, TAG_LEN));
}

export function encodeControl(msg: ControlMessage, opts: EncodeOptions = {}): Uint8Array {
  const seq = opts.seq ?? 0;
  if (!Number.isSafeInteger(seq) || seq < 0) throw new Error(`control seq ${seq} out of range`);
  const w = new Writer(256);
  w.bytes(Uint8Array.from(MAGIC));
  w.u8(CONTROL_VERSION)
    .u8(CONTROL_TYPE[msg.type])
    .u8(opts.key ? FLAG_AUTH : 0)
    .u8(0);
  w.u32(Math.floor(seq / 2 ** 32)).u32(seq >>> 0);
  const lenAt = w.reserve(2);
  const start = w.pos;
  encodeBody(w, msg);
  const len = w.pos - start;
  if (len > 0xffff) throw new Error(`control message body of ${len} bytes is too long`);
  w.patch(lenAt, 2, len);
  if (opts.key) w.bytes(tag(opts.key, w.view()));
  return w.finish();
}

export function decodeControl(
  b: Uint8Array,
  opts: DecodeOptions = {},
): Result<Decoded, ControlError> {
  const fail = (code: ControlErrorCode, message: string) => err({ code, message });
  if (b.length < HEADER_LEN) {
    return fail(
      'ERR_TCPR_CTL_SHORT',
      `TCPR control datagram of ${b.length} bytes is shorter than its ${HEADER_LEN}-byte header`,
    );
  }
  if (MAGIC.some((m, i) => b[i] !== m)) {
    return fail('ERR_TCPR_CTL_MAGIC', 'not a TCPR control datagram (magic "TCPR" missing)');
  }
  if (b[4] !== CONTROL_VERSION) {
    return fail(
      'ERR_TCPR_CTL_VERSION',
      `TCPR control version ${b[4]} is not supported (this build speaks version ${CONTROL_VERSION}); upgrade the older side`,
    );
  }
  const typeCode = b[5]!;
  const type = (Object.keys(CONTROL_TYPE) as ControlMessage['type'][]).find(
    (k) => CONTROL_TYPE[k] === typeCode,
  );
  if (!type) return fail('ERR_TCPR_CTL_TYPE', `unknown TCPR control message type ${typeCode}`);
  const flags = b[6]!;
  if ((flags & ~FLAG_AUTH) !== 0 || b[7] !== 0) {
    return fail('ERR_TCPR_CTL_FLAGS', `reserved flag bits set in TCPR control header (${flags})`);
  }
  const hi = ((b[8]! << 24) | (b[9]! << 16) | (b[10]! << 8) | b[11]!) >>> 0;
  const lo = ((b[12]! << 24) | (b[13]! << 16) | (b[14]! << 8) | b[15]!) >>> 0;
  const seq = hi * 2 ** 32 + lo;
  if (seq > MAX_SEQ) return fail('ERR_TCPR_CTL_VALUE', `sequence number above 2^53 (${seq})`);
  const bodyLen = (b[16]! << 8) | b[17]!;
  const authed = (flags & FLAG_AUTH) !== 0;
  const want = HEADER_LEN + bodyLen + (authed ? TAG_LEN : 0);
  if (b.length !== want) {
    return fail(
      'ERR_TCPR_CTL_LENGTH',
      `TCPR control datagram is ${b.length} bytes but its header announces ${want}`,
    );
  }
  if (opts.key && !authed) {
    return fail(
      'ERR_TCPR_CTL_AUTH_REQUIRED',
      'unauthenticated TCPR control datagram refused: this side has a key; configure the same key on the sender',
    );
  }
  if (!opts.key && authed) {
    return fail(
      'ERR_TCPR_CTL_AUTH_UNEXPECTED',
      'authenticated TCPR control datagram, but no key is configured here to check it',
    );
  }
  if (opts.key) {
    const expect = tag(opts.key, b.subarray(0, want - TAG_LEN));
    if (!timingSafeEqual(expect, b.subarray(want - TAG_LEN))) {
      return fail(
        'ERR_TCPR_CTL_AUTH_FAILED',
        'TCPR control datagram failed authentication: wrong key or altered in transit',
      );
    }
    if (opts.replay && !opts.replay.fresh(opts.sender ?? '', seq)) {
      return fail(
        'ERR_TCPR_CTL_REPLAY',
        `TCPR control datagram with sequence number ${seq} was already seen or is too old (replay refused)`,
      );
    }
  }
  const r = new Reader(b, HEADER_LEN, HEADER_LEN + bodyLen);
  let msg: ControlMessage;
  try {
    msg = decodeBody(r, type);
    if (!r.atEnd()) {
      throw new BodyError(
        'ERR_TCPR_CTL_TRAILING',
        `${r.remaining} unexpected byte(s) after a ${type} message body`,
      );
    }
  } catch (e) {
    if (e instanceof Underflow) {
      return fail(
        'ERR_TCPR_CTL_TRUNCATED',
        `${type} message body truncated: ${e.message} (offset counts from the datagram start)`,
      );
    }
    if (e instanceof BodyError) return fail(e.code, e.message);
    throw e;
  }
  if (opts.key && opts.replay) opts.replay.accept(opts.sender ?? '', seq);
  return ok({ msg, seq, authenticated: authed });
}

// ---- body fields -------------------------------------------------------------------------

function putAddr(w: Writer, a: Uint8Array | undefined): void {
  if (!a) w.u8(0);
  else {
    if (a.length !== 4 && a.length !== 16) throw new Error(`address of ${a.length} bytes`);
    w.u8(a.length === 4 ? 4 : 6).bytes(a);
  }
}

function getAddr(r: Reader, what: string): Uint8Array | undefined {
  const fam = r.u8();
  if (fam === 0) return undefined;
  if (fam === 4) return r.bytes(4).slice();
  if (fam === 6) return r.bytes(16).slice();
  throw new BodyError('ERR_TCPR_CTL_ADDRESS', `${what}: address family ${fam} is not 0, 4 or 6`);
}

function needAddr(r: Reader, what: string): Uint8Array {
  const a = getAddr(r, what);
  if (!a) throw new BodyError('ERR_TCPR_CTL_ADDRESS', `${what}: address is required`);
  return a;
}

function getBool(r: Reader, what: string): boolean {
  const v = r.u8();
  if (v > 1) throw new BodyError('ERR_TCPR_CTL_VALUE', `${what} must be 0 or 1, got ${v}`);
  return v === 1;
}

function checkWs(v: number, what: string): number {
  if (v > 15 && v !== 0xff) {
    throw new BodyError('ERR_TCPR_CTL_VALUE', `${what} window-scale code ${v} is not 0–15 or 255`);
  }
  return v;
}

function putHard(w: Writer, h: HardState): void {
  w.u16(h.port).u16(h.peerPort).u16(h.peerMss).u8(h.peerWs).u8(h.appWs);
  w.u8((h.peerSackPermitted ? 1 : 0) | (h.doneReading ? 2 : 0) | (h.doneWriting ? 4 : 0));
  w.u32(h.ack);
}

function getHard(r: Reader): HardState {
  const port = r.u16();
  const peerPort = r.u16();
  const peerMss = r.u16();
  const peerWs = checkWs(r.u8(), 'peer');
  const appWs = checkWs(r.u8(), 'app');
  const f = r.u8();
  if (f > 7) throw new BodyError('ERR_TCPR_CTL_VALUE', `hard-state flags ${f} has unknown bits`);
  return {
    port,
    peerPort,
    peerMss,
    peerWs,
    peerSackPermitted: (f & 1) !== 0,
    doneReading: (f & 2) !== 0,
    doneWriting: (f & 4) !== 0,
    appWs,
    ack: r.u32(),
  };
}

function putConnRef(w: Writer, c: ConnRef): void {
  putAddr(w, c.externalAddr);
  w.u16(c.port);
  putAddr(w, c.peerAddr);
  w.u16(c.peerPort);
}

function getConnRef(r: Reader): ConnRef {
  const externalAddr = getAddr(r, 'external');
  const port = r.u16();
  const peerAddr = needAddr(r, 'peer');
  const ref: ConnRef = { port, peerAddr, peerPort: r.u16() };
  if (externalAddr) ref.externalAddr = externalAddr;
  return ref;
}

function putSaved(w: Writer, s: SavedState): void {
  putAddr(w, s.internalAddr);
  putAddr(w, s.externalAddr);
  putAddr(w, s.peerAddr);
  w.u16(s.port);
  putHard(w, s.hard);
}

function getSaved(r: Reader): SavedState {
  return {
    internalAddr: needAddr(r, 'internal'),
    externalAddr: needAddr(r, 'external'),
    peerAddr: needAddr(r, 'peer'),
    port: r.u16(),
    hard: getHard(r),
  };
}

function putSnapshot(w: Writer, s: ConnectionSnapshot): void {
  putSaved(w, s);
  w.u32(s.delta).u32(s.ack).u32(s.fin).u32(s.seq).u16(s.win);
  w.u32(s.peer.ack).u32(s.peer.fin).u16(s.peer.win);
  const f = [s.haveFin, s.done, s.failed, s.synSent, s.peer.haveFin, s.peer.haveAck, s.spliced];
  w.u8(f.reduce((acc, v, i) => acc | (v ? 1 << i : 0), 0));
  w.u8(s.appWsNow);
  w.u32(s.spliceAck);
}

function getSnapshot(r: Reader): ConnectionSnapshot {
  const saved = getSaved(r);
  const delta = r.u32();
  const ack = r.u32();
  const fin = r.u32();
  const seq = r.u32();
  const win = r.u16();
  const peer = { ack: r.u32(), fin: r.u32(), win: r.u16(), haveFin: false, haveAck: false };
  const f = r.u8();
  if (f > 127) throw new BodyError('ERR_TCPR_CTL_VALUE', `state flags ${f} has unknown bits`);
  peer.haveFin = (f & 16) !== 0;
  peer.haveAck = (f & 32) !== 0;
  return {
    // Spelled out, not spread: see connection.ts snapshot().
    internalAddr: saved.internalAddr,
    externalAddr: saved.externalAddr,
    peerAddr: saved.peerAddr,
    port: saved.port,
    hard: saved.hard,
    delta,
    ack,
    fin,
    seq,
    win,
    haveFin: (f & 1) !== 0,
    done: (f & 2) !== 0,
    failed: (f & 4) !== 0,
    synSent: (f & 8) !== 0,
    spliced: (f & 64) !== 0,
    peer,
    appWsNow: checkWs(r.u8(), 'current app'),
    spliceAck: r.u32(),
  };
}

const UPDATE_BITS = ['ack', 'doneReading', 'doneWriting', 'failed', 'done', 'port', 'internalAddr'];

function encodeBody(w: Writer, m: ControlMessage): void {
  switch (m.type) {
    case 'query':
    case 'unknown':
      return putConnRef(w, m.conn);
    case 'state':
      return putSnapshot(w, m.state);
    case 'update': {
      putConnRef(w, m.conn);
      const f = m.fields;
      let mask = 0;
      UPDATE_BITS.forEach((k, i) => {
        if (f[k as keyof UpdateFields] !== undefined) mask |= 1 << i;
      });
      const bools = (f.doneReading ? 2 : 0) | (f.doneWriting ? 4 : 0);
      w.u8(mask).u8(bools | (f.failed ? 8 : 0) | (f.done ? 16 : 0));
      if (f.ack !== undefined) w.u32(f.ack);
      if (f.port !== undefined) w.u16(f.port);
      if (f.internalAddr !== undefined) putAddr(w, f.internalAddr);
      return;
    }
    case 'restore':
    case 'recover':
      return putSaved(w, m.state);
    case 'listen':
      putAddr(w, m.listen.internalAddr);
      w.u16(m.listen.internalPort);
      putAddr(w, m.listen.externalAddr);
      w.u16(m.listen.port).u8(m.remove ? 1 : 0);
      return;
    case 'list':
      w.u16(m.offset);
      return;
    case 'list-reply':
      w.u16(m.total).u16(m.offset).u16(m.conns.length);
      for (const c of m.conns) putSnapshot(w, c);
      return;
    case 'no-state':
      w.u8(m.side === 'app' ? 0 : 1);
      putAddr(w, m.localAddr);
      w.u16(m.localPort);
      putAddr(w, m.peerAddr);
      w.u16(m.peerPort);
      return;
    case 'ok':
      return;
    case 'error': {
      const code = new TextEncoder().encode(m.code);
      const text = new TextEncoder().encode(m.message);
      w.u8(Math.min(code.length, 255)).bytes(code.subarray(0, 255));
      w.u16(Math.min(text.length, 4096)).bytes(text.subarray(0, 4096));
      return;
    }
  }
}

function decodeBody(r: Reader, type: ControlMessage['type']): ControlMessage {
  switch (type) {
    case 'query':
    case 'unknown':
      return { type, conn: getConnRef(r) };
    case 'state':
      return { type, state: getSnapshot(r) };
    case 'update': {
      const conn = getConnRef(r);
      const mask = r.u8();
      const bools = r.u8();
      if (mask >= 1 << UPDATE_BITS.length || (bools & ~0x1e) !== 0) {
        throw new BodyError('ERR_TCPR_CTL_VALUE', `update field mask ${mask}/${bools} is invalid`);
      }
      const has = (k: string) => (mask & (1 << UPDATE_BITS.indexOf(k))) !== 0;
      const fields: UpdateFields = {};
      if (has('doneReading')) fields.doneReading = (bools & 2) !== 0;
      if (has('doneWriting')) fields.doneWriting = (bools & 4) !== 0;
      if (has('failed')) fields.failed = (bools & 8) !== 0;
      if (has('done')) fields.done = (bools & 16) !== 0;
      if (has('ack')) fields.ack = r.u32();
      if (has('port')) fields.port = r.u16();
      if (has('internalAddr')) fields.internalAddr = needAddr(r, 'internal');
      return { type, conn, fields };
    }
    case 'restore':
    case 'recover':
      return { type, state: getSaved(r) };
    case 'listen': {
      const internalAddr = needAddr(r, 'internal');
      const internalPort = r.u16();
      const externalAddr = getAddr(r, 'external');
      const listen: ListenSpec = { internalAddr, internalPort, port: r.u16() };
      if (externalAddr) listen.externalAddr = externalAddr;
      return { type, listen, remove: getBool(r, 'remove') };
    }
    case 'list':
      return { type, offset: r.u16() };
    case 'list-reply': {
      const total = r.u16();
      const offset = r.u16();
      const n = r.u16();
      const conns: ConnectionSnapshot[] = [];
      for (let i = 0; i < n; i++) conns.push(getSnapshot(r));
      return { type, total, offset, conns };
    }
    case 'no-state': {
      const s = r.u8();
      if (s > 1) throw new BodyError('ERR_TCPR_CTL_VALUE', `no-state side ${s} is not 0 or 1`);
      return {
        type,
        side: s === 0 ? 'app' : 'peer',
        localAddr: needAddr(r, 'local'),
        localPort: r.u16(),
        peerAddr: needAddr(r, 'peer'),
        peerPort: r.u16(),
      };
    }
    case 'ok':
      return { type };
    case 'error': {
      const dec = new TextDecoder('utf-8', { fatal: false });
      const code = dec.decode(r.bytes(r.u8()));
      return { type, code, message: dec.decode(r.bytes(r.u16())) };
    }
  }
}

// ---- hard state as JSON (tcpr-control -s/-r) -----------------------------------------------

const JSON_FORMAT = 'nonstop-tcpr-state';

/** The saved state as JSON text with addresses in the usual notation. */
export function savedStateToJson(s: SavedState): string {
  return JSON.stringify(
    {
      format: JSON_FORMAT,
      version: 1,
      internal: formatAddr(s.internalAddr),
      external: formatAddr(s.externalAddr),
      peer: formatAddr(s.peerAddr),
      port: s.port,
      hard: s.hard,
    },
    null,
    2,
  );
}

export function savedStateFromJson(text: string): Result<SavedState, ControlError> {
  const bad = (what: string) =>
    err<ControlError>({
      code: 'ERR_TCPR_STATE_JSON',
      message: `saved TCPR state: ${what}; expected what savedStateToJson writes`,
    });
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return bad(`not JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null) return bad('not an object');
  const o = v as Record<string, unknown>;
  if (o.format !== JSON_FORMAT || o.version !== 1)
    return bad('"format"/"version" missing or wrong');
  const addr = (k: string): Uint8Array | undefined =>
    typeof o[k] === 'string' ? parseAddr(o[k]) : undefined;
  const internalAddr = addr('internal');
  const externalAddr = addr('external');
  const peerAddr = addr('peer');
  if (!internalAddr || !externalAddr || !peerAddr)
    return bad('"internal", "external" or "peer" is not an address');
  if (internalAddr.length !== peerAddr.length || externalAddr.length !== peerAddr.length) {
    return bad('addresses mix IPv4 and IPv6');
  }
  const int = (x: unknown, max: number) =>
    typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= max;
  if (!int(o.port, 0xffff)) return bad('"port" is not a port number');
  const h = o.hard as Record<string, unknown> | null;
  if (typeof h !== 'object' || h === null) return bad('"hard" missing');
  const ws = (x: unknown) => int(x, 15) || x === 0xff;
  if (
    !int(h.port, 0xffff) ||
    !int(h.peerPort, 0xffff) ||
    !int(h.peerMss, 0xffff) ||
    !int(h.peerWs, 15) ||
    !ws(h.appWs) ||
    !int(h.ack, 0xffffffff) ||
    typeof h.peerSackPermitted !== 'boolean' ||
    typeof h.doneReading !== 'boolean' ||
    typeof h.doneWriting !== 'boolean'
  ) {
    return bad('a "hard" field is missing or out of range');
  }
  return ok({
    internalAddr,
    externalAddr,
    peerAddr,
    port: o.port as number,
    hard: {
      port: h.port as number,
      peerPort: h.peerPort as number,
      peerMss: h.peerMss as number,
      peerWs: h.peerWs as number,
      peerSackPermitted: h.peerSackPermitted,
      appWs: h.appWs as number,
      ack: h.ack as number,
      doneReading: h.doneReading,
      doneWriting: h.doneWriting,
    },
  });
}
