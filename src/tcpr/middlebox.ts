// The TCPR middlebox daemon (TCPR paper §II–III): the packet pump between the app's and
// the peers' TUN devices running the TCPR pump filter (which also answers the UDP side
// channel of spec §2.5 inside the packet stream), plus a local control socket.
//
// - Control socket: a Unix stream socket (mode 0600: root or the owner only). Frames are a
//   4-byte big-endian length, then either a binary control message (encodeControl,
//   authenticated or not: the socket's file mode is the access control) answered by a
//   control message (`ok` when the filter has nothing to say, e.g. a successful update),
//   or a JSON admin request (`{"op":"stats"}`, `{"op":"save-all"}`) answered by JSON.
//   Control messages go to the filter in the worker (pump.call('control')), between
//   packets: the filter stays single-threaded (E14).
// - The pump dying (device deleted, worker crash) is fatal: 'fatal' is emitted and the
//   control socket closed; the caller (the CLI) exits non-zero so a supervisor restarts
//   it. Meanwhile the topology fails closed (persistent TUNs, blackhole routes). A
//   restarted middlebox starts with an empty table: connections come back through
//   `restore` and state-less recovery, prompted by E9 `no-state` notices.

import { EventEmitter } from 'node:events';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { formatAddr, parseAddr } from '../lib/ip.js';
import { nullLogger, type Logger } from '../lib/log.js';
import {
  startPump,
  type Pump,
  type PumpError,
  type PumpStats,
  type NfqueueEndpoint,
  type TunEndpoint,
} from '../net/packet-pump.js';
import { decodeControl, encodeControl, type ControlMessage } from './control-codec.js';
import type { SavedState } from './connection.js';
import type { TcprPumpOptions, TcprPumpStats } from './pump-filter.js';

/** TUN mode: `appTun` and `peerTun`; NFQUEUE mode (docs/tcpr-nfqueue.md): `nfqueue`. */
export interface MiddleboxOptions {
  appTun?: TunEndpoint;
  peerTun?: TunEndpoint;
  nfqueue?: NfqueueEndpoint;
  options: TcprPumpOptions;
  /** Path of the Unix control socket; none when absent. */
  controlSocket?: string;
  log?: Logger;
  /** The filter module (default: the compiled pump-filter.js next to this file). */
  filterModule?: string;
}

export interface MiddleboxStats {
  pump: PumpStats;
  tcpr: TcprPumpStats;
  /** Control-socket frames handled, and refused (bad frame, bad message). */
  socket: { requests: number; errors: number; clients: number };
}

/** Largest control frame accepted (a list reply of 128 snapshots is far below). */
export const MAX_FRAME = 1 << 20;

export class Middlebox extends EventEmitter {
  private server: Server | undefined;
  private readonly clients = new Set<Socket>();
  private stopped = false;
  private readonly sock = { requests: 0, errors: 0, clients: 0 };

  /** @internal use startMiddlebox() */
  constructor(
    readonly pump: Pump,
    private readonly log: Logger,
    readonly controlSocket: string | undefined,
  ) {
    super();
    pump.on('warning', (w: string) => log.warn('packet pump warning', { warning: w }));
    pump.on('error', (e: PumpError) => {
      log.error('packet pump died; the path is closed (fail closed) until a restart', {
        code: e.code,
        error: e.message,
      });
      this.closeServer();
      this.emit('fatal', e);
    });
  }

  /** A control message to the filter; the filter's reply, or `ok` when it has none. */
  async control(msg: ControlMessage): Promise<ControlMessage> {
    const r = await this.pump.call<{ reply?: ControlMessage }>('control', msg);
    return r.reply ?? { type: 'ok' };
  }

  async stats(): Promise<MiddleboxStats> {
    return {
      pump: this.pump.stats(),
      tcpr: await this.pump.call<TcprPumpStats>('stats'),
      socket: { ...this.sock, clients: this.clients.size },
    };
  }

  saveAll(): Promise<SavedState[]> {
    return this.pump.call<SavedState[]>('saveAll');
  }

  /** Replaces the side channel's allow list and key (both validated first). */
  async reload(next: { allow?: string[]; key?: string }): Promise<void> {
    await this.pump.call('reload', next);
    this.log.info('side channel settings reloaded', {
      allow: next.allow ?? 'internal addresses',
      authenticated: next.key !== undefined,
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.closeServer();
    await this.pump.stop();
    this.log.info('middlebox stopped');
  }

  /** @internal */
  async listen(path: string): Promise<void> {
    await removeStaleSocket(path);
    const server = createServer((s) => this.serve(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    server.on('error', (e) => this.log.error('control socket error', { error: e.message }));
    this.server = server;
  }

  private closeServer(): void {
    for (const c of this.clients) c.destroy();
    this.clients.clear();
    if (this.server) {
      this.server.close();
      this.server = undefined;
      try {
        if (this.controlSocket) unlinkSync(this.controlSocket);
      } catch {
        // already gone
      }
    }
  }

  private serve(s: Socket): void {
    this.clients.add(s);
    const log = this.log.child({ client: this.clients.size });
    let buf: Buffer = Buffer.alloc(0);
    let busy = Promise.resolve();
    s.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (len > MAX_FRAME) {
          this.sock.errors++;
          log.warn('control socket: oversized frame, closing', { bytes: len });
          s.destroy();
          return;
        }
        if (buf.length < 4 + len) break;
        const frame = new Uint8Array(buf.subarray(4, 4 + len));
        buf = buf.subarray(4 + len);
        // Requests on one connection are answered in order.
        busy = busy.then(() => this.handle(frame, log).then((out) => writeFrame(s, out)));
      }
    });
    s.on('error', () => s.destroy());
    s.on('close', () => this.clients.delete(s));
  }

  private async handle(frame: Uint8Array, log: Logger): Promise<Uint8Array> {
    this.sock.requests++;
    try {
      if (frame[0] === 0x7b /* '{' */) {
        const req = JSON.parse(Buffer.from(frame).toString('utf8')) as { op?: unknown };
        let value: unknown;
        if (req.op === 'stats') value = await this.stats();
        else if (req.op === 'save-all') value = await this.saveAll();
        else throw new Error(`unknown admin op ${JSON.stringify(req.op)}; use stats or save-all`);
        return Buffer.from(JSON.stringify(value, jsonBytes));
      }
      let d = decodeControl(frame);
      // The socket's file mode is the access control; a signed frame is checked by shape only.
      if (!d.ok && d.error.code === 'ERR_TCPR_CTL_AUTH_UNEXPECTED') {
        const copy = frame.slice();
        copy[6] = 0;
        d = decodeControl(copy.subarray(0, copy.length - 16));
      }
      if (!d.ok) {
        this.sock.errors++;
        return encodeControl({ type: 'error', code: d.error.code, message: d.error.message });
      }
      return encodeControl(await this.control(d.value.msg));
    } catch (e) {
      this.sock.errors++;
      const message = (e as Error).message;
      log.warn('control socket request failed', { error: message });
      return frame[0] === 0x7b
        ? Buffer.from(JSON.stringify({ error: message }))
        : encodeControl({ type: 'error', code: 'ERR_TCPR_MIDDLEBOX', message });
    }
  }
}

/** JSON for stats and saved states: byte arrays as plain lists. */
function jsonBytes(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? Array.from(v) : v;
}

function writeFrame(s: Socket, payload: Uint8Array): void {
  if (s.destroyed) return;
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length, 0);
  s.write(Buffer.concat([head, payload]));
}

/** A socket file left by a dead middlebox is removed; a live one is an error. */
async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) {
    throw new Error(
      `control socket path ${path} exists and is not a socket; remove it or choose another path`,
    );
  }
  const alive = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) {
    throw new Error(
      `another middlebox is listening on ${path}; stop it first or use another control socket`,
    );
  }
  unlinkSync(path);
}

/** An address in canonical text, so that equal addresses compare equal. */
function canonical(a: string): string {
  const b = parseAddr(a);
  return b ? formatAddr(b) : a;
}

export async function startMiddlebox(opts: MiddleboxOptions): Promise<Middlebox> {
  if (opts.nfqueue) {
    for (const m of opts.options.addresses) {
      if (canonical(m.internal) !== canonical(m.external)) {
        throw new Error(
          `TCPR middlebox: address mapping ${m.internal} → ${m.external}: NFQUEUE mode cannot ` +
            'map addresses (the router routes by the external address before the queue sees ' +
            'the packet, and a rewritten packet is not routed again); use equal addresses ' +
            'or TUN mode',
        );
      }
    }
  }
  const log = opts.log ?? nullLogger;
  const module = opts.filterModule ?? fileURLToPath(new URL('./pump-filter.js', import.meta.url));
  const pump = await startPump({
    ...(opts.nfqueue ? { nfqueue: opts.nfqueue } : { appTun: opts.appTun, peerTun: opts.peerTun }),
    filter: { module, export: 'createFilter', options: opts.options },
  });
  const mb = new Middlebox(pump, log, opts.controlSocket);
  if (opts.controlSocket) {
    try {
      await mb.listen(opts.controlSocket);
    } catch (e) {
      await pump.stop();
      throw e;
    }
  }
  log.info('middlebox started', {
    ...(opts.nfqueue
      ? {
          mode: 'nfqueue',
          appQueue: opts.nfqueue.appQueue,
          peerQueue: opts.nfqueue.peerQueue,
          mark: opts.nfqueue.mark,
        }
      : { mode: 'tun', appTun: opts.appTun?.name ?? '', peerTun: opts.peerTun?.name ?? '' }),
    netns: opts.nfqueue?.netns ?? opts.appTun?.netns ?? '',
    channel: opts.options.channel.addresses.join(','),
    channelPort: opts.options.channel.port ?? 7780,
    authenticated: opts.options.key !== undefined,
    controlSocket: opts.controlSocket ?? '',
  });
  return mb;
}

// ---- client side of the control socket (CLI tools) ------------------------------------------

/** One request/response connection to a middlebox's control socket. */
export class MiddleboxClient {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }[] = [];

  private constructor(private readonly s: Socket) {
    s.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      while (this.buf.length >= 4) {
        const len = this.buf.readUInt32BE(0);
        if (this.buf.length < 4 + len) break;
        const frame = new Uint8Array(this.buf.subarray(4, 4 + len));
        this.buf = this.buf.subarray(4 + len);
        this.waiting.shift()?.resolve(frame);
      }
    });
    const fail = (e: Error) => {
      for (const w of this.waiting.splice(0)) w.reject(e);
    };
    s.on('error', fail);
    s.on('close', () => fail(new Error('middlebox closed the control socket')));
  }

  static connect(path: string): Promise<MiddleboxClient> {
    return new Promise((resolve, reject) => {
      const s = createConnection(path);
      s.once('connect', () => resolve(new MiddleboxClient(s)));
      s.once('error', (e) =>
        reject(
          new Error(
            `cannot reach the TCPR middlebox at ${path}: ${e.message} (is it running? are you root?)`,
          ),
        ),
      );
    });
  }

  private request(payload: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      writeFrame(this.s, payload);
    });
  }

  async control(msg: ControlMessage): Promise<ControlMessage> {
    const d = decodeControl(await this.request(encodeControl(msg)));
    if (!d.ok) throw new Error(`bad reply from the middlebox: ${d.error.message}`);
    return d.value.msg;
  }

  async admin<T>(op: 'stats' | 'save-all'): Promise<T> {
    const text = Buffer.from(await this.request(Buffer.from(JSON.stringify({ op })))).toString();
    const v = JSON.parse(text) as T & { error?: string };
    if (v && typeof v === 'object' && 'error' in v && typeof v.error === 'string') {
      throw new Error(v.error);
    }
    return v;
  }

  close(): void {
    this.s.destroy();
  }
}
