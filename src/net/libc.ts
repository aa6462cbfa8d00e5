// libc through the koffi FFI, for the I/O adapters that need system calls Node does not
// offer (TUN devices, netlink and raw sockets in another namespace), and the per-thread switch of
// network namespace they share. Synchronous on purpose: the callers loop on blocking calls
// inside worker threads.
//
// A network namespace is a per-thread attribute (setns(2) with CLONE_NEWNET acts on the
// calling thread only): `inNetns` moves this thread into a namespace for one synchronous call
// — opening a device, creating a socket, which stay bound to that namespace afterwards — and
// straight back.

import { createRequire } from 'node:module';

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const CLONE_NEWNET = 0x40000000;

/** libc cannot be used here: not Linux (`ENOTSUP`), or koffi missing (`ENOKOFFI`). */
export class LibcUnavailable extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LibcUnavailable';
  }
}

export interface Libc {
  open(path: string, flags: number, mode: number): number;
  close(fd: number): number;
  ioctl(fd: number, req: number, arg: Uint8Array): number;
  /** ioctl whose argument is the value itself (TUNSETPERSIST), not a pointer. */
  ioctlValue(fd: number, req: number, arg: number): number;
  read(fd: number, buf: Uint8Array, len: number): number;
  write(fd: number, buf: Uint8Array, len: number): number;
  poll(fds: Uint8Array, nfds: number, timeoutMs: number): number;
  setns(fd: number, nstype: number): number;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array, len: number): number;
  getsockopt(fd: number, level: number, name: number, val: Uint8Array, len: Uint8Array): number;
  send(fd: number, buf: Uint8Array, len: number, flags: number): number;
  sendto(
    fd: number,
    buf: Uint8Array,
    len: number,
    flags: number,
    addr: Uint8Array,
    addrLen: number,
  ): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  strerror(errnum: number): string;
  if_nametoindex(name: string): number;
  eventfd(initval: number, flags: number): number;
  errno(): number;
  errnoNames: Map<number, string>;
}

let libcCache: Libc | undefined;

/**
 * libc through koffi, loaded on first use — synchronously, so that worker threads looping on
 * blocking calls can use it; throws LibcUnavailable off Linux or without koffi.
 */
export function libc(): Libc {
  if (libcCache) return libcCache;
  if (process.platform !== 'linux') {
    throw new LibcUnavailable('ENOTSUP', `this needs Linux (this is ${process.platform})`);
  }
  let koffi: typeof import('koffi');
  try {
    koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  } catch (e) {
    throw new LibcUnavailable(
      'ENOKOFFI',
      `cannot load the koffi FFI module (${(e as Error).message}); run \`npm install\` in the nonstop folder`,
    );
  }
  const lib = koffi.load('libc.so.6');
  const errnoNames = new Map<number, string>();
  for (const [name, num] of Object.entries(koffi.os.errno)) {
    if (!errnoNames.has(num)) errnoNames.set(num, name);
  }
  libcCache = {
    open: lib.func('int open(const char *, int, int)') as Libc['open'],
    close: lib.func('int close(int)') as Libc['close'],
    ioctl: lib.func('int ioctl(int, unsigned long, void *)') as Libc['ioctl'],
    // ioctl is variadic; on x86-64 a fixed prototype with integer arguments calls it alike.
    ioctlValue: lib.func('ioctl', 'int', [
      'int',
      'unsigned long',
      'unsigned long',
    ]) as Libc['ioctlValue'],
    read: lib.func('long read(int, void *, size_t)') as Libc['read'],
    write: lib.func('long write(int, const void *, size_t)') as Libc['write'],
    poll: lib.func('int poll(void *, unsigned long, int)') as Libc['poll'],
    setns: lib.func('int setns(int, int)') as Libc['setns'],
    socket: lib.func('int socket(int, int, int)') as Libc['socket'],
    bind: lib.func('int bind(int, const void *, uint32_t)') as Libc['bind'],
    setsockopt: lib.func(
      'int setsockopt(int, int, int, const void *, uint32_t)',
    ) as Libc['setsockopt'],
    getsockopt: lib.func('int getsockopt(int, int, int, void *, void *)') as Libc['getsockopt'],
    send: lib.func('long send(int, const void *, size_t, int)') as Libc['send'],
    sendto: lib.func(
      'long sendto(int, const void *, size_t, int, const void *, uint32_t)',
    ) as Libc['sendto'],
    recv: lib.func('long recv(int, void *, size_t, int)') as Libc['recv'],
    strerror: lib.func('const char *strerror(int)') as Libc['strerror'],
    if_nametoindex: lib.func('unsigned int if_nametoindex(const char *)') as Libc['if_nametoindex'],
    eventfd: lib.func('int eventfd(unsigned int, int)') as Libc['eventfd'],
    errno: () => koffi.errno(),
    errnoNames,
  };
  return libcCache;
}

/** errno values (asm-generic/errno*.h) that the I/O adapters test for. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EAGAIN: 11,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
  EBADFD: 77,
  ENOBUFS: 105,
  ETIMEDOUT: 110,
} as const;

/** eventfd(2) flags. */
export const EFD = { NONBLOCK: 0o4000, CLOEXEC: 0o2000000 } as const;

/** poll(2) event bits. */
export const POLL = { IN: 0x1, ERR: 0x8, HUP: 0x10, NVAL: 0x20 } as const;

/** `struct pollfd[]` ({ int fd; short events, revents; }) for `fds`, each waiting for POLLIN. */
export function pollfds(fds: readonly number[]): Uint8Array {
  const b = new Uint8Array(8 * fds.length);
  const dv = new DataView(b.buffer);
  fds.forEach((fd, i) => {
    dv.setInt32(i * 8, fd, true);
    dv.setInt16(i * 8 + 4, POLL.IN, true);
  });
  return b;
}

/** The revents of entry `i` of a pollfd array. */
export const revents = (pfds: Uint8Array, i: number): number =>
  pfds[i * 8 + 6]! | (pfds[i * 8 + 7]! << 8);

/**
 * poll(2) on a pollfd array: the number of ready entries, 0 on timeout or EINTR (the
 * caller loops anyway), or a negative errno.
 */
export function pollWait(c: Libc, pfds: Uint8Array, timeoutMs: number): number {
  const r = c.poll(pfds, pfds.length / 8, timeoutMs);
  if (r >= 0) return r;
  const errno = c.errno();
  return errno === ERRNO.EINTR ? 0 : -errno;
}

/** errno's name (`EBUSY`; `E<n>` if unknown). */
export function errnoName(c: Libc, errno: number): string {
  return c.errnoNames.get(errno) ?? `E${errno}`;
}

/**
 * Runs `fn` with this thread in network namespace `netns` (a name under /run/netns or an
 * absolute path), then switches back. `fn` must be synchronous: nothing else may run on
 * this thread while it is elsewhere. A failed step throws `fail(what, errno)`; a failure to
 * switch back aborts the process, since a thread stranded in the wrong namespace would open
 * sockets there.
 */
export function inNetns<T>(
  netns: string | undefined,
  fn: () => T,
  fail: (what: string, errno: number) => Error,
): T {
  if (netns === undefined) return fn();
  const c = libc();
  const path = netns.startsWith('/') ? netns : `/run/netns/${netns}`;
  const home = c.open('/proc/thread-self/ns/net', O_RDONLY | O_CLOEXEC, 0);
  if (home < 0) throw fail('open /proc/thread-self/ns/net', c.errno());
  try {
    const target = c.open(path, O_RDONLY | O_CLOEXEC, 0);
    if (target < 0) throw fail(`open network namespace ${path}`, c.errno());
    try {
      if (c.setns(target, CLONE_NEWNET) < 0) throw fail(`setns to ${path}`, c.errno());
    } finally {
      c.close(target);
    }
    try {
      return fn();
    } finally {
      if (c.setns(home, CLONE_NEWNET) < 0) {
        const e = fail('setns back to the original network namespace', c.errno());
        process.stderr.write(`${e.message}\n`);
        process.abort();
      }
    }
  } finally {
    c.close(home);
  }
}
