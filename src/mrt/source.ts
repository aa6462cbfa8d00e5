// Byte sources for MRT readers: a file (or stdin) whose compression is detected from its
// content, not its name — gzip (magic 1f 8b), bzip2 ("BZh"), otherwise raw.
//
// gzip is decompressed with node:zlib (multi-member files included). bzip2 has no
// decoder in Node's standard library; rather than a JavaScript bzip2 (several times slower
// than libbz2), we stream through the system `bzip2 -dc` in a child process (Debian
// package `bzip2`, present on every Debian/Ubuntu system and in the project's setup).

import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

export type Compression = 'gzip' | 'bzip2' | 'none';

/** Compression of a byte stream, from its first octets. */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bzip2';
  return 'none';
}

/** A user-facing input error (file missing, unreadable, not MRT): the message names the file. */
export class MrtInputError extends Error {
  readonly code = 'ERR_MRT_INPUT';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

const READ_CHUNK = 1 << 20;
const INFLATE_CHUNK = 1 << 18;

async function readHead(path: string): Promise<Uint8Array> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : (e as Error).message;
    throw new MrtInputError(path, `${path}: cannot open: ${why}`);
  }
  try {
    const head = new Uint8Array(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return head.subarray(0, bytesRead);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new MrtInputError(
      path,
      `${path}: cannot read: ${code === 'EISDIR' ? 'is a directory' : (e as Error).message}`,
    );
  } finally {
    await fh.close();
  }
}

function bunzip(path: string): Readable {
  const child = spawn('bzip2', ['-dc', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const out = child.stdout;
  child.on('error', (e) => {
    out.destroy(
      new MrtInputError(
        path,
        `${path}: bzip2-compressed, but the bzip2 program could not be run (${e.message}); install the bzip2 package`,
      ),
    );
  });
  child.on('close', (code) => {
    if (code !== 0 && code !== null)
      out.destroy(
        new MrtInputError(path, `${path}: bzip2 failed (exit ${code}): ${stderr.trim()}`),
      );
  });
  return out;
}

/**
 * The decompressed content of `path` ('-' for stdin), chunk by chunk. Throws MrtInputError
 * for a missing or unreadable file. Chunks are fresh buffers the caller may keep.
 */
export async function* openMrtStream(path: string): AsyncGenerator<Uint8Array> {
  if (path === '-') {
    yield* stdinChunks();
    return;
  }
  const head = await readHead(path);
  const compression = detectCompression(head);
  let stream: Readable;
  if (compression === 'gzip') {
    const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK });
    const file = createReadStream(path, { highWaterMark: READ_CHUNK });
    file.on('error', (e) => gunzip.destroy(e));
    stream = file.pipe(gunzip);
  } else if (compression === 'bzip2') {
    stream = bunzip(path);
  } else {
    stream = createReadStream(path, { highWaterMark: READ_CHUNK });
  }
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
  } catch (e) {
    if (e instanceof MrtInputError) throw e;
    throw new MrtInputError(
      path,
      `${path}: ${compression === 'none' ? 'read' : compression} error: ${(e as Error).message}`,
    );
  }
}

async function* stdinChunks(): AsyncGenerator<Uint8Array> {
  // Stdin cannot be peeked at before choosing a decoder: take its first chunk, then replay.
  const it = process.stdin[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head = first.value as Uint8Array;
  async function* all(): AsyncGenerator<Uint8Array> {
    yield head;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value as Uint8Array;
    }
  }
  const compression = detectCompression(head);
  if (compression === 'none') {
    yield* all();
    return;
  }
  if (compression === 'bzip2') {
    throw new MrtInputError('-', 'stdin: bzip2 input on stdin is not supported; pass a file name');
  }
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK });
  Readable.from(all()).pipe(gunzip);
  for await (const chunk of gunzip) yield chunk as Uint8Array;
}
