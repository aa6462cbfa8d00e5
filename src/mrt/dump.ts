// Drives the bgpdump-compatible formatter over a file: decompressed chunks are framed and
// formatted synchronously, one await per chunk.

import { BgpdumpFormatter, type BgpdumpOptions, type DumpWarning } from './bgpdump.js';
import { MrtFramer } from './framer.js';
import { openMrtStream } from './source.js';
import { TextOut } from './text-out.js';

export interface DumpResult {
  readonly records: number;
  readonly lines: number;
  readonly warnings: number;
  /** False when the input ended inside a record. */
  readonly complete: boolean;
}

/** Format `path` like bgpdump -m/-M into `out` (flushed at the end). */
export async function dumpMrtFile(
  path: string,
  opts: BgpdumpOptions,
  out: TextOut,
  onWarning?: (w: DumpWarning) => void,
): Promise<DumpResult> {
  let warnings = 0;
  const warn = (w: DumpWarning): void => {
    warnings++;
    onWarning?.(w);
  };
  const fmt = new BgpdumpFormatter(out, opts, warn);
  const framer = new MrtFramer();
  const onRecord = fmt.record.bind(fmt);
  for await (const chunk of openMrtStream(path)) framer.push(chunk, onRecord, warn);
  const complete = framer.finish(warn);
  out.flush();
  return { records: framer.count, lines: fmt.lines, warnings, complete };
}

/** Format a whole in-memory MRT stream (already decompressed) and return the text. */
export function dumpMrtBytes(
  bytes: Uint8Array,
  opts: BgpdumpOptions,
  onWarning?: (w: DumpWarning) => void,
): string {
  const parts: Uint8Array[] = [];
  const out = new TextOut((b) => parts.push(b.slice()));
  const fmt = new BgpdumpFormatter(out, opts, onWarning);
  const framer = new MrtFramer();
  framer.push(bytes, (r) => fmt.record(r), onWarning);
  framer.finish(onWarning);
  out.flush();
  return Buffer.concat(parts).toString('latin1');
}
