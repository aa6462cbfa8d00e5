// Streaming MRT reader: file → decompressed chunks → framed records → typed records.
// One await per decompressed chunk; records of a chunk are decoded synchronously.

import { MrtFramer, type FramingError, type RawRecord } from './framer.js';
import { decodeMrtRecord, type ErrorRecord, type MrtRecord } from './records.js';
import { openMrtStream } from './source.js';

function framingErrorRecord(e: FramingError): ErrorRecord {
  return {
    kind: 'error',
    offset: e.offset,
    timestamp: 0,
    microseconds: 0,
    type: -1,
    subtype: -1,
    reason: e.reason,
  };
}

/**
 * The records of an MRT file ('-' for stdin), one array per decompressed chunk (so the
 * consumer awaits once per chunk, not once per record). Truncated or corrupt records are
 * yielded as `kind: 'error'` records carrying their offset; reading goes on where framing
 * allows. Throws MrtInputError when the file cannot be opened or read.
 */
export async function* readMrtBatches(path: string): AsyncGenerator<MrtRecord[]> {
  const framer = new MrtFramer();
  let batch: MrtRecord[] = [];
  const onRecord = (r: RawRecord): void => {
    batch.push(decodeMrtRecord(r));
  };
  const onError = (e: FramingError): void => {
    batch.push(framingErrorRecord(e));
  };
  for await (const chunk of openMrtStream(path)) {
    framer.push(chunk, onRecord, onError);
    if (batch.length > 0) {
      yield batch;
      batch = [];
    }
  }
  framer.finish(onError);
  if (batch.length > 0) yield batch;
}

/** Every record of an MRT file, one at a time (convenient; readMrtBatches is faster). */
export async function* readMrt(path: string): AsyncGenerator<MrtRecord> {
  for await (const batch of readMrtBatches(path)) yield* batch;
}

/**
 * Call `fn` for every framed record of a file, synchronously within each chunk. The
 * RawRecord is only valid during the call; decode it with decodeMrtRecord if needed.
 */
export async function forEachRawRecord(
  path: string,
  fn: (r: RawRecord) => void,
  onError?: (e: FramingError) => void,
): Promise<number> {
  const framer = new MrtFramer();
  for await (const chunk of openMrtStream(path)) framer.push(chunk, fn, onError);
  framer.finish(onError);
  return framer.count;
}

/** Decode all records of an in-memory, uncompressed MRT stream. */
export function parseMrt(bytes: Uint8Array): MrtRecord[] {
  const out: MrtRecord[] = [];
  const framer = new MrtFramer();
  framer.push(
    bytes,
    (r) => out.push(decodeMrtRecord(r)),
    (e) => out.push(framingErrorRecord(e)),
  );
  framer.finish((e) => out.push(framingErrorRecord(e)));
  return out;
}
