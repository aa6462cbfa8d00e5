// Deterministic byte streams for the TCPR stream tests: byte i of stream `seed` is a hash
// of (seed, i), so any offset can be regenerated after a crash without keeping the data.

import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TCPR_ADDRESSES } from '../../src/lab/tcpr-topology.js';
import type { FilterSpec } from '../../src/net/packet-pump.js';

/** The TCPR pump filter for the topology's app address (stream and proxy tests). */
export function appFilterSpec(): FilterSpec {
  const A = TCPR_ADDRESSES;
  const here = dirname(fileURLToPath(import.meta.url));
  return {
    module: join(here, '..', '..', 'src', 'tcpr', 'pump-filter.js'),
    export: 'createFilter',
    options: {
      addresses: [
        { internal: A.app.v4, external: A.app.v4 },
        { internal: A.app.v6, external: A.app.v6 },
      ],
      channel: { addresses: [A.sideChannel.v4, A.sideChannel.v6] },
    },
  };
}

export function streamBytes(seed: number, offset: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) {
    let x = (offset + i + Math.imul(seed, 0x9e3779b1)) | 0;
    x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
    x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
    b[i] = (x ^ (x >>> 16)) & 0xff;
  }
  return b;
}

/** SHA-256 (hex) of the first `len` bytes of stream `seed`. */
export function streamDigest(seed: number, len: number): string {
  const h = createHash('sha256');
  for (let off = 0; off < len; off += 1 << 16) {
    h.update(streamBytes(seed, off, Math.min(1 << 16, len - off)));
  }
  return h.digest('hex');
}

/** Configuration handed to tcpr-app.js and tcpr-peer.js (a JSON file). */
export interface StreamConfig {
  /** Bytes the app sends, and its stream's seed. */
  appBytes: number;
  appSeed: number;
  peerBytes: number;
  peerSeed: number;
  /** Chunk written per tick, and the tick (throttles both sides so kills hit mid-flow). */
  chunk: number;
  tickMs: number;
  peerAddress: string;
  peerPort: number;
  appAddress: string;
  /** Client-side test: the app's local port for connection k is appBasePort + k. */
  appBasePort: number;
  /** Server-side test: the app listens here and the peer connects. */
  appListenPort?: number;
  /** Connections (the peer side runs one stream per connection). */
  connections: number;
  /** Directory for the app's state/data files and both sides' result files. */
  dir: string;
  /**
   * The app's first incarnation SIGKILLs itself at its n-th checkpoint of connection 0,
   * after persisting and before telling TCPR: the crash window recovery must close.
   */
  crashAfterPersist?: number;
}
