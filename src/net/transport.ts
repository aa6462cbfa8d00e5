// The byte stream a BGP session runs over (ARCHITECTURE.md: never net.Socket directly).
// Implementations: kernel TCP (net/tcp.ts), an in-memory pair for tests (net/memory.ts),
// and later a TCPR-protected socket and the bug-tolerant router's replicator channel.
// The recovery hooks (`stats`, `pause`/`resume`) are what TCPR and grafting need to know
// how far each side of the stream has got.

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface TransportStats {
  /** Octets received from the peer and handed to onData. */
  readonly bytesIn: number;
  /** Octets accepted by write(). */
  readonly bytesOut: number;
}

export interface Transport {
  /** 'tcp' | 'memory' | 'tcpr' | 'replicator' | … (for logs and `show neighbor`). */
  readonly kind: string;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** Queues octets for the peer; false when above the high-water mark (wait for onDrain). */
  write(bytes: Uint8Array): boolean;
  /** Receives the peer's octets, in order, as they arrive (chunks split anywhere). */
  onData(cb: (chunk: Uint8Array) => void): void;
  onDrain(cb: () => void): void;
  /** Called once when the stream ends, with the error if it failed. */
  onClose(cb: (err?: Error) => void): void;
  /** Stops / restarts delivery of incoming data (backpressure towards the peer). */
  pause(): void;
  resume(): void;
  /** Flushes what is queued, then closes. */
  end(): void;
  /** Closes at once, dropping what is queued. */
  destroy(): void;
  stats(): TransportStats;
}

/**
 * A transport that passes everything to another one: the base of wrappers that change
 * one thing (what is written, what is delivered, when it closes) and forward the rest.
 */
export class ForwardingTransport implements Transport {
  constructor(protected readonly inner: Transport) {}
  get kind(): string {
    return this.inner.kind;
  }
  get local(): Endpoint {
    return this.inner.local;
  }
  get remote(): Endpoint {
    return this.inner.remote;
  }
  write(bytes: Uint8Array): boolean {
    return this.inner.write(bytes);
  }
  onData(cb: (chunk: Uint8Array) => void): void {
    this.inner.onData(cb);
  }
  onDrain(cb: () => void): void {
    this.inner.onDrain(cb);
  }
  onClose(cb: (err?: Error) => void): void {
    this.inner.onClose(cb);
  }
  pause(): void {
    this.inner.pause();
  }
  resume(): void {
    this.inner.resume();
  }
  end(): void {
    this.inner.end();
  }
  destroy(): void {
    this.inner.destroy();
  }
  stats(): TransportStats {
    return this.inner.stats();
  }
}

/** Opens outgoing transports and accepts incoming ones. */
export interface Connector {
  connect(remote: Endpoint, local?: { address?: string; port?: number }): Promise<Transport>;
  listen(local: Endpoint, onAccept: (t: Transport) => void): Promise<Listener>;
}

export interface Listener {
  readonly local: Endpoint;
  close(): Promise<void>;
}
