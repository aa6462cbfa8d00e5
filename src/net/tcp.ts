// Kernel TCP transports over node:net (RFC 4271 §8: BGP runs over a TCP connection, port
// 179). A TcpConnector opens connections (optionally from a chosen local address and port,
// so several speakers can share one host on 127.0.0.2, 127.0.0.3, …) and listens; each
// socket is wrapped as a Transport with TCP_NODELAY (BGP messages are small and latency
// matters more than packet count), octet counters for recovery, and write backpressure
// measured on the octets not yet handed to the kernel.
//
// Not done here, on purpose: GTSM / IP TTL 1 for directly connected eBGP (RFC 5082) and
// TCP-MD5 / TCP-AO need setsockopt options that node:net does not expose; they belong in
// an FFI-backed transport (as TCPR's packet I/O does), not in this one.

import * as net from 'node:net';
import type { Connector, Endpoint, Listener, Transport, TransportStats } from './transport.js';

export interface TcpOptions {
  /** write() returns false above this many octets not yet given to the kernel. 256 KiB. */
  readonly highWaterMark?: number;
  /** Give up a connection attempt after this long (ms). Default 30 s. */
  readonly connectTimeoutMs?: number;
  /** After end(), destroy the socket if the peer has not closed within this (ms). 5 s. */
  readonly endTimeoutMs?: number;
}

/** `::ffff:198.18.0.2` (IPv4-mapped, from a dual-stack socket) → `198.18.0.2`. */
export function normalizeAddress(a: string | undefined): string {
  if (!a) return '';
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return m ? m[1]! : a.toLowerCase();
}

/** A socket error as one readable line: "connection to 198.18.0.2:179 failed: ECONNRESET". */
function describe(what: string, e: unknown): Error {
  const code = (e as { code?: unknown }).code;
  const detail = typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
  const out = new Error(`${what} failed: ${detail}`);
  (out as Error & { code?: string }).code = typeof code === 'string' ? code : 'EUNKNOWN';
  return out;
}

export class TcpTransport implements Transport {
  readonly kind = 'tcp';
  readonly local: Endpoint;
  readonly remote: Endpoint;
  private bytesIn = 0;
  private bytesOut = 0;
  /** Octets written but not yet flushed to the kernel. */
  private pending = 0;
  private needDrain = false;
  private lastError: Error | undefined;
  private closed = false;
  private closeCb: ((err?: Error) => void) | undefined;
  private drainCb: (() => void) | undefined;
  private readonly hwm: number;
  private readonly endTimeoutMs: number;

  constructor(
    /** The socket (TCPR adopts an accepted one: src/tcpr/bgp-sessions.ts). */
    readonly socket: net.Socket,
    opts: TcpOptions = {},
  ) {
    this.hwm = opts.highWaterMark ?? 256 * 1024;
    this.endTimeoutMs = opts.endTimeoutMs ?? 5000;
    socket.setNoDelay(true);
    this.local = {
      address: normalizeAddress(socket.localAddress),
      port: socket.localPort ?? 0,
    };
    this.remote = {
      address: normalizeAddress(socket.remoteAddress),
      port: socket.remotePort ?? 0,
    };
    socket.on('error', (e) => {
      this.lastError = describe(`connection to ${this.remote.address}:${this.remote.port}`, e);
    });
    socket.on('close', () => {
      this.closed = true;
      const cb = this.closeCb;
      this.closeCb = undefined;
      cb?.(this.lastError);
    });
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed || this.socket.writableEnded) return false;
    const n = bytes.length;
    this.bytesOut += n;
    this.pending += n;
    this.socket.write(bytes, () => {
      this.pending -= n;
      if (this.needDrain && this.pending <= this.hwm / 2) {
        this.needDrain = false;
        this.drainCb?.();
      }
    });
    if (this.pending < this.hwm) return true;
    this.needDrain = true;
    return false;
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.socket.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      cb(chunk);
    });
  }

  onDrain(cb: () => void): void {
    this.drainCb = cb;
  }

  onClose(cb: (err?: Error) => void): void {
    if (this.closed) {
      queueMicrotask(() => cb(this.lastError));
      return;
    }
    this.closeCb = cb;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    if (this.closed) return;
    this.socket.end();
    // A peer that never answers our FIN must not keep the socket (and the process) alive.
    const t = setTimeout(() => this.socket.destroy(), this.endTimeoutMs);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }

  destroy(): void {
    this.socket.destroy();
  }

  stats(): TransportStats {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }
}

export class TcpConnector implements Connector {
  constructor(private readonly opts: TcpOptions = {}) {}

  connect(remote: Endpoint, local?: { address?: string; port?: number }): Promise<Transport> {
    const what = `connect to ${remote.address}:${remote.port}`;
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        host: remote.address,
        port: remote.port,
        ...(local?.address ? { localAddress: local.address } : {}),
        ...(local?.port ? { localPort: local.port } : {}),
        noDelay: true,
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(describe(what, { code: 'ETIMEDOUT' }));
      }, this.opts.connectTimeoutMs ?? 30_000);
      timer.unref();
      const onError = (e: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(describe(what, e));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new TcpTransport(socket, this.opts));
      });
    });
  }

  listen(local: Endpoint, onAccept: (t: Transport) => void): Promise<Listener> {
    const what = `listen on ${local.address}:${local.port}`;
    return new Promise((resolve, reject) => {
      const server = net.createServer({ noDelay: true }, (socket) => {
        // A socket that died before we saw it has no remote address; nothing to accept.
        if (!socket.remoteAddress) {
          socket.destroy();
          return;
        }
        onAccept(new TcpTransport(socket, this.opts));
      });
      server.once('error', (e) => reject(describe(what, e)));
      // IPv6 sockets are IPv6-only, so `::` and `0.0.0.0` can both listen on one port.
      server.listen(
        { host: local.address, port: local.port, ipv6Only: local.address.includes(':') },
        () => {
          const a = server.address();
          const bound: Endpoint =
            a && typeof a === 'object'
              ? { address: normalizeAddress(a.address), port: a.port }
              : local;
          server.on('error', () => undefined); // after listening, errors surface per socket
          resolve({
            local: bound,
            // Stop accepting; established sessions keep their sockets.
            close: () =>
              new Promise<void>((res) => {
                server.close();
                setImmediate(res);
              }),
          });
        },
      );
    });
  }
}
