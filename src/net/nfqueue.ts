// NFQUEUE over raw nfnetlink, through libc via koffi — no libnetfilter_queue (spec
// tcpr-and-tcp-repair §5.2): `NfQueueSocket` binds queues and sends verdicts, `RawInjector`
// sends the packets the filter makes up; both synchronous, for the packet pump's worker
// thread. The messages are net/nfqueue-codec.ts's, the netlink framing net/netlink.ts's.

import {
  ERRNO,
  errnoName,
  inNetns,
  libc as loadLibc,
  LibcUnavailable,
  pollfds,
  pollWait,
  type Libc,
} from './libc.js';
import { decodeError, NLMSG, splitMessages } from './netlink.js';
import {
  encodeQueueConfig,
  encodeVerdict,
  NFQNL_MSG,
  nfqType,
  VERDICT_HDRLEN,
} from './nfqueue-codec.js';

const AF_NETLINK = 16;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_NETFILTER = 12;
const IPPROTO_RAW = 255;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUFFORCE = 33;
const SO_SNDBUFFORCE = 32;
const SO_MARK = 36;
const IPPROTO_IP = 0;
const IP_HDRINCL = 3;
const { EAGAIN, EBUSY, EINTR, EINVAL, ENOBUFS, EPERM } = ERRNO;

/** An NFQUEUE or injection failure: `code` is the errno name (`EPERM`, `EBUSY`). */
export class NfQueueError extends Error {
  constructor(
    readonly code: string,
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = 'NfQueueError';
  }
}

/** A valid injection mark: 1..0xffffffff. Mark 0 would make the skip rule `--mark 0x0`,
 * which matches every unmarked packet: the queues would be bypassed (fail open). */
export function checkInjectionMark(mark: number): void {
  if (!Number.isInteger(mark) || mark < 1 || mark > 0xffffffff) {
    throw new NfQueueError(
      'EINVAL',
      EINVAL,
      `NFQUEUE: injection mark ${String(mark)} is not from 1 to 0xffffffff (mark 0 would ` +
        'let every unmarked packet skip the queues)',
    );
  }
}

function libc(): Libc {
  try {
    return loadLibc();
  } catch (e) {
    if (e instanceof LibcUnavailable) throw new NfQueueError(e.code, 0, `NFQUEUE: ${e.message}`);
    throw e;
  }
}

function fail(c: Libc, what: string, errno = c.errno()): NfQueueError {
  const code = errnoName(c, errno);
  return new NfQueueError(code, errno, `NFQUEUE: ${what}: ${code} (${c.strerror(errno)})`);
}

const nsText = (netns: string | undefined): string =>
  netns === undefined ? '' : ` (network namespace ${netns})`;

function setInt(c: Libc, fd: number, level: number, name: number, v: number): number {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return c.setsockopt(fd, level, name, b, 4);
}

export interface NfQueueOpenOptions {
  /** Queue numbers to bind (0-65535), each at most once. */
  queues: readonly number[];
  /** Network namespace of the rules (name under /run/netns, or a path); default: ours. */
  netns?: string;
  /** Kernel queue length per queue (default 8192): beyond it packets are dropped. */
  maxLen?: number;
  /** Socket receive buffer (SO_RCVBUFFORCE); default 16 MiB. */
  rcvbuf?: number;
}

/**
 * A netlink socket bound to NFQUEUE queues, non-blocking. Not thread-safe. Closing it (or
 * the process dying) unbinds the queues: the kernel then drops what the rules send there
 * (fail closed), including what was queued and never got a verdict.
 */
export class NfQueueSocket {
  private closed = false;
  private seq = 1;
  private readonly verdictBuf = new Uint8Array(VERDICT_HDRLEN + 0x10000);
  /** Payloads (after the nlmsghdr) of PACKET messages that arrived while binding. */
  readonly backlog: Uint8Array[] = [];

  private constructor(
    private readonly c: Libc,
    readonly fd: number,
    readonly netns: string | undefined,
  ) {}

  static open(opts: NfQueueOpenOptions): NfQueueSocket {
    const c = libc();
    for (const q of opts.queues) {
      if (!Number.isInteger(q) || q < 0 || q > 0xffff) {
        throw new NfQueueError('EINVAL', EINVAL, `NFQUEUE: bad queue number ${q}: 0-65535`);
      }
    }
    if (new Set(opts.queues).size !== opts.queues.length) {
      throw new NfQueueError(
        'EINVAL',
        EINVAL,
        `NFQUEUE: queue numbers must differ (${opts.queues.join(', ')})`,
      );
    }
    const fd = inNetns(
      opts.netns,
      () => {
        const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_NETFILTER);
        // errno now: switching back to our namespace makes system calls that overwrite it.
        if (fd < 0) throw fail(c, `netlink socket${nsText(opts.netns)}`);
        return fd;
      },
      (what, errno) => fail(c, what, errno),
    );
    const s = new NfQueueSocket(c, fd, opts.netns);
    try {
      // sockaddr_nl { u16 family; u16 pad; u32 pid (0: the kernel picks); u32 groups }
      const sa = new Uint8Array(12);
      new DataView(sa.buffer).setUint16(0, AF_NETLINK, true);
      if (c.bind(fd, sa, 12) < 0) throw fail(c, 'bind netlink socket');
      // Bursts of full-size packets must not overflow it (ENOBUFS = packets dropped).
      setInt(c, fd, SOL_SOCKET, SO_RCVBUFFORCE, opts.rcvbuf ?? 16 << 20);
      setInt(c, fd, SOL_SOCKET, SO_SNDBUFFORCE, 4 << 20);
      for (const queue of opts.queues) {
        const errno = s.bindQueue(queue, opts.maxLen ?? 8192);
        if (errno !== 0) {
          // The kernel answers EPERM both to a queue bound by another socket and to a
          // caller without CAP_NET_ADMIN.
          const hint =
            errno === EPERM
              ? ': bound by another process (a middlebox still running?), or no CAP_NET_ADMIN'
              : '';
          throw fail(c, `bind queue ${queue}${nsText(opts.netns)}${hint}`, errno);
        }
      }
    } catch (e) {
      s.close();
      throw e;
    }
    return s;
  }

  /**
   * Hot path: one datagram into `buf`; its length, or a negative errno (-EAGAIN: none;
   * -ENOBUFS: the receive buffer overflowed and the kernel dropped packets). EINTR is retried.
   */
  recv(buf: Uint8Array): number {
    for (;;) {
      const n = this.c.recv(this.fd, buf, buf.length, 0);
      if (n >= 0) return n;
      const errno = this.c.errno();
      if (errno !== EINTR) return -errno;
    }
  }

  /**
   * Hot path: sends a verdict for packet `id` of `queue`, with the (rewritten) packet if
   * given. Returns 0 or a negative errno; never throws except for an oversized payload.
   */
  verdict(queue: number, id: number, verdict: number, payload?: Uint8Array): number {
    return this.send(this.verdictBuf, encodeVerdict(this.verdictBuf, queue, id, verdict, payload));
  }

  /**
   * Hot path: sends `len` bytes of encoded requests (several verdicts in one datagram: the
   * kernel handles them in order, and reports a failed one in an error message, not here).
   * 0 or a negative errno, when none of it was taken.
   */
  send(buf: Uint8Array, len: number): number {
    for (;;) {
      const n = this.c.send(this.fd, buf, len, 0);
      if (n >= 0) return 0;
      const errno = this.c.errno();
      if (errno !== EINTR) return -errno;
    }
  }

  /** Waits up to `timeoutMs` for the socket to become readable; false on timeout or EINTR. */
  poll(timeoutMs: number, pfd: Uint8Array): boolean {
    const r = pollWait(this.c, pfd, timeoutMs);
    if (r < 0) throw fail(this.c, 'poll', -r);
    return r > 0;
  }

  /** A `struct pollfd` waiting for POLLIN on this socket. */
  pollfd(): Uint8Array {
    return pollfds([this.fd]);
  }

  errorFor(what: string, errno: number): NfQueueError {
    return fail(this.c, what, errno);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.c.close(this.fd);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private sendAll(msg: Uint8Array): void {
    if (this.c.send(this.fd, msg, msg.length, 0) < 0) throw fail(this.c, 'send config');
  }

  /**
   * Sends the config that binds `queue` and returns the errno of its ACK. If our receive
   * buffer overflowed meanwhile (ENOBUFS: packets already queued to the first queue filled
   * it), the ACK may be lost: the request is sent again, and EBUSY then means our earlier
   * request did bind it (the kernel answers EBUSY to a BIND of a queue we already hold).
   */
  private bindQueue(queue: number, maxLen: number): number {
    for (let attempt = 0; attempt < 3; attempt++) {
      const seq = this.seq++;
      this.sendAll(encodeQueueConfig({ queue, maxLen, seq }));
      const errno = this.waitAck(seq, 2000);
      if (errno === ACK_LOST) continue;
      return errno === EBUSY && attempt > 0 ? 0 : errno;
    }
    throw new NfQueueError('ETIMEDOUT', 110, `NFQUEUE: no ACK to binding queue ${queue}`);
  }

  /**
   * Reads until the ACK of `seq`; packets meanwhile are kept in `backlog`. Returns its
   * errno, or ACK_LOST on timeout after a receive-buffer overrun.
   */
  private waitAck(seq: number, timeoutMs: number): number {
    const buf = new Uint8Array(0x10000 + 4096);
    const pfd = this.pollfd();
    const deadline = Date.now() + timeoutMs;
    let overrun = false;
    for (;;) {
      const n = this.recv(buf);
      if (n < 0) {
        if (-n === ENOBUFS) {
          overrun = true;
          continue;
        }
        if (-n !== EAGAIN) throw fail(this.c, 'recv', -n);
        const left = deadline - Date.now();
        if (left <= 0) {
          if (overrun) return ACK_LOST;
          throw new NfQueueError('ETIMEDOUT', 110, 'NFQUEUE: no ACK to a config request');
        }
        this.poll(left, pfd);
        continue;
      }
      for (const m of splitMessages(buf.subarray(0, n), true)) {
        if (m.type === NLMSG.ERROR) {
          const ack = decodeError(m.payload, m.flags);
          if (ack?.seq === seq) return ack.errno;
        } else if (m.type === nfqType(NFQNL_MSG.PACKET)) {
          this.backlog.push(m.payload.slice());
        }
      }
    }
  }
}

/** waitAck's answer when the ACK was probably dropped with an overrun (not an errno). */
const ACK_LOST = -1;

/**
 * Raw IP sockets (IPPROTO_RAW: the header is ours) in the queue's namespace, one per family,
 * marked with SO_MARK so the NFQUEUE rules let our own packets pass. A packet is sent to
 * its IP destination: the namespace's routes decide the interface.
 */
export class RawInjector {
  private closed = false;
  private readonly sa4 = new Uint8Array(16);
  private readonly sa6 = new Uint8Array(28);

  private constructor(
    private readonly c: Libc,
    readonly fd4: number,
    readonly fd6: number,
  ) {
    new DataView(this.sa4.buffer).setUint16(0, AF_INET, true);
    new DataView(this.sa6.buffer).setUint16(0, AF_INET6, true);
  }

  static open(opts: { netns?: string; mark: number }): RawInjector {
    checkInjectionMark(opts.mark);
    const c = libc();
    const mk = (family: number): number => {
      const fd = c.socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
      if (fd < 0)
        throw fail(c, `raw socket (${family === AF_INET ? 'IPv4' : 'IPv6'})${nsText(opts.netns)}`);
      return fd;
    };
    const fds: number[] = [];
    try {
      inNetns(
        opts.netns,
        () => {
          fds.push(mk(AF_INET));
          fds.push(mk(AF_INET6));
        },
        (what, errno) => fail(c, what, errno),
      );
      const [fd4, fd6] = fds as [number, number];
      if (setInt(c, fd4, IPPROTO_IP, IP_HDRINCL, 1) < 0) throw fail(c, 'IP_HDRINCL');
      for (const fd of fds) {
        if (setInt(c, fd, SOL_SOCKET, SO_MARK, opts.mark) < 0) {
          throw fail(c, `SO_MARK ${opts.mark}`);
        }
        setInt(c, fd, SOL_SOCKET, SO_SNDBUF, 4 << 20);
      }
      return new RawInjector(c, fd4, fd6);
    } catch (e) {
      for (const fd of fds) c.close(fd);
      throw e;
    }
  }

  /** Hot path: sends one IP packet (v4 or v6, checksums correct); bytes sent or -errno. */
  send(packet: Uint8Array): number {
    const v = packet.length > 0 ? packet[0]! >> 4 : 0;
    if (v === 4 && packet.length >= 20) {
      this.sa4.set(packet.subarray(16, 20), 4);
      const n = this.c.sendto(this.fd4, packet, packet.length, 0, this.sa4, 16);
      return n >= 0 ? n : -this.c.errno();
    }
    if (v === 6 && packet.length >= 40) {
      this.sa6.set(packet.subarray(24, 40), 8);
      const n = this.c.sendto(this.fd6, packet, packet.length, 0, this.sa6, 28);
      return n >= 0 ? n : -this.c.errno();
    }
    return -EINVAL; // not an IP packet
  }

  errorFor(what: string, errno: number): NfQueueError {
    return fail(this.c, what, errno);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.c.close(this.fd4);
    this.c.close(this.fd6);
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
