// A raw AF_NETLINK socket (netlink(7)) through libc, via the koffi FFI: Node has no netlink
// sockets of its own. Calls are synchronous system calls on the calling thread; rtnetlink
// handles a request inside sendmsg(), so its answers are already queued when send returns
// and a receive never waits long (SO_RCVTIMEO bounds it anyway).
//
// koffi is loaded on first use, so code that only needs the in-memory FIB never loads it.

import {
  LibcUnavailable,
  inNetns,
  libc as loadLibc,
  pollfds,
  revents,
  type Libc,
} from '../net/libc.js';
import { FibError } from './fib.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
export const NETLINK_ROUTE = 0;

const SOL_SOCKET = 1;
const SO = { SNDBUF: 7, RCVBUF: 8, RCVTIMEO: 20, SNDBUFFORCE: 32, RCVBUFFORCE: 33 } as const;
const SOL_NETLINK = 270;
const NETLINK_OPT = { CAP_ACK: 10, EXT_ACK: 11, GET_STRICT_CHK: 12 } as const;

/** libc (net/libc.ts), its unavailability reported as a FibError. */
function libc(): Promise<Libc> {
  try {
    return Promise.resolve(loadLibc());
  } catch (e) {
    if (e instanceof LibcUnavailable) {
      return Promise.reject(new FibError(e.code, `netlink: ${e.message}`));
    }
    throw e;
  }
}

/** errno name (`ENETUNREACH`) and text (`Network is unreachable`). */
export interface ErrnoInfo {
  readonly code: string;
  readonly text: string;
}

export interface NetlinkOpenOptions {
  /** Multicast groups to join at bind (the `nl_groups` bit mask, e.g. RTMGRP_IPV4_ROUTE). */
  readonly groups?: number;
  /**
   * Network namespace to open the socket in, as a path (`/run/netns/NAME`): the calling
   * thread enters it for the socket() call only (net/libc.ts `inNetns`); a netlink socket
   * stays in the namespace it was made in.
   */
  readonly netns?: string;
  /** Receive timeout (default 10 s). */
  readonly rcvTimeoutMs?: number;
}

export class NetlinkSocket {
  private closed = false;

  private constructor(
    private readonly c: Libc,
    readonly fd: number,
    /** Receive buffer the kernel granted, in bytes (it bounds unread answers). */
    readonly rcvbuf: number,
  ) {}

  /**
   * Opens and binds a netlink socket with extended acknowledgements (the kernel's own error
   * text), capped acknowledgements (no echo of our request) and strict dump checking.
   */
  static async open(
    protocol = NETLINK_ROUTE,
    bufferBytes = 8 << 20,
    opts: NetlinkOpenOptions = {},
  ): Promise<NetlinkSocket> {
    const c = await libc();
    const fd = opts.netns
      ? socketIn(c, opts.netns, protocol)
      : c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0) {
      const e = errnoInfo(c, c.errno());
      throw new FibError(
        e.code,
        `cannot open a netlink socket${opts.netns ? ` in ${opts.netns}` : ''}: ${e.text}`,
      );
    }
    const fail = (what: string): never => {
      const e = errnoInfo(c, c.errno());
      c.close(fd);
      throw new FibError(e.code, `netlink socket: ${what}: ${e.text}`);
    };
    const sa = new Uint8Array(12); // sockaddr_nl: family, pad, pid 0 (kernel picks), groups
    new DataView(sa.buffer).setUint16(0, AF_NETLINK, true);
    new DataView(sa.buffer).setUint32(8, opts.groups ?? 0, true);
    if (c.bind(fd, sa, sa.length) < 0) fail('bind');
    const int = (v: number): Uint8Array => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, v, true);
      return b;
    };
    // Forcing needs CAP_NET_ADMIN; without it the kernel caps at net.core.[rw]mem_max.
    if (c.setsockopt(fd, SOL_SOCKET, SO.RCVBUFFORCE, int(bufferBytes), 4) < 0) {
      c.setsockopt(fd, SOL_SOCKET, SO.RCVBUF, int(bufferBytes), 4);
    }
    if (c.setsockopt(fd, SOL_SOCKET, SO.SNDBUFFORCE, int(bufferBytes), 4) < 0) {
      c.setsockopt(fd, SOL_SOCKET, SO.SNDBUF, int(bufferBytes), 4);
    }
    const tv = new Uint8Array(16); // struct timeval { long sec; long usec; }
    const tmo = opts.rcvTimeoutMs ?? 10_000;
    new DataView(tv.buffer).setBigInt64(0, BigInt(Math.floor(tmo / 1000)), true);
    new DataView(tv.buffer).setBigInt64(8, BigInt((tmo % 1000) * 1000), true);
    if (c.setsockopt(fd, SOL_SOCKET, SO.RCVTIMEO, tv, tv.length) < 0) fail('SO_RCVTIMEO');
    // Optional features (older kernels lack some): errors here are not fatal.
    c.setsockopt(fd, SOL_NETLINK, NETLINK_OPT.EXT_ACK, int(1), 4);
    c.setsockopt(fd, SOL_NETLINK, NETLINK_OPT.CAP_ACK, int(1), 4);
    c.setsockopt(fd, SOL_NETLINK, NETLINK_OPT.GET_STRICT_CHK, int(1), 4);
    const got = new Uint8Array(4);
    const gotLen = int(4);
    const rcvbuf =
      c.getsockopt(fd, SOL_SOCKET, SO.RCVBUF, got, gotLen) === 0
        ? new DataView(got.buffer).getInt32(0, true)
        : 212992;
    return new NetlinkSocket(c, fd, rcvbuf);
  }

  /** Sends one datagram (any number of messages); throws FibError on failure. */
  send(buf: Uint8Array): void {
    this.check();
    const n = this.c.send(this.fd, buf, buf.length, 0);
    if (n < 0) {
      const e = this.lastError();
      throw new FibError(e.code, `netlink send of ${buf.length} bytes: ${e.text}`);
    }
  }

  /**
   * Receives one datagram into `buf`; returns its length, or a negative errno (ENOBUFS:
   * the kernel dropped answers because the receive buffer was full; EAGAIN: timeout, or
   * nothing queued with MSG_DONTWAIT in `flags`).
   */
  recv(buf: Uint8Array, flags = 0): number {
    this.check();
    const n = this.c.recv(this.fd, buf, buf.length, flags);
    return n >= 0 ? n : -this.c.errno();
  }

  errnoInfo(errno: number): ErrnoInfo {
    return errnoInfo(this.c, errno);
  }

  /**
   * Waits up to `timeoutMs` until one of `socks` has a datagram to read; returns the
   * readable ones (none on timeout or EINTR). A blocking call: for worker threads.
   */
  static poll(socks: readonly NetlinkSocket[], timeoutMs: number): NetlinkSocket[] {
    if (socks.length === 0) return [];
    const c = socks[0]!.c;
    const fds = pollfds(socks.map((s) => s.fd));
    const n = c.poll(fds, socks.length, timeoutMs);
    if (n <= 0) return [];
    return socks.filter((_, i) => revents(fds, i) !== 0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.c.close(this.fd);
  }

  private lastError(): ErrnoInfo {
    return errnoInfo(this.c, this.c.errno());
  }

  private check(): void {
    if (this.closed) throw new FibError('EBADF', 'netlink socket is closed');
  }
}

/** socket(2) inside the namespace at `path` (net/libc.ts `inNetns`); throws FibError. */
function socketIn(c: Libc, path: string, protocol: number): number {
  const fail = (what: string, errno: number): FibError => {
    const e = errnoInfo(c, errno);
    return new FibError(e.code, `netlink socket in ${path}: ${what}: ${e.text}`);
  };
  return inNetns(
    path,
    () => {
      const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
      if (fd < 0) throw fail('socket', c.errno());
      return fd;
    },
    fail,
  );
}

function errnoInfo(c: Libc, errno: number): ErrnoInfo {
  return { code: c.errnoNames.get(errno) ?? `E${errno}`, text: c.strerror(errno) };
}

/** Interface index of `name` in the current network namespace, or undefined. */
export async function interfaceIndex(name: string): Promise<number | undefined> {
  const n = (await libc()).if_nametoindex(name);
  return n > 0 ? n : undefined;
}
