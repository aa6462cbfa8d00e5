// A scripted BGP peer for robustness tests (RFC 4271 §4, §8 as far as a test needs): it
// connects to (or accepts a connection from) a speaker over kernel TCP, exchanges OPEN and
// KEEPALIVE, and then does exactly what the test says — encoded UPDATEs or arbitrary raw
// octets — while recording everything it receives, framed by wire's Framer and decoded
// with the negotiated context. It never reacts on its own beyond the handshake and
// periodic KEEPALIVEs, so the test sees the speaker's behaviour unfiltered.
//
// Also here: the speaker under test as a child process (`node bin/nonstop.js speaker -c
// FILE` on loopback addresses, a temp config and control socket), for suites that need a
// real process — its crash is a test failure, not a hung test.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlRequest } from '../../src/control/client.js';
import { AFI, parseIPv4 } from '../../src/lib/ip.js';
import {
  DEFAULT_CONTEXT,
  Framer,
  KEEPALIVE_BYTES,
  MSG,
  SAFI,
  capFourOctetAs,
  capMultiprotocol,
  capRouteRefresh,
  decodeMessage,
  encodeMessage,
  makeOpen,
  negotiateContexts,
  type BgpError,
  type BgpMessage,
  type Capability,
  type CodecContext,
  type NotificationMessage,
  type OpenMessage,
  type UpdateMessage,
} from '../../src/wire/index.js';
import { projectRoot } from './data.js';

export interface BgpClientOptions {
  readonly asn: number;
  /** BGP Identifier, dotted quad. */
  readonly bgpId: string;
  /** Proposed hold time (s); default 90. */
  readonly holdTime?: number;
  /** Default: MP IPv4 and IPv6 unicast, route refresh, 4-octet AS. */
  readonly capabilities?: readonly Capability[];
}

/** Something received: the octets as framed, and what they decoded to. */
export interface Received {
  readonly raw: Uint8Array;
  readonly message?: BgpMessage;
  /** Decoding (or framing) failed: what our codec found wrong. */
  readonly error?: BgpError;
}

export class BgpTimeoutError extends Error {
  constructor(what: string, ms: number, seen: string) {
    super(`bgp-client: no ${what} within ${ms} ms; received so far: ${seen || 'nothing'}`);
    this.name = 'BgpTimeoutError';
  }
}

interface Waiter {
  readonly match: (r: Received) => boolean;
  readonly resolve: (r: Received) => void;
}

export function defaultCapabilities(asn: number): Capability[] {
  return [
    capMultiprotocol(AFI.IPv4, SAFI.UNICAST),
    capMultiprotocol(AFI.IPv6, SAFI.UNICAST),
    capRouteRefresh(),
    capFourOctetAs(asn),
  ];
}

/** One BGP session over one TCP connection, driven by the test. */
export class BgpClient {
  /** Everything received, in order. */
  readonly received: Received[] = [];
  readonly localOpen: OpenMessage;
  remoteOpen: OpenMessage | undefined;
  /** Context for what the speaker sends us (its OPEN decides, once received). */
  recv: CodecContext = DEFAULT_CONTEXT;
  /** Context for what we send. */
  send: CodecContext = DEFAULT_CONTEXT;
  private readonly framer = new Framer();
  private waiters: Waiter[] = [];
  private closedFlag = false;
  private readonly closedPromise: Promise<void>;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private socketError: Error | undefined;

  private constructor(
    readonly socket: Socket,
    opts: BgpClientOptions,
  ) {
    const bgpId = parseIPv4(opts.bgpId);
    if (!bgpId) throw new Error(`bgp-client: bad BGP Identifier ${opts.bgpId}`);
    this.localOpen = makeOpen({
      asn: opts.asn,
      holdTime: opts.holdTime ?? 90,
      bgpId,
      capabilities: opts.capabilities ?? defaultCapabilities(opts.asn),
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => (this.socketError = e));
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedFlag = true;
        this.stopKeepalives();
        resolve();
      }),
    );
  }

  /** Connect to a speaker at host:port, from `localAddress` if given. */
  static async connect(
    target: { host: string; port: number; localAddress?: string },
    opts: BgpClientOptions,
  ): Promise<BgpClient> {
    const socket = new Socket();
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(
        {
          host: target.host,
          port: target.port,
          ...(target.localAddress ? { localAddress: target.localAddress } : {}),
        },
        () => {
          socket.off('error', reject);
          resolve();
        },
      );
    });
    return new BgpClient(socket, opts);
  }

  /**
   * Listen on host:port (port 0: any) for one connection from the speaker. Returns the
   * bound port at once and the client when the speaker has connected.
   */
  static async accept(
    where: { host: string; port?: number; timeoutMs?: number },
    opts: BgpClientOptions,
  ): Promise<{ port: number; client: Promise<BgpClient> }> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(where.port ?? 0, where.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const timeoutMs = where.timeoutMs ?? 10_000;
    const client = new Promise<BgpClient>((resolve, reject) => {
      const timer = setTimeout(() => {
        server.close();
        reject(new Error(`bgp-client: no connection to ${where.host}:${port} in ${timeoutMs} ms`));
      }, timeoutMs);
      server.once('connection', (s) => {
        clearTimeout(timer);
        server.close();
        resolve(new BgpClient(s, opts));
      });
    });
    return { port, client };
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  get error(): Error | undefined {
    return this.socketError;
  }

  /** A marker for `since`: the number of messages received so far. */
  mark(): number {
    return this.received.length;
  }

  /** Messages of one type received since `since`. */
  messages(type: number, since = 0): Received[] {
    return this.received.slice(since).filter((r) => r.raw[18] === type);
  }

  notifications(since = 0): NotificationMessage[] {
    return this.messages(MSG.NOTIFICATION, since).flatMap((r) =>
      r.message?.type === MSG.NOTIFICATION ? [r.message] : [],
    );
  }

  updates(since = 0): UpdateMessage[] {
    return this.messages(MSG.UPDATE, since).flatMap((r) =>
      r.message?.type === MSG.UPDATE ? [r.message] : [],
    );
  }

  /** Short text of what was received, for assertion messages. */
  describe(since = 0): string {
    const names: Record<number, string> = { 1: 'OPEN', 2: 'UPDATE', 3: 'NOTIFICATION', 4: 'KA' };
    return this.received
      .slice(since)
      .map((r) => {
        const m = r.message;
        if (m?.type === MSG.NOTIFICATION) return `NOTIFICATION ${m.code}/${m.subcode}`;
        if (r.error) return `undecodable(${r.error.code}/${r.error.subcode})`;
        return names[r.raw[18]!] ?? `type${r.raw[18]}`;
      })
      .join(', ');
  }

  // --- sending -------------------------------------------------------------------------

  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  sendMessage(m: BgpMessage): void {
    this.sendRaw(encodeMessage(m, this.send));
  }

  sendUpdate(u: Omit<UpdateMessage, 'type'>): void {
    this.sendMessage({ type: MSG.UPDATE, ...u });
  }

  sendKeepalive(): void {
    this.sendRaw(KEEPALIVE_BYTES);
  }

  /**
   * OPEN, the speaker's OPEN, KEEPALIVE both ways: Established. Then a KEEPALIVE every
   * third of the negotiated hold time, so the session lasts as long as the test needs it.
   */
  async handshake(timeoutMs = 5000): Promise<void> {
    this.sendMessage(this.localOpen);
    const open = await this.waitFor((r) => r.raw[18] === MSG.OPEN, { timeoutMs, what: 'OPEN' });
    if (open.message?.type !== MSG.OPEN) {
      throw new Error(`bgp-client: the speaker's OPEN did not decode: ${open.error?.reason}`);
    }
    this.sendKeepalive();
    await this.waitFor((r) => r.raw[18] === MSG.KEEPALIVE, { timeoutMs, what: 'KEEPALIVE' });
    const hold = Math.min(this.localOpen.holdTime, open.message.holdTime);
    if (hold > 0) {
      this.keepaliveTimer = setInterval(() => this.sendKeepalive(), (hold * 1000) / 3);
      this.keepaliveTimer.unref();
    }
  }

  stopKeepalives(): void {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }

  // --- waiting -------------------------------------------------------------------------

  /** The first message since `since` (default: all received) that matches, or a timeout. */
  waitFor(
    match: (r: Received) => boolean,
    opts: { timeoutMs?: number; since?: number; what?: string } = {},
  ): Promise<Received> {
    const since = opts.since ?? 0;
    const found = this.received.slice(since).find(match);
    if (found) return Promise.resolve(found);
    const timeoutMs = opts.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        match,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new BgpTimeoutError(opts.what ?? 'matching message', timeoutMs, this.describe()));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  async waitForNotification(timeoutMs = 5000, since = 0): Promise<NotificationMessage> {
    const r = await this.waitFor((x) => x.message?.type === MSG.NOTIFICATION, {
      timeoutMs,
      since,
      what: 'NOTIFICATION',
    });
    return r.message as NotificationMessage;
  }

  async waitForUpdate(
    predicate: (u: UpdateMessage) => boolean,
    opts: { timeoutMs?: number; since?: number } = {},
  ): Promise<UpdateMessage> {
    const r = await this.waitFor((x) => x.message?.type === MSG.UPDATE && predicate(x.message), {
      ...opts,
      what: 'matching UPDATE',
    });
    return r.message as UpdateMessage;
  }

  /** Resolves when the speaker (or we) closed the connection; rejects after timeoutMs. */
  closed(timeoutMs = 5000): Promise<void> {
    if (this.closedFlag) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new BgpTimeoutError('connection close', timeoutMs, this.describe())),
        timeoutMs,
      );
      void this.closedPromise.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Close our side and wait until the socket is gone. */
  async close(): Promise<void> {
    this.stopKeepalives();
    if (this.closedFlag) return;
    this.socket.destroy();
    await this.closedPromise;
  }

  // --- receiving -----------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    this.framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    for (;;) {
      const f = this.framer.next();
      if (f === undefined) return;
      if (!(f instanceof Uint8Array)) {
        // The speaker broke framing: record it once and stop reading.
        if (!this.received.some((r) => r.error === f))
          this.push({ raw: new Uint8Array(0), error: f });
        return;
      }
      const raw = f.slice();
      const d = decodeMessage(raw, this.recv);
      if (!d.ok) {
        this.push({ raw, error: d.error });
        continue;
      }
      const m = d.message;
      if (m.type === MSG.OPEN && !this.remoteOpen) {
        // The very next message is decoded with what both OPENs negotiated.
        this.remoteOpen = m;
        const ctx = negotiateContexts(this.localOpen, m);
        this.recv = ctx.receive;
        this.send = ctx.send;
        this.framer.setExtendedMessage(ctx.receive.extendedMessage);
      }
      this.push({ raw, message: m });
    }
  }

  private push(r: Received): void {
    this.received.push(r);
    const ready = this.waiters.filter((w) => w.match(r));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve(r);
  }
}

// ---------------------------------------------------------------------------------------
// The speaker under test, as a child process.

export interface SpeakerProcess {
  readonly child: ChildProcess;
  /** Temp directory holding the config and the control socket (removed by stop()). */
  readonly dir: string;
  readonly configPath: string;
  readonly socket: string;
  /** The BGP listen endpoint. */
  readonly host: string;
  readonly port: number;
  /** stderr so far (JSON log lines). */
  logs(): string;
  /** Parsed log lines whose msg matches. */
  logLines(msg: RegExp): Record<string, unknown>[];
  /** Resolves with the first log line (since `since` characters of the log) that matches. */
  waitForLog(msg: RegExp, timeoutMs?: number, since?: number): Promise<Record<string, unknown>>;
  alive(): boolean;
  /** GET on the control API; throws unless 200. */
  api<T>(path: string): Promise<T>;
  /** Replace the config file's text (then signal with child.kill('SIGHUP')). */
  writeConfig(text: string): void;
  /** SIGTERM, wait for exit (SIGKILL after 5 s), remove the temp directory. */
  stop(): Promise<number | null>;
}

/** A TCP port free on `host` right now (the speaker binds it a moment later). */
export async function freePort(host: string): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, host, () => resolve());
  });
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * Start `nonstop speaker -c FILE` with the config `yaml({ port, socket })` returns; the
 * speaker listens on host:port. Resolves once GET /status answers.
 */
export async function startSpeaker(opts: {
  host: string;
  yaml: (env: { host: string; port: number; socket: string }) => string;
  timeoutMs?: number;
}): Promise<SpeakerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-robust-'));
  const configPath = join(dir, 'speaker.yaml');
  const socket = join(dir, 'control.sock');
  const port = await freePort(opts.host);
  writeFileSync(configPath, opts.yaml({ host: opts.host, port, socket }));
  const child = spawn(
    process.execPath,
    [join(projectRoot(), 'bin', 'nonstop.js'), 'speaker', '-c', configPath],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  let exited: number | null | undefined;
  // Safety net: never leave a speaker behind, even when the test process exits early.
  const reap = (): void => {
    if (exited === undefined) child.kill('SIGKILL');
  };
  process.once('exit', reap);
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code, sig) => {
      exited = code ?? (sig ? -1 : null);
      process.off('exit', reap);
      resolve(exited);
    }),
  );
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (log += s));
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (log += s));
  const parse = (text: string): Record<string, unknown>[] =>
    text.split('\n').flatMap((l) => {
      if (!l.startsWith('{')) return [];
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const sp: SpeakerProcess = {
    child,
    dir,
    configPath,
    socket,
    host: opts.host,
    port,
    logs: () => log,
    logLines: (msg) => parse(log).filter((l) => typeof l['msg'] === 'string' && msg.test(l['msg'])),
    async waitForLog(msg, timeoutMs = 5000, since = 0) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = parse(log.slice(since)).find(
          (l) => typeof l['msg'] === 'string' && msg.test(l['msg']),
        );
        if (hit) return hit;
        if (Date.now() > deadline || exited !== undefined) {
          throw new Error(
            `speaker: no log line matching ${msg} in ${timeoutMs} ms; log:\n${log.slice(-3000)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    alive: () => exited === undefined && child.exitCode === null && child.signalCode === null,
    async api<T>(path: string): Promise<T> {
      const r = await controlRequest(socket, 'GET', path, undefined, { timeoutMs: 3000 });
      if (r.status !== 200) throw new Error(`speaker: GET ${path} → ${r.status} ${r.text}`);
      return r.json as T;
    },
    writeConfig: (text) => writeFileSync(configPath, text),
    async stop() {
      if (exited === undefined) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
      return exited ?? null;
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    if (exited !== undefined) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`speaker exited (${exited}) during start-up; log:\n${log}`);
    }
    try {
      const r = await controlRequest(socket, 'GET', '/status', undefined, { timeoutMs: 1000 });
      if (r.status === 200 && /listening on/.test(log)) return sp;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await sp.stop();
      throw new Error(`speaker did not answer GET /status in time; log:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
