// Linux TUN devices (Documentation/networking/tuntap.rst, uapi <linux/if_tun.h>) through
// libc via the koffi FFI. Node cannot poll a character device with libuv and `fs.read` on
// the thread pool is far too slow (spec tcpr-and-tcp-repair §5.3), so this API is
// synchronous: open it, and loop on it, inside a worker thread.
//
// A device may live in another network namespace: `TUNSETIFF` resolves the name in the
// calling thread's namespace, so we `setns()` this thread there for the open and switch
// straight back (a net namespace is a per-thread attribute; other threads never notice).
// The fd stays bound to the device wherever the thread goes afterwards.

import {
  ERRNO,
  LibcUnavailable,
  POLL,
  errnoName,
  inNetns as libcInNetns,
  libc as loadLibc,
  pollWait,
  pollfds,
  revents,
  type Libc,
} from './libc.js';

/** ioctl requests of <linux/if_tun.h> (x86-64 values, `_IOW('T', n, int)`). */
export const TUN_IOCTL = {
  SETIFF: 0x400454ca,
  SETPERSIST: 0x400454cb,
  SETOWNER: 0x400454cc,
  SETGROUP: 0x400454ce,
  GETFEATURES: 0x800454cf,
  SETOFFLOAD: 0x400454d0,
  GETIFF: 0x800454d2,
} as const;

/** `ifr_flags` values for TUNSETIFF. */
export const TUN_FLAG = {
  TUN: 0x0001,
  TAP: 0x0002,
  MULTI_QUEUE: 0x0100,
  NO_PI: 0x1000,
  VNET_HDR: 0x4000,
  TUN_EXCL: 0x8000,
} as const;

/** Socket ioctls on a device (<linux/sockios.h>), for the queue length and the up flag. */
const SIOC = { GIFFLAGS: 0x8913, SIFFLAGS: 0x8914, SIFTXQLEN: 0x8943 } as const;
const IFF_UP = 0x1;
/** Operationally up (`netif_oper_up`): set by the kernel's link-watch work, see waitRunning. */
const IFF_RUNNING = 0x40;

/** `sizeof(struct ifreq)` on x86-64: `char ifr_name[16]` then a 24-byte union. */
export const IFREQ_SIZE = 40;
/** Offset of `ifr_flags` (short) and `ifr_qlen` (int) in the union. */
const IFREQ_UNION = 16;
const IFNAMSIZ = 16;

const O_RDWR = 0o2;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
export { POLL };
const { EAGAIN, EINTR, ENODEV, EBADFD } = ERRNO;

/** A TUN failure: `code` is the errno name (`EBUSY`), `device` the interface name. */
export class TunError extends Error {
  constructor(
    readonly code: string,
    readonly errno: number,
    readonly device: string,
    message: string,
  ) {
    super(message);
    this.name = 'TunError';
  }
}

/** libc (net/libc.ts), its unavailability reported as a TunError. */
function libc(): Libc {
  try {
    return loadLibc();
  } catch (e) {
    if (e instanceof LibcUnavailable) {
      throw new TunError(e.code, 0, '', `TUN devices: ${e.message}`);
    }
    throw e;
  }
}

function fail(c: Libc, device: string, what: string, errno = c.errno()): TunError {
  const code = errnoName(c, errno);
  const where = device ? `TUN ${device}` : 'TUN';
  return new TunError(code, errno, device, `${where}: ${what}: ${code} (${c.strerror(errno)})`);
}

/** Interface names: 1-15 bytes of [A-Za-z0-9_.-] (IFNAMSIZ counts the NUL). */
function checkName(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) {
    throw new TunError(
      'EINVAL',
      22,
      name,
      `bad TUN device name "${name}": 1-15 characters of letters, digits, '_', '.', '-'`,
    );
  }
  return name;
}

/**
 * A `struct ifreq`: the NUL-terminated name at offset 0, then `value` at offset 16 as a
 * little-endian short (`ifr_flags`) or int (`ifr_qlen`, `ifr_ifindex`).
 */
export function buildIfreq(name: string, value = 0, width: 2 | 4 = 2): Uint8Array {
  checkName(name);
  const b = new Uint8Array(IFREQ_SIZE);
  for (let i = 0; i < name.length; i++) b[i] = name.charCodeAt(i);
  const dv = new DataView(b.buffer);
  if (width === 2) dv.setUint16(IFREQ_UNION, value & 0xffff, true);
  else dv.setInt32(IFREQ_UNION, value, true);
  return b;
}

/** The name stored in an ifreq (up to the first NUL). */
export function ifreqName(ifr: Uint8Array): string {
  let s = '';
  for (let i = 0; i < IFNAMSIZ && ifr[i] !== 0; i++) s += String.fromCharCode(ifr[i]!);
  return s;
}

/**
 * Runs `fn` with this thread in network namespace `netns` (net/libc.ts `inNetns`), failures
 * reported as TunErrors naming `device`.
 */
export function inNetns<T>(netns: string | undefined, fn: () => T, device = ''): T {
  if (netns === undefined) return fn();
  const c = libc();
  return libcInNetns(netns, fn, (what, errno) => fail(c, device, what, errno));
}

export interface TunOpenOptions {
  /** Interface name (≤ 15 characters). */
  name: string;
  /** Network namespace of the device (name under /run/netns, or a path); default: ours. */
  netns?: string;
  /** false: attach only to an existing device (re-attach after a restart), never create. */
  create?: boolean;
  /** Set or clear TUNSETPERSIST: a persistent device outlives its fd (fail-closed). */
  persist?: boolean;
  /** Raise the device's transmit queue (kernel → us); the default 500 overflows under load. */
  txqueuelen?: number;
  /** Bring the interface administratively up. */
  up?: boolean;
}

/**
 * One attached TUN queue (`IFF_TUN | IFF_NO_PI`: every read and write is exactly one IP
 * packet, no link header, no `tun_pi`). The fd is non-blocking; `readPacket` waits with
 * poll(2). Not thread-safe: use from one thread.
 */
export class TunDevice {
  private closed = false;
  private readonly pfd: Uint8Array;

  private constructor(
    private readonly c: Libc,
    readonly name: string,
    readonly fd: number,
    readonly netns: string | undefined,
  ) {
    this.pfd = pollfds([fd]);
  }

  /** Opens /dev/net/tun and attaches to (or creates) the device `name`. */
  static open(opts: TunOpenOptions): TunDevice {
    const c = libc();
    const name = checkName(opts.name);
    return inNetns(
      opts.netns,
      () => {
        if (opts.create === false && c.if_nametoindex(name) === 0) {
          throw fail(c, name, `no such device to re-attach${nsText(opts.netns)}`, ENODEV);
        }
        const fd = c.open('/dev/net/tun', O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
        if (fd < 0) throw fail(c, name, 'open /dev/net/tun');
        try {
          const ifr = buildIfreq(name, TUN_FLAG.TUN | TUN_FLAG.NO_PI);
          if (c.ioctl(fd, TUN_IOCTL.SETIFF, ifr) < 0) {
            throw fail(c, name, `TUNSETIFF${nsText(opts.netns)}`);
          }
          if (opts.persist !== undefined) {
            if (c.ioctlValue(fd, TUN_IOCTL.SETPERSIST, opts.persist ? 1 : 0) < 0) {
              throw fail(c, name, 'TUNSETPERSIST');
            }
          }
          if (opts.txqueuelen !== undefined || opts.up) configure(c, name, opts);
        } catch (e) {
          c.close(fd);
          throw e;
        }
        return new TunDevice(c, name, fd, opts.netns);
      },
      name,
    );
  }

  /**
   * Reads one packet into `buf`, waiting up to `timeoutMs` (0: do not wait; negative:
   * forever). Returns its length, or 0 when none came in time. `buf` should hold the
   * device's MTU (65535 is always enough); a longer packet is cut short.
   */
  readPacket(buf: Uint8Array, timeoutMs: number): number {
    this.check();
    for (;;) {
      const n = this.read(buf);
      if (n > 0) return n;
      if (n !== -EAGAIN) throw fail(this.c, this.name, 'read', -n);
      if (timeoutMs === 0) return 0;
      const r = this.c.poll(this.pfd, 1, timeoutMs);
      if (r < 0) {
        const errno = this.c.errno();
        if (errno === EINTR) continue;
        throw fail(this.c, this.name, 'poll', errno);
      }
      if (r === 0) return 0;
      const rev = revents(this.pfd, 0);
      if (rev & (POLL.ERR | POLL.NVAL)) {
        throw fail(this.c, this.name, 'poll: device detached or gone', EBADFD);
      }
      timeoutMs = 0; // readable now; one more read
    }
  }

  /** Writes one IP packet (fully checksummed); throws TunError on failure. */
  writePacket(buf: Uint8Array): number {
    this.check();
    const n = this.write(buf);
    if (n < 0) throw fail(this.c, this.name, `write of ${buf.length} bytes`, -n);
    return n;
  }

  /** Hot-path read: the packet length, or a negative errno (-EAGAIN: nothing queued). */
  read(buf: Uint8Array): number {
    const n = this.c.read(this.fd, buf, buf.length);
    return n >= 0 ? n : -this.c.errno();
  }

  /** Hot-path write: bytes written, or a negative errno; never throws. */
  write(buf: Uint8Array): number {
    const n = this.c.write(this.fd, buf, buf.length);
    return n >= 0 ? n : -this.c.errno();
  }

  /**
   * Is the device operationally up (IFF_RUNNING)? Attaching sets the carrier at once, but
   * the kernel activates the transmit queue later, from its link-watch work; until then
   * whatever is routed to the device is dropped (counted in its TX dropped). The operational
   * state is set by that same work, just before the queue is activated.
   */
  isRunning(): boolean {
    this.check();
    return (deviceFlags(this.c, this.name, this.netns) & IFF_RUNNING) !== 0;
  }

  /**
   * Waits (synchronously, sleeping 1 ms at a time) up to `timeoutMs` for isRunning(), then
   * 1 ms more for the queue activation that follows it. False on timeout (e.g. the device
   * is administratively down).
   */
  waitRunning(timeoutMs = 2000): boolean {
    const deadline = Date.now() + timeoutMs;
    while (!this.isRunning()) {
      if (Date.now() >= deadline) return false;
      sleepSync(1);
    }
    sleepSync(1);
    return true;
  }

  /** Sets or clears the persist flag while attached. */
  setPersist(on: boolean): void {
    this.check();
    if (this.c.ioctlValue(this.fd, TUN_IOCTL.SETPERSIST, on ? 1 : 0) < 0) {
      throw fail(this.c, this.name, 'TUNSETPERSIST');
    }
  }

  /** Detaches (a persistent device stays, carrier off, dropping what is routed to it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.c.close(this.fd);
  }

  /** A TunError for this device: `what` failed with `errno` (name and text in the message). */
  errorFor(what: string, errno: number): TunError {
    return fail(this.c, this.name, what, errno);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private check(): void {
    if (this.closed) throw new TunError('EBADF', 9, this.name, `TUN ${this.name} is closed`);
  }
}

function nsText(netns: string | undefined): string {
  return netns === undefined ? '' : ` (network namespace ${netns})`;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** The device's `ifr_flags` (SIOCGIFFLAGS) through a socket in its namespace. */
function deviceFlags(c: Libc, name: string, netns: string | undefined): number {
  return inNetns(
    netns,
    () => {
      const s = c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (s < 0) throw fail(c, name, 'socket for device ioctls');
      try {
        const ifr = buildIfreq(name);
        if (c.ioctl(s, SIOC.GIFFLAGS, ifr) < 0) throw fail(c, name, 'SIOCGIFFLAGS');
        return new DataView(ifr.buffer).getUint16(IFREQ_UNION, true);
      } finally {
        c.close(s);
      }
    },
    name,
  );
}

/** Queue length and up flag through an AF_INET socket in the device's namespace. */
function configure(c: Libc, name: string, opts: TunOpenOptions): void {
  const s = c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw fail(c, name, 'socket for device ioctls');
  try {
    if (opts.txqueuelen !== undefined) {
      if (c.ioctl(s, SIOC.SIFTXQLEN, buildIfreq(name, opts.txqueuelen, 4)) < 0) {
        throw fail(c, name, `set txqueuelen ${opts.txqueuelen}`);
      }
    }
    if (opts.up) {
      const ifr = buildIfreq(name);
      if (c.ioctl(s, SIOC.GIFFLAGS, ifr) < 0) throw fail(c, name, 'SIOCGIFFLAGS');
      const dv = new DataView(ifr.buffer);
      dv.setUint16(IFREQ_UNION, dv.getUint16(IFREQ_UNION, true) | IFF_UP, true);
      if (c.ioctl(s, SIOC.SIFFLAGS, ifr) < 0) throw fail(c, name, 'set up');
    }
  } finally {
    c.close(s);
  }
}

/**
 * Waits until one of `devices` is readable; returns a bitmask (bit i: devices[i] readable
 * or in error), 0 on timeout. `pollfds` may be passed to avoid an allocation per call.
 */
export function pollDevices(
  devices: readonly TunDevice[],
  timeoutMs: number,
  pollfds = pollfdArray(devices),
): number {
  const c = libc();
  const r = pollWait(c, pollfds, timeoutMs);
  if (r < 0) throw fail(c, '', 'poll', -r);
  if (r === 0) return 0;
  let mask = 0;
  for (let i = 0; i < devices.length; i++) {
    if (revents(pollfds, i)) mask |= 1 << i;
  }
  return mask;
}

/** `struct pollfd[]` for `devices`, each waiting for POLLIN. */
export function pollfdArray(devices: readonly TunDevice[]): Uint8Array {
  return pollfds(devices.map((d) => d.fd));
}

/** Does interface `name` exist in `netns` (default: this thread's namespace)? */
export function tunExists(name: string, netns?: string): boolean {
  const c = libc();
  return inNetns(netns, () => c.if_nametoindex(checkName(name)) > 0, name);
}

/** Creates a persistent TUN device (or makes an existing one persistent) and detaches. */
export function createPersistentTun(opts: Omit<TunOpenOptions, 'persist' | 'create'>): void {
  TunDevice.open({ ...opts, persist: true }).close();
}

/** Deletes a persistent TUN device: attach, clear the persist flag, detach. */
export function deletePersistentTun(name: string, netns?: string): void {
  TunDevice.open({ name, netns, create: false, persist: false }).close();
}
