// The two unmodified endpoints of the TCPR proxy test (test/tcpr-proxy.test.ts), run in the
// peer namespace with plain `net`: `node tcpr-proxy-ends.js <config.json> client|server`.
// The client opens connection k to the proxy from port clientBasePort + k and sends a
// 4-byte header (k) and its deterministic stream; the server (the proxy's target) reads
// the header and sends its own stream back. Each side hashes what it receives, closes its
// sending side (FIN) once it has sent and received everything (the client with `halfClose`
// as soon as it has sent), and records errors, a FIN that came too early, and the final
// FIN. With `resetAfter` the server resets connection 0 midway. `<side>-result.json` is rewritten on every event.

import { createHash, type Hash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { streamBytes } from './tcpr-stream.js';

export interface ProxyEndsConfig {
  connections: number;
  /** Bytes the client sends per connection, and the server. */
  clientBytes: number;
  serverBytes: number;
  /** The client closes its sending side (FIN) as soon as it sent everything. */
  halfClose?: boolean;
  /** The server resets connection 0 (RST) once it received this many bytes. */
  resetAfter?: number;
  chunk: number;
  tickMs: number;
  clientSeed: number;
  serverSeed: number;
  proxyAddress: string;
  proxyPort: number;
  clientAddress: string;
  clientBasePort: number;
  serverAddress: string;
  serverPort: number;
  dir: string;
}

export interface EndResult {
  received: number;
  sent: number;
  sha256: string;
  errors: string[];
  /** FIN before the whole stream arrived. */
  earlyEnd: boolean;
  /** The other side's FIN after the whole stream. */
  gotEnd: boolean;
}

const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ProxyEndsConfig;
const side = process.argv[3] as 'client' | 'server';
const results: EndResult[] = [];

function report(): void {
  const tmp = join(cfg.dir, `${side}-result.tmp`);
  writeFileSync(tmp, JSON.stringify(results));
  renameSync(tmp, join(cfg.dir, `${side}-result.json`));
}

function serve(sock: Socket, k: number, h: Hash, first?: Buffer): void {
  const r: EndResult = {
    received: 0,
    sent: 0,
    sha256: '',
    errors: [],
    earlyEnd: false,
    gotEnd: false,
  };
  results[k] = r;
  const mySeed = (side === 'client' ? cfg.clientSeed : cfg.serverSeed) + k;
  const toSend = side === 'client' ? cfg.clientBytes : cfg.serverBytes;
  const toGet = side === 'client' ? cfg.serverBytes : cfg.clientBytes;
  const maybeEnd = (): void => {
    const early = side === 'client' && cfg.halfClose === true;
    if (r.sent === toSend && (early || r.received === toGet) && !sock.writableEnded) sock.end();
  };
  const onData = (b: Buffer): void => {
    h.update(b);
    r.received += b.length;
    if (r.received > toGet) r.errors.push(`received ${r.received} > ${toGet}`);
    if (side === 'server' && k === 0 && cfg.resetAfter !== undefined) {
      if (r.received >= cfg.resetAfter && !sock.destroyed) {
        sock.resetAndDestroy();
        report();
        return;
      }
    }
    if (r.received === toGet) {
      r.sha256 = h.digest('hex');
      maybeEnd();
      report();
    }
  };
  if (first && first.length > 0) onData(first);
  sock.on('data', onData);
  sock.on('end', () => {
    if (r.received < toGet) r.earlyEnd = true;
    else r.gotEnd = true;
    report();
  });
  sock.on('error', (e) => {
    r.errors.push(`${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`);
    report();
  });
  void (async () => {
    while (r.sent < toSend && !sock.destroyed) {
      const n = Math.min(cfg.chunk, toSend - r.sent);
      const ok = sock.write(streamBytes(mySeed, r.sent, n));
      r.sent += n;
      if (!ok) await new Promise((res) => sock.once('drain', res));
      await new Promise((res) => setTimeout(res, cfg.tickMs));
    }
    maybeEnd();
  })();
}

if (side === 'server') {
  const server = createServer({ noDelay: true, allowHalfOpen: true }, (sock) => {
    let head = Buffer.alloc(0);
    const onHead = (b: Buffer): void => {
      head = Buffer.concat([head, b]);
      if (head.length < 4) return;
      sock.off('data', onHead);
      serve(sock, head.readUInt32BE(0), createHash('sha256'), head.subarray(4));
    };
    sock.on('data', onHead);
  });
  server.listen(cfg.serverPort, cfg.serverAddress, () => console.log('listening'));
} else {
  for (let k = 0; k < cfg.connections; k++) {
    const sock = connect({
      host: cfg.proxyAddress,
      port: cfg.proxyPort,
      localAddress: cfg.clientAddress,
      localPort: cfg.clientBasePort + k,
      noDelay: true,
      allowHalfOpen: true,
    });
    const head = Buffer.alloc(4);
    head.writeUInt32BE(k, 0);
    sock.write(head);
    serve(sock, k, createHash('sha256'));
  }
}
report();
