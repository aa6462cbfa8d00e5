// In-memory transports (ARCHITECTURE.md "Transports: … in-memory pair (tests)"): a duplex
// byte stream with the semantics of a TCP connection that the session engine relies on —
// in-order delivery, asynchronous callbacks, chunks split anywhere, backpressure, a clean
// end (queued bytes first) and an abrupt destroy — and a MemoryNetwork of listeners so
// whole speakers can run in one process, on virtual time, without sockets.
//
// Delivery is on the microtask queue: a test drains everything in flight with one
// `await new Promise((r) => setImmediate(r))`.

import type { Connector, Endpoint, Listener, Transport, TransportStats } from './transport.js';

export interface MemoryOptions {
  /** Split every write into random chunks (seeded), to exercise framing. */
  readonly split?: { readonly seed: number; readonly maxChunk?: number };
  /** write() returns false above this many undelivered octets. Default 64 KiB. */
  readonly highWaterMark?: number;
  /** Transport.kind; default 'memory'. */
  readonly kind?: string;
}

type CloseCb = (err?: Error) => void;

class Side implements Transport {
  readonly kind: string;
  peer!: Side;
  private readonly inbox: Uint8Array[] = [];
  private inboxBytes = 0;
  private dataCb: ((chunk: Uint8Array) => void) | undefined;
  private drainCb: (() => void) | undefined;
  private closeCb: CloseCb | undefined;
  private paused = false;
  private scheduled = false;
  private needDrain = false;
  /** We wrote end(): the peer closes once it has read our queued bytes. */
  private ending = false;
  private closed = false;
  private closeErr: Error | undefined;
  private bytesIn = 0;
  private bytesOut = 0;

  constructor(
    readonly local: Endpoint,
    readonly remote: Endpoint,
    private readonly opts: MemoryOptions,
    private readonly rng: { next: () => number } | undefined,
  ) {
    this.kind = opts.kind ?? 'memory';
  }

  private get hwm(): number {
    return this.opts.highWaterMark ?? 65536;
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed || this.ending) return false;
    this.bytesOut += bytes.length;
    // Copy: the caller may reuse its buffer, as with a socket.
    this.peer.enqueue(bytes.slice());
    const ok = this.peer.inboxBytes < this.hwm;
    if (!ok) this.needDrain = true;
    return ok;
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.dataCb = cb;
    this.schedule();
  }

  onDrain(cb: () => void): void {
    this.drainCb = cb;
  }

  onClose(cb: CloseCb): void {
    this.closeCb = cb;
    if (this.closed) queueMicrotask(() => this.fireClose());
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    this.peer.schedule(); // the peer sees the end once it has read what is queued
  }

  destroy(): void {
    if (this.closed) return;
    this.inbox.length = 0;
    this.inboxBytes = 0;
    this.markClosed();
    if (!this.peer.closed) {
      this.peer.inbox.length = 0; // what we had sent is lost, as with a reset
      this.peer.inboxBytes = 0;
      this.peer.markClosed(new Error('connection reset by peer (ECONNRESET)'));
    }
  }

  stats(): TransportStats {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }

  private enqueue(bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    if (this.rng) {
      const max = Math.max(1, this.opts.split?.maxChunk ?? 64);
      for (let off = 0; off < bytes.length;) {
        const n = 1 + Math.floor(this.rng.next() * max);
        this.inbox.push(bytes.subarray(off, off + n));
        off += n;
      }
    } else {
      this.inbox.push(bytes);
    }
    this.inboxBytes += bytes.length;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.deliver();
    });
  }

  private deliver(): void {
    if (this.closed) return;
    // One chunk per microtask, so that chunks of different writes interleave with other
    // work as they would on a socket.
    if (!this.paused && this.dataCb && this.inbox.length > 0) {
      const chunk = this.inbox.shift()!;
      this.inboxBytes -= chunk.length;
      this.bytesIn += chunk.length;
      this.dataCb(chunk);
      this.peer.maybeDrain();
      if (this.inbox.length > 0) this.schedule();
    }
    if (this.inbox.length === 0 && this.peer.ending && !this.closed) {
      // The peer's end() after all its bytes: a clean close on both sides.
      this.markClosed();
      this.peer.markClosed();
    }
  }

  private maybeDrain(): void {
    if (this.needDrain && this.peer.inboxBytes < this.hwm / 2) {
      this.needDrain = false;
      this.drainCb?.();
    }
  }

  private markClosed(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeErr = err;
    queueMicrotask(() => this.fireClose());
  }

  private fireClose(): void {
    const cb = this.closeCb;
    if (!cb) return;
    this.closeCb = undefined;
    cb(this.closeErr);
  }
}

/** Two connected transports: what `a` writes, `b` reads, and the other way round. */
export function memoryPair(
  a: Endpoint,
  b: Endpoint,
  opts: MemoryOptions = {},
): [Transport, Transport] {
  const sa = new Side(a, b, opts, opts.split ? rng(opts.split.seed) : undefined);
  const sb = new Side(b, a, opts, opts.split ? rng(opts.split.seed ^ 0x9e3779b9) : undefined);
  sa.peer = sb;
  sb.peer = sa;
  return [sa, sb];
}

/** xorshift32: a seeded stream of values in [0, 1) for chunk sizes (not for anything else). */
function rng(seed: number): { next: () => number } {
  let s = seed >>> 0 || 0x2545f491;
  return {
    next: () => {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      return s / 4294967296;
    },
  };
}

const key = (e: Endpoint): string => `${e.address}|${e.port}`;

/** Error codes like Node's, so callers treat memory and kernel failures alike. */
class MemoryNetError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'MemoryNetError';
  }
}

/**
 * Listeners by address and port; connect() reaches the one at the remote endpoint (or a
 * wildcard 0.0.0.0 / :: listener on that port). `host(address)` is one machine's view:
 * its connections come from that address and its listeners bind it by default.
 */
export class MemoryNetwork implements Connector {
  private readonly listeners = new Map<string, (t: Transport) => void>();
  private nextPort = 49152;
  /** Connections made so far (for tests). */
  connections = 0;

  constructor(private readonly opts: MemoryOptions & { readonly defaultAddress?: string } = {}) {}

  host(address: string): Connector {
    return {
      connect: (remote, local) => this.connect(remote, { address, ...local }),
      listen: (l, onAccept) =>
        this.listen({ address: l.address || address, port: l.port }, onAccept),
    };
  }

  connect(remote: Endpoint, local?: { address?: string; port?: number }): Promise<Transport> {
    const target =
      this.listeners.get(key(remote)) ??
      this.listeners.get(
        key({ address: remote.address.includes(':') ? '::' : '0.0.0.0', port: remote.port }),
      );
    const l: Endpoint = {
      address: local?.address ?? this.opts.defaultAddress ?? '127.0.0.1',
      port: local?.port || this.nextPort++,
    };
    return new Promise((resolve, reject) => {
      queueMicrotask(() => {
        if (!target) {
          reject(
            new MemoryNetError(
              'ECONNREFUSED',
              `connect to ${remote.address}:${remote.port} failed: ECONNREFUSED`,
            ),
          );
          return;
        }
        this.connections++;
        const [mine, theirs] = memoryPair(l, remote, this.opts);
        target(theirs);
        resolve(mine);
      });
    });
  }

  listen(local: Endpoint, onAccept: (t: Transport) => void): Promise<Listener> {
    const bound: Endpoint = { address: local.address, port: local.port || this.nextPort++ };
    const k = key(bound);
    if (this.listeners.has(k)) {
      return Promise.reject(
        new MemoryNetError(
          'EADDRINUSE',
          `listen on ${bound.address}:${bound.port} failed: EADDRINUSE`,
        ),
      );
    }
    this.listeners.set(k, onAccept);
    return Promise.resolve({
      local: bound,
      close: () => {
        this.listeners.delete(k);
        return Promise.resolve();
      },
    });
  }
}
