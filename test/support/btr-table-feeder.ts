// A scripted external neighbour that feeds a table to a real-daemon bug-tolerant router
// (test/btr-diversity.test.ts), run inside the neighbour's namespace (`ip netns exec <ns>
// node dist/test/support/btr-table-feeder.js CONFIG.json`; Node cannot open sockets in
// another namespace). It connects to the router (test/support/bgp-client.ts, RFC 4271 §8:
// OPEN, KEEPALIVE), sends the UPDATEs of its file (one hex-encoded message a line, prepared
// by the test) and End-of-RIB, and keeps the session up. Printed as JSON lines on stdout:
// `{ established, wall }`, `{ fed, updates, wall }`, every UPDATE received as
// `{ recv: hex, wall }`, and `{ closed, wall }` if the router ends the session. It retries
// the connection every 500 ms until the session is up.

import { readFileSync } from 'node:fs';
import { AFI } from '../../src/lib/ip.js';
import {
  MSG,
  SAFI,
  capFourOctetAs,
  capMultiprotocol,
  capRouteRefresh,
} from '../../src/wire/index.js';
import { BgpClient } from './bgp-client.js';

export interface TableFeederConfig {
  readonly asn: number;
  readonly bgpId: string;
  /** The feeder's address (the session's source). */
  readonly local: string;
  /** The router's address on the link. */
  readonly router: string;
  /** One hex-encoded UPDATE per line. */
  readonly updatesFile: string;
  readonly holdTime?: number;
}

/** One JSON line of the feeder's output (see the header). */
export type TableFeederLine =
  | { readonly established: true; readonly wall: number }
  | { readonly fed: true; readonly updates: number; readonly wall: number }
  | { readonly recv: string; readonly wall: number }
  | { readonly closed: true; readonly wall: number };

const print = (o: object): void =>
  void process.stdout.write(`${JSON.stringify({ ...o, wall: Date.now() })}\n`);

async function connect(cfg: TableFeederConfig): Promise<BgpClient> {
  for (;;) {
    try {
      return await BgpClient.connect(
        { host: cfg.router, port: 179, localAddress: cfg.local },
        {
          asn: cfg.asn,
          bgpId: cfg.bgpId,
          holdTime: cfg.holdTime ?? 9,
          capabilities: [
            capMultiprotocol(AFI.IPv4, SAFI.UNICAST),
            capRouteRefresh(),
            capFourOctetAs(cfg.asn),
          ],
        },
      );
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: btr-table-feeder.js CONFIG.json');
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as TableFeederConfig;
  const updates = readFileSync(cfg.updatesFile, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => Buffer.from(l, 'hex'));
  const client = await connect(cfg);
  await client.handshake(10_000);
  print({ established: true });
  let seen = 0;
  const poll = setInterval(() => {
    for (; seen < client.received.length; seen++) {
      const r = client.received[seen]!;
      if (r.raw[18] === MSG.UPDATE) print({ recv: Buffer.from(r.raw).toString('hex') });
    }
  }, 50);
  for (const u of updates) client.sendRaw(u);
  // End-of-RIB for IPv4 unicast (RFC 4724 §2): an empty UPDATE.
  client.sendUpdate({ withdrawn: [], attributes: [], nlri: [] });
  print({ fed: true, updates: updates.length });
  process.on('SIGTERM', () => {
    clearInterval(poll);
    void client.close().finally(() => process.exit(0));
  });
  await client.closed(2 ** 31 - 1);
  clearInterval(poll);
  print({ closed: true });
}

main().catch((e: unknown) => {
  process.stderr.write(
    `btr-table-feeder: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});
