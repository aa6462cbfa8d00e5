// MRT framing (RFC 6396 §2-3): splits a byte stream into records, whatever the chunking.
//
//   0                   1                   2                   3
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                           Timestamp                           |
//   |             Type              |            Subtype            |
//   |                             Length                            |
//   |                      Microsecond Timestamp (ET types only)    |
//   |                      Message... (variable)                    |
//
// Synchronous and allocation-light: every record is passed to a callback as a view into
// the chunk it arrived in (one reused RawRecord object), so a reader handles a whole
// decompressed chunk in one loop with no promise per record. Only a record that straddles
// two chunks is copied.

import { MRT_HEADER_LEN, isExtendedTimestampType } from './constants.js';

/** One framed record. The object and its view are only valid during the callback. */
export interface RawRecord {
  /** Offset of the record's header in the (decompressed) stream. */
  offset: number;
  timestamp: number;
  /** Microseconds of an *_ET record, else 0. */
  microseconds: number;
  /** The type carries the microsecond field (BGP4MP_ET, ISIS_ET, OSPFv3_ET). */
  extended: boolean;
  type: number;
  subtype: number;
  /** The record body is buf[start, end) (the microsecond field is not part of it). */
  buf: Uint8Array;
  start: number;
  end: number;
}

export interface FramingError {
  readonly offset: number;
  readonly reason: string;
}

export class MrtFramer {
  /** Offset in the stream of the first byte not yet consumed. */
  private offset = 0;
  private pending: Uint8Array[] = [];
  private pendingLen = 0;
  private need = 0;
  private readonly rec: RawRecord = {
    offset: 0,
    timestamp: 0,
    microseconds: 0,
    extended: false,
    type: 0,
    subtype: 0,
    buf: new Uint8Array(0),
    start: 0,
    end: 0,
  };
  /** Records framed so far. */
  count = 0;

  /** Frame every complete record of `chunk` (plus what earlier chunks left over). */
  push(
    chunk: Uint8Array,
    onRecord: (r: RawRecord) => void,
    onError?: (e: FramingError) => void,
  ): void {
    let data = chunk;
    if (this.pendingLen > 0) {
      this.pending.push(chunk);
      this.pendingLen += chunk.length;
      if (this.pendingLen < this.need) return;
      data = concat(this.pending, this.pendingLen);
      this.pending = [];
      this.pendingLen = 0;
    }
    const n = data.length;
    const rec = this.rec;
    rec.buf = data;
    let p = 0;
    for (;;) {
      const avail = n - p;
      if (avail < MRT_HEADER_LEN) {
        this.keep(data, p, MRT_HEADER_LEN);
        return;
      }
      const type = (data[p + 4]! << 8) | data[p + 5]!;
      let len =
        ((data[p + 8]! << 24) | (data[p + 9]! << 16) | (data[p + 10]! << 8) | data[p + 11]!) >>> 0;
      const ext = type === 17 || isExtendedTimestampType(type);
      let hdr = MRT_HEADER_LEN;
      if (ext) {
        if (len < 4) {
          // Malformed: the microsecond field does not fit in the length. Skip the record.
          onError?.({
            offset: this.offset + p,
            reason: `${type} record length ${len} is shorter than its microsecond field`,
          });
          if (avail < MRT_HEADER_LEN + len) {
            this.keep(data, p, MRT_HEADER_LEN + len);
            return;
          }
          p += MRT_HEADER_LEN + len;
          continue;
        }
        hdr = 16;
        len -= 4;
      }
      if (avail < hdr + len) {
        this.keep(data, p, hdr + len);
        return;
      }
      rec.offset = this.offset + p;
      rec.timestamp =
        ((data[p]! << 24) | (data[p + 1]! << 16) | (data[p + 2]! << 8) | data[p + 3]!) >>> 0;
      rec.type = type;
      rec.subtype = (data[p + 6]! << 8) | data[p + 7]!;
      rec.extended = ext;
      rec.microseconds = ext
        ? ((data[p + 12]! << 24) | (data[p + 13]! << 16) | (data[p + 14]! << 8) | data[p + 15]!) >>>
          0
        : 0;
      rec.start = p + hdr;
      rec.end = p + hdr + len;
      p += hdr + len;
      this.count++;
      onRecord(rec);
    }
  }

  private keep(data: Uint8Array, p: number, need: number): void {
    this.offset += p;
    if (p < data.length) {
      // Copy: the caller may reuse its chunk buffer.
      const rest = data.slice(p);
      this.pending = [rest];
      this.pendingLen = rest.length;
    }
    this.need = need;
  }

  /** End of stream: report a trailing partial record. Returns true when the stream ended cleanly. */
  finish(onError?: (e: FramingError) => void): boolean {
    if (this.pendingLen === 0) return true;
    const have = this.pendingLen;
    const reason =
      this.need <= MRT_HEADER_LEN || have < MRT_HEADER_LEN
        ? `truncated MRT header: ${have} byte(s) at end of input`
        : `truncated MRT record: header announces ${this.need} byte(s), only ${have} present`;
    onError?.({ offset: this.offset, reason });
    this.pending = [];
    this.pendingLen = 0;
    return false;
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
