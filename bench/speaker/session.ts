// The smallest BGP-4 session the benchmark peers need (RFC 4271 §8, from the active side):
// connect, OPEN both ways, KEEPALIVE both ways, then a KEEPALIVE every third of the hold
// time. What the DUT sends afterwards is handed over as raw chunks; nothing is decoded
// into objects, so the injector and the monitor stay cheap next to the DUT.

import { Socket } from 'node:net';
import { AFI, parseIPv4 } from '../../src/lib/ip.js';
import {
  AS4_CONTEXT,
  KEEPALIVE_BYTES,
  MSG,
  SAFI,
  capFourOctetAs,
  capMultiprotocol,
  encodeMessage,
  makeOpen,
} from '../../src/wire/index.js';

export interface SessionSpec {
  /** Our address (the socket is bound to it). */
  local: string;
  /** The DUT's address. */
  remote: string;
  asn: number;
  bgpId: string;
  /** Address family negotiated (one per session here). */
  family: 'ipv4' | 'ipv6';
  /** Proposed hold time (s). */
  holdTime: number;
}

/** Walks BGP messages in a byte stream; keeps only an incomplete tail between chunks. */
export class MessageWalker {
  private tail: Buffer = Buffer.alloc(0);

  /** Calls `fn(buf, start, length)` for every complete message; `buf` is valid during the call. */
  push(chunk: Buffer, fn: (buf: Buffer, start: number, len: number) => void): void {
    const buf = this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 19) {
      const len = buf.readUInt16BE(off + 16);
      if (len < 19) throw new Error(`bad BGP message length ${len}`);
      if (buf.length - off < len) break;
      fn(buf, off, len);
      off += len;
    }
    this.tail = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
  }
}

/** The text of a NOTIFICATION at buf[start..start+len), for error reports. */
export function describeNotification(buf: Buffer, start: number): string {
  return `NOTIFICATION ${buf[start + 19]}/${buf[start + 20]}`;
}

/**
 * Connects and completes the OPEN exchange. Resolves once Established (after the DUT's
 * KEEPALIVE); afterwards `onMessage` sees every message the DUT sends. Rejects on a
 * NOTIFICATION or a close before Established.
 */
export function openSession(
  s: SessionSpec,
  onMessage: (buf: Buffer, start: number, len: number) => void,
  onClose: (why: string) => void,
): Promise<Socket> {
  const bgpId = parseIPv4(s.bgpId);
  if (!bgpId) throw new Error(`bad BGP identifier ${s.bgpId}`);
  const open = makeOpen({
    asn: s.asn,
    holdTime: s.holdTime,
    bgpId,
    capabilities: [
      capMultiprotocol(s.family === 'ipv4' ? AFI.IPv4 : AFI.IPv6, SAFI.UNICAST),
      capFourOctetAs(s.asn),
    ],
  });
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const walker = new MessageWalker();
    let established = false;
    let gotOpen = false;
    let holdTime = s.holdTime;
    let timer: NodeJS.Timeout | undefined;
    const fail = (why: string): void => {
      if (timer) clearInterval(timer);
      if (!established) reject(new Error(`${s.local} → ${s.remote}: ${why}`));
      else onClose(why);
      socket.destroy();
    };
    socket.on('error', (e) => fail(e.message));
    socket.on('close', () => fail('connection closed'));
    socket.on('data', (chunk: Buffer) => {
      walker.push(chunk, (buf, start, len) => {
        const type = buf[start + 18];
        if (type === MSG.NOTIFICATION) {
          fail(describeNotification(buf, start));
        } else if (!established && type === MSG.OPEN) {
          gotOpen = true;
          holdTime = Math.min(holdTime, buf.readUInt16BE(start + 22));
          socket.write(KEEPALIVE_BYTES);
        } else if (!established && type === MSG.KEEPALIVE && gotOpen) {
          established = true;
          if (holdTime > 0)
            timer = setInterval(() => socket.write(KEEPALIVE_BYTES), (holdTime * 1000) / 3);
          resolve(socket);
        } else if (established) {
          onMessage(buf, start, len);
        }
      });
    });
    socket.connect({ host: s.remote, port: 179, localAddress: s.local }, () => {
      socket.setNoDelay(true);
      socket.write(encodeMessage(open, AS4_CONTEXT));
    });
  });
}

/** Tries `openSession` until it succeeds or `timeoutMs` passes (the DUT may still start). */
export async function openSessionRetrying(
  s: SessionSpec,
  onMessage: (buf: Buffer, start: number, len: number) => void,
  onClose: (why: string) => void,
  timeoutMs: number,
): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await openSession(s, onMessage, onClose);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** One line of JSON on stdout: how the benchmark's child processes report to the harness. */
export function report(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** process.hrtime in ms: CLOCK_MONOTONIC, comparable between processes on one machine. */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
