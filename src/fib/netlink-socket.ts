// A raw AF_NETLINK socket (netlink(7)) through libc, via the koffi FFI: Node has no netlink
// sockets of its own. Calls are synchronous system calls on the calling thread; rtnetlink
// handles a request inside sendmsg(), so its answers are already queued when send returns
// and a receive never waits long (SO_RCVTIMEO bounds it anyway).
//
// koffi is loaded on first use, so code that only needs the in-memory FIB never loads it.

import { FibError } from './fib.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
export const NETLINK_ROUTE = 0;

const SOL_SOCKET = 1;
const SO = { SNDBUF: 7, RCVBUF: 8, RCVTIMEO: 20, SNDBUFFORCE: 32, RCVBUFFORCE: 33 } as const;
const SOL_NETLINK = 270;
const NETLINK_OPT = { CAP_ACK: 10, EXT_ACK: 11, GET_STRICT_CHK: 12 } as const;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array, len: number): number;
  getsockopt(fd: number, level: number, name: number, val: Uint8Array, len: Uint8Array): number;
  send(fd: number, buf: Uint8Array, len: number, flags: number): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  close(fd: number): number;
  strerror(errnum: number): string;
  if_nametoindex(name: string): number;
  errno(): number;
  errnoNames: Map<number, string>;
  open(path: string, flags: number): number;
  setns(fd: number, nstype: number): number;
  poll(fds: Uint8Array, n: number, timeoutMs: number): number;
}

let libcPromise: Promise<Libc> | undefined;

async function loadLibc(): Promise<Libc> {
  if (process.platform !== 'linux') {
    throw new FibError('ENOTSUP', `netlink needs Linux (this is ${process.platform})`);
  }
  let koffi: (typeof import('koffi'))['default'];
  try {
    koffi = (await import('koffi')).default;
  } catch (e) {
    throw new FibError(
      'ENOKOFFI',
      `cannot load the koffi FFI module (${(e as Error).message}); run \`npm install\` in the nonstop folder`,
    );
  }
  const lib = koffi.load('libc.so.6');
  const errnoNames = new Map<number, string>();
  for (const [name, num] of Object.entries(koffi.os.errno)) {
    if (!errnoNames.has(num)) errnoNames.set(num, name);
  }
  return {
    socket: lib.func('int socket(int, int, int)') as Libc['socket'],
    bind: lib.func('int bind(int, const void *, uint32_t)') as Libc['bind'],
    setsockopt: lib.func(
      'int setsockopt(int, int, int, const void *, uint32_t)',
    ) as Libc['setsockopt'],
    getsockopt: lib.func('int getsockopt(int, int, int, void *, void *)') as Libc['getsockopt'],
    send: lib.func('long send(int, const void *, size_t, int)') as Libc['send'],
    recv: lib.func('long recv(int, void *, size_t, int)') as Libc['recv'],
    close: lib.func('int close(int)') as Libc['close'],
    strerror: lib.func('const char *strerror(int)') as Libc['strerror'],
    if_nametoindex: lib.func('unsigned int if_nametoindex(const char *)') as Libc['if_nametoindex'],
    errno: () => koffi.errno(),
    errnoNames,
    open: lib.func('int open(const char *, int)') as Libc['open'],
    setns: lib.func('int setns(int, int)') as Libc['setns'],
    poll: lib.func('int poll(void *, unsigned long, int)') as Libc['poll'],
  };
}

function libc(): Promise<Libc> {
  libcPromise ??= loadLibc();
  return libcPromise;
}

/** errno name (`ENETUNREACH`) and text (`Network is unreachable`). */
export interface ErrnoInfo {
  readonly code: string;
  readonly text: string;
}

const O_RDONLY_CLOEXEC = 0o2000000;
const CLONE_NEWNET = 0x40000000;
const POLLIN = 1;

export interface NetlinkOpenOptions {
  /** Multicast groups to join at bind (the `nl_groups` bit mask, e.g. RTMGRP_IPV4_ROUTE). */
  readonly groups?: number;
  /**
   * Network namespace to open the socket in, as a path (`/run/netns/NAME`): the calling
   * thread enters it for the socket() call only and returns to its own namespace (setns(2)
   * acts per thread; a netlink socket stays in the namespace it was made in).
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
    const fds = new Uint8Array(8 * socks.length); // struct pollfd { int fd; short events, revents; }
    const dv = new DataView(fds.buffer);
    socks.forEach((s, i) => {
      dv.setInt32(8 * i, s.fd, true);
      dv.setInt16(8 * i + 4, POLLIN, true);
    });
    const n = c.poll(fds, socks.length, timeoutMs);
    if (n <= 0) return [];
    return socks.filter((_, i) => dv.getInt16(8 * i + 6, true) !== 0);
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

/**
 * socket(2) inside the namespace at `path`, the calling thread returning to its own after;
 * throws FibError naming the step that failed.
 */
function socketIn(c: Libc, path: string, protocol: number): number {
  const fail = (what: string): never => {
    const e = errnoInfo(c, c.errno());
    throw new FibError(e.code, `netlink socket in ${path}: ${what}: ${e.text}`);
  };
  const own = c.open('/proc/thread-self/ns/net', O_RDONLY_CLOEXEC);
  if (own < 0) fail("open this thread's namespace");
  const target = c.open(path, O_RDONLY_CLOEXEC);
  if (target < 0) {
    c.close(own);
    fail('open');
  }
  try {
    if (c.setns(target, CLONE_NEWNET) !== 0) fail('setns');
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    const err = fd < 0 ? errnoInfo(c, c.errno()) : undefined;
    // Never continue on a thread left in the wrong namespace.
    if (c.setns(own, CLONE_NEWNET) !== 0) fail("return to this thread's namespace");
    if (err) throw new FibError(err.code, `netlink socket in ${path}: socket: ${err.text}`);
    return fd;
  } finally {
    c.close(target);
    c.close(own);
  }
}

function errnoInfo(c: Libc, errno: number): ErrnoInfo {
  return { code: c.errnoNames.get(errno) ?? `E${errno}`, text: c.strerror(errno) };
}

/** Interface index of `name` in the current network namespace, or undefined. */
export async function interfaceIndex(name: string): Promise<number | undefined> {
  const n = (await libc()).if_nametoindex(name);
  return n > 0 ? n : undefined;
}
