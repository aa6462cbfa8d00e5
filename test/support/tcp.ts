// TCP stream reassembly for tests: segments grouped by 4-tuple (one stream per direction),
// ordered by sequence number relative to the lowest one carrying data, with
// retransmitted and overlapping octets dropped. A gap (octets never captured) is reported
// rather than papered over, since BGP framing after a gap would be meaningless.

import type { TcpSegment } from './pcap.js';

export interface TcpStream {
  readonly src: string;
  readonly srcPort: number;
  readonly dst: string;
  readonly dstPort: number;
  /** The reassembled payload. */
  readonly data: Uint8Array;
  /** Octets lost in capture (gaps), if any; data then holds only the part before the first gap. */
  readonly gaps: number;
  /** Segments whose payload was entirely a retransmission. */
  readonly duplicates: number;
  /** Time of the first segment. */
  readonly firstTs: number;
}

export const streamKey = (s: {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
}): string => `${s.src}|${s.srcPort}|${s.dst}|${s.dstPort}`;

/** Reassemble every direction of every TCP connection in the capture. */
export function reassemble(segments: readonly TcpSegment[]): TcpStream[] {
  const groups = new Map<string, TcpSegment[]>();
  for (const s of segments) {
    const k = streamKey(s);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(s);
  }
  const out: TcpStream[] = [];
  for (const g of groups.values()) {
    const first = g[0]!;
    // Stream start: the lowest sequence number carrying data (relative to the first
    // segment, so wrap-around within 2^31 is handled). A SYN's own sequence number is not
    // data, and SYNs normally carry none; the pmacct reproducer's captures, though, put the
    // OPEN in the SYN at the SYN's sequence number (the next segment follows it directly),
    // which this rule also handles.
    const data = g.filter((s) => s.payload.length > 0);
    let base = (data[0] ?? first).seq;
    for (const s of data) if (((s.seq - base) | 0) < 0) base = s.seq;
    const pieces = data
      .map((s, i) => ({ rel: (s.seq - base) | 0, payload: s.payload, i }))
      .sort((a, b) => a.rel - b.rel || a.i - b.i);
    const chunks: Uint8Array[] = [];
    let next = 0;
    let gaps = 0;
    let duplicates = 0;
    for (const p of pieces) {
      const end = p.rel + p.payload.length;
      if (end <= next) {
        duplicates++;
        continue;
      }
      if (p.rel > next) {
        gaps += p.rel - next;
        break;
      }
      chunks.push(p.payload.subarray(next - p.rel));
      next = end;
    }
    const bytes = new Uint8Array(next);
    let o = 0;
    for (const c of chunks) {
      bytes.set(c, o);
      o += c.length;
    }
    out.push({
      src: first.src,
      srcPort: first.srcPort,
      dst: first.dst,
      dstPort: first.dstPort,
      data: bytes,
      gaps,
      duplicates,
      firstTs: first.ts,
    });
  }
  return out;
}
