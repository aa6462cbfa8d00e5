// The Linux kernel routing table as a FIB, over rtnetlink (RFC 3549; rtnetlink(7)).
//
// Batching. A batch is one sendmsg() carrying up to `batchSize` RTM_NEWROUTE/RTM_DELROUTE
// requests without NLM_F_ACK, followed by an NLMSG_NOOP request with NLM_F_ACK. The kernel
// handles the messages in order and answers only failures, so when the NOOP's
// acknowledgement arrives every failure of the batch has arrived before it. The batch size
// is bounded by the socket's receive buffer so that even an all-failing batch fits (an
// overflow would drop answers: ENOBUFS).
//
// Ownership. Every route is stamped with one routing protocol number (rtm_protocol), by
// default RTPROT_NONSTOP = 214: not assigned in Linux's rtnetlink.h, iproute2's rt_protos,
// BIRD (12) or FRR (186–198). `list()`, `flush()` and deletes only see routes that carry it,
// in the configured table, so routes other daemons or an operator installed are never
// touched, and routes left by an earlier run (`close({ keepRoutes: true })`) are found again.
//
// The process must already be in the right network namespace (`ip netns exec NS ...`).

import { AFI, formatPrefix, type Afi, type Prefix } from '../lib/ip.js';
import {
  describeChange,
  FibError,
  validateChange,
  type ApplyReport,
  type Fib,
  type FibChange,
  type FibFailure,
  type FibRoute,
} from './fib.js';
import { MemoryFib } from './memory-fib.js';
import { NetlinkSocket } from './netlink-socket.js';
import {
  AF,
  decodeError,
  decodeRoute,
  encodeBarrier,
  encodeRoute,
  encodeRouteDump,
  NLM_F,
  NLMSG,
  NlWriter,
  RT_SCOPE,
  RT_TABLE,
  RTM,
  RTN,
  splitMessages,
  type NlError,
  type RouteMsg,
} from './rtnetlink.js';

/** Our rtm_protocol value (see the header comment). */
export const RTPROT_NONSTOP = 214;

export interface NetlinkFibOptions {
  /** Routing table id, 1..2^32-1 except 255 (local). Default 254 (main). */
  readonly table?: number;
  /** rtm_protocol stamped on and used to recognise our routes. Default RTPROT_NONSTOP. */
  readonly protocol?: number;
  /** Most route requests per sendmsg(); default derived from the receive buffer (≤ 1024). */
  readonly batchSize?: number;
  /**
   * Take over routes of ours already in the table (left by an earlier run with
   * `keepRoutes`), so that lookup(), metric changes and close() know them. Default true.
   */
  readonly adopt?: boolean;
}

/** Kernel default metrics when RTA_PRIORITY is absent. */
const defaultMetric = (afi: Afi): number => (afi === AFI.IPv4 ? 0 : 1024);

/** One request in flight: which change it belongs to. */
interface Pending {
  readonly index: number;
  readonly change: FibChange;
  /** A replace that changed the metric leaves the old route; delete it once this succeeds. */
  readonly staleMetric?: number;
}

/** A route of ours to delete; `metric` undefined: whichever of ours has the prefix. */
interface Doomed {
  readonly prefix: Prefix;
  readonly metric?: number | undefined;
}

const ESRCH = 3;

export class NetlinkFib implements Fib {
  readonly table: number;
  readonly protocol: number;
  readonly batchSize: number;
  /** What this process installed: answers lookup() and tells deletes which metric to aim at. */
  private readonly mirror = new MemoryFib();
  private readonly w = new NlWriter();
  private readonly rbuf = new Uint8Array(1 << 16);
  private seq = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly sock: NetlinkSocket,
    opts: NetlinkFibOptions,
  ) {
    this.table = opts.table ?? RT_TABLE.MAIN;
    this.protocol = opts.protocol ?? RTPROT_NONSTOP;
    const fit = Math.floor(sock.rcvbuf / 2048);
    this.batchSize = opts.batchSize ?? Math.max(16, Math.min(1024, fit));
  }

  /** Opens an rtnetlink socket in the current network namespace. */
  static async open(opts: NetlinkFibOptions = {}): Promise<NetlinkFib> {
    const table = opts.table ?? RT_TABLE.MAIN;
    if (!Number.isInteger(table) || table < 1 || table > 0xffffffff || table === RT_TABLE.LOCAL) {
      throw new FibError(
        'EINVAL',
        `routing table ${table} is not usable: pick 1..4294967295 except 255 (local)`,
      );
    }
    const proto = opts.protocol ?? RTPROT_NONSTOP;
    if (!Number.isInteger(proto) || proto < 5 || proto > 255) {
      throw new FibError(
        'EINVAL',
        `routing protocol number ${proto} is not usable: pick 5..255 (0..4 belong to the kernel)`,
      );
    }
    const fib = new NetlinkFib(await NetlinkSocket.open(), opts);
    if (opts.adopt ?? true) {
      try {
        for (const r of await fib.list()) fib.mirror.put(r);
      } catch (e) {
        fib.sock.close();
        throw e;
      }
    }
    return fib;
  }

  apply(changes: readonly FibChange[]): Promise<ApplyReport> {
    return this.serial(() => this.applyNow(changes));
  }

  /** Longest-prefix match over the routes this process installed. */
  lookup(addr: Uint8Array): FibRoute | undefined {
    return this.mirror.lookup(addr);
  }

  list(afi?: Afi): Promise<FibRoute[]> {
    return this.serial(() => this.dump(afi, this.table, this.protocol));
  }

  /**
   * Routes of any table and protocol, e.g. to observe what another routing daemon installed
   * (`protocol: 12` for BIRD). Routes without a gateway get a zero-length one.
   */
  listKernel(afi?: Afi, filter: { table?: number; protocol?: number } = {}): Promise<FibRoute[]> {
    return this.serial(() => this.dump(afi, filter.table, filter.protocol));
  }

  flush(): Promise<void> {
    return this.serial(() => this.flushNow());
  }

  async close(opts?: { readonly keepRoutes?: boolean }): Promise<void> {
    if (this.closed) return;
    await this.serial(async () => {
      try {
        if (!opts?.keepRoutes) await this.flushNow();
      } finally {
        this.closed = true;
        this.sock.close();
      }
    });
  }

  // --- internals ---

  /** One operation at a time, so batches and dumps never interleave on the socket. */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new FibError('EBADF', 'NetlinkFib is closed');
      return op();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(changes: readonly FibChange[]): Promise<ApplyReport> {
    const failed: FibFailure[] = [];
    const batch: Pending[] = [];
    const keys = new Set<string>();
    const stale: Doomed[] = [];
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i]!;
      const bad = validateChange(c);
      if (bad !== undefined) {
        failed.push({ index: i, change: c, code: 'EINVAL', message: `${this.where(c)}: ${bad}` });
        continue;
      }
      const p = c.op === 'delete' ? c.prefix : c.route.prefix;
      const key = formatPrefix(p);
      // A second change to one prefix must see the first one's outcome in the mirror.
      if (keys.has(key) || batch.length >= this.batchSize) {
        await this.runBatch(batch, failed, stale);
        batch.length = 0;
        keys.clear();
      }
      keys.add(key);
      const had = this.mirror.get(p);
      if (c.op === 'add' && had) {
        failed.push({
          index: i,
          change: c,
          code: 'EEXIST',
          message: `${this.where(c)}: EEXIST: route exists (installed by us); use replace`,
        });
        continue;
      }
      if (c.op === 'replace' && had) {
        const before = had.metric ?? defaultMetric(p.afi);
        const after = c.route.metric ?? defaultMetric(p.afi);
        // The kernel keys routes by (prefix, metric): replacing with another metric adds a
        // second route, so the old one is deleted once the new one is in.
        if (before !== after) {
          batch.push({ index: i, change: c, staleMetric: before });
          continue;
        }
      }
      batch.push({ index: i, change: c });
    }
    await this.runBatch(batch, failed, stale);
    await this.deleteRoutes(stale); // failures: the old route is already gone, or not ours
    failed.sort((a, b) => a.index - b.index);
    return { applied: changes.length - failed.length, failed };
  }

  /** Sends one batch, collects its failures, updates the mirror; yields to the event loop. */
  private async runBatch(
    batch: readonly Pending[],
    failed: FibFailure[],
    stale: Doomed[],
  ): Promise<void> {
    if (batch.length === 0) return;
    const w = this.w;
    w.reset();
    const first = this.seq;
    for (const p of batch) this.encode(p.change, this.nextSeq());
    const { errors, lost } = this.exchange(first, batch.length);
    for (let k = 0; k < batch.length; k++) {
      const p = batch[k]!;
      const c = p.change;
      const e = errors.get((first + k) >>> 0);
      if (e || lost) {
        failed.push({ index: p.index, change: c, ...this.explain(c, e) });
        continue;
      }
      if (c.op === 'delete') {
        this.mirror.remove(c.prefix);
      } else {
        this.mirror.put(c.route);
        if (p.staleMetric !== undefined)
          stale.push({ prefix: c.route.prefix, metric: p.staleMetric });
      }
    }
    // Let timers and sockets run between batches of a long apply().
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /**
   * Deletes routes of ours (exact metric when given), batched; returns the failures other
   * than "already gone" (ESRCH).
   */
  private async deleteRoutes(doomed: readonly Doomed[]): Promise<FibFailure[]> {
    const failed: FibFailure[] = [];
    for (let i = 0; i < doomed.length; i += this.batchSize) {
      const part = doomed.slice(i, i + this.batchSize);
      this.w.reset();
      const first = this.seq;
      for (const d of part) this.encodeDelete(d.prefix, this.nextSeq(), d.metric);
      const { errors, lost } = this.exchange(first, part.length);
      for (let k = 0; k < part.length; k++) {
        const e = errors.get((first + k) >>> 0);
        if (!(e || lost) || e?.errno === ESRCH) continue;
        const c: FibChange = { op: 'delete', prefix: part[k]!.prefix };
        failed.push({ index: i + k, change: c, ...this.explain(c, e) });
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return failed;
  }

  /**
   * Sends the `count` requests in the writer (sequence numbers from `first`) plus a
   * barrier, and collects the kernel's failure answers by sequence number until the
   * barrier's acknowledgement. `lost`: the kernel dropped answers (ENOBUFS).
   */
  private exchange(first: number, count: number): { errors: Map<number, NlError>; lost: boolean } {
    const barrier = this.nextSeq();
    encodeBarrier(this.w, barrier);
    this.sock.send(this.w.bytes());
    const errors = new Map<number, NlError>();
    const lost = this.await(barrier, (m) => {
      if (m.type !== NLMSG.ERROR) return;
      const e = decodeError(m.payload, m.flags);
      if (e && e.errno !== 0 && seqIn(e.seq, first, count)) errors.set(e.seq, e);
    });
    return { errors, lost };
  }

  private explain(c: FibChange, e: NlError | undefined): { code: string; message: string } {
    if (!e) {
      return {
        code: 'ENOBUFS',
        message: `${this.where(c)}: ENOBUFS: the kernel dropped its answer (receive buffer full), so the outcome is unknown; list() to check, or lower batchSize`,
      };
    }
    const info = this.sock.errnoInfo(e.errno);
    const kernel = e.text ? ` (kernel: ${e.text})` : '';
    return { code: info.code, message: `${this.where(c)}: ${info.code}: ${info.text}${kernel}` };
  }

  private encode(c: FibChange, seq: number): void {
    if (c.op === 'delete') {
      const p = c.prefix;
      const known = this.mirror.get(p);
      this.encodeDelete(p, seq, known ? (known.metric ?? defaultMetric(p.afi)) : undefined);
      return;
    }
    const r = c.route;
    const p = r.prefix;
    const width = p.afi === AFI.IPv4 ? 4 : 16;
    const msg: RouteMsg = {
      family: p.afi === AFI.IPv4 ? AF.INET : AF.INET6,
      dstLen: p.len,
      table: this.table,
      protocol: this.protocol,
      scope: RT_SCOPE.UNIVERSE,
      type: RTN.UNICAST,
      dst: p.addr,
      priority: r.metric, // encodeRoute skips undefined fields
      nextHops: r.nextHops.map((h) =>
        h.gateway.length === width
          ? { gateway: h.gateway, via: undefined, ifindex: h.ifindex }
          : { gateway: undefined, via: h.gateway, ifindex: h.ifindex },
      ),
    };
    const flags = NLM_F.REQUEST | NLM_F.CREATE | (c.op === 'add' ? NLM_F.EXCL : NLM_F.REPLACE);
    encodeRoute(this.w, RTM.NEWROUTE, flags, seq, msg);
  }

  private encodeDelete(p: Prefix, seq: number, metric: number | undefined): void {
    encodeRoute(this.w, RTM.DELROUTE, NLM_F.REQUEST, seq, {
      family: p.afi === AFI.IPv4 ? AF.INET : AF.INET6,
      dstLen: p.len,
      table: this.table,
      protocol: this.protocol, // the kernel then deletes only a route of ours
      scope: RT_SCOPE.NOWHERE, // any scope
      type: RTN.UNSPEC, // any type
      dst: p.addr,
      ...(metric !== undefined ? { priority: metric } : {}),
      nextHops: [],
    });
  }

  /**
   * Reads answers until the acknowledgement of `seq`, handing every message to `each`.
   * Returns true if the kernel reported dropped answers (ENOBUFS).
   */
  private await(
    seq: number,
    each: (m: { type: number; flags: number; payload: Uint8Array }) => void,
  ): boolean {
    let lost = false;
    for (;;) {
      const n = this.sock.recv(this.rbuf);
      if (n < 0) {
        const e = this.sock.errnoInfo(-n);
        if (e.code === 'ENOBUFS') {
          lost = true;
          continue;
        }
        if (e.code === 'EINTR') continue;
        throw new FibError(e.code, `netlink receive (waiting for answer ${seq}): ${e.text}`);
      }
      for (const m of splitMessages(this.rbuf.subarray(0, n))) {
        each(m);
        if (m.seq === seq && m.type === NLMSG.ERROR) return lost;
      }
    }
  }

  private async dump(
    afi: Afi | undefined,
    table: number | undefined,
    protocol: number | undefined,
  ): Promise<FibRoute[]> {
    const out: FibRoute[] = [];
    for (const family of afi === undefined ? [AFI.IPv4, AFI.IPv6] : [afi]) {
      const w = this.w;
      w.reset();
      const seq = this.nextSeq();
      encodeRouteDump(w, seq, family === AFI.IPv4 ? AF.INET : AF.INET6, table ?? 0, protocol ?? 0);
      this.sock.send(w.bytes());
      let done = false;
      let reads = 0;
      while (!done) {
        const n = this.sock.recv(this.rbuf);
        if (n < 0) {
          const e = this.sock.errnoInfo(-n);
          if (e.code === 'EINTR') continue;
          throw new FibError(e.code, `netlink route dump: ${e.text}`);
        }
        for (const m of splitMessages(this.rbuf.subarray(0, n))) {
          if (m.seq !== seq) continue;
          if (m.type === NLMSG.DONE) {
            done = true;
            break;
          }
          if (m.type === NLMSG.ERROR) {
            const e = decodeError(m.payload, m.flags);
            if (!e || e.errno === 0) continue;
            const info = this.sock.errnoInfo(e.errno);
            if (info.code === 'ENOENT') {
              done = true; // the table does not exist (yet): no routes
              break;
            }
            throw new FibError(
              info.code,
              `netlink route dump: ${info.text}${e.text ? ` (kernel: ${e.text})` : ''}`,
            );
          }
          if (m.type !== RTM.NEWROUTE) continue;
          const r = decodeRoute(m.payload);
          if (!r || r.type !== RTN.UNICAST) continue;
          if (table !== undefined && r.table !== table) continue;
          if (protocol !== undefined && r.protocol !== protocol) continue;
          const route = toFibRoute(r, family);
          if (route) out.push(route);
        }
        // Big tables: let the event loop breathe every few hundred datagrams.
        if (++reads % 256 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    return out;
  }

  private async flushNow(): Promise<void> {
    const ours = await this.dump(undefined, this.table, this.protocol);
    const failed = await this.deleteRoutes(
      ours.map((r) => ({ prefix: r.prefix, metric: r.metric })),
    );
    await this.mirror.flush();
    if (failed.length > 0) {
      throw new FibError(
        failed[0]!.code,
        `flush left ${failed.length} route(s); first: ${failed[0]!.message}`,
      );
    }
  }

  private where(c: FibChange): string {
    return `${describeChange(c)} (table ${this.table})`;
  }

  private nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) >>> 0 || 1;
    return s;
  }
}

function seqIn(seq: number, first: number, count: number): boolean {
  return (seq - first) >>> 0 < count;
}

function toFibRoute(r: RouteMsg, afi: Afi): FibRoute | undefined {
  const width = afi === AFI.IPv4 ? 4 : 16;
  const addr = new Uint8Array(width);
  if (r.dst) addr.set(r.dst.subarray(0, width));
  const prefix: Prefix = { afi, addr, len: r.dstLen };
  return {
    prefix,
    nextHops: r.nextHops.map((h) => ({
      gateway: h.gateway ?? h.via ?? new Uint8Array(0),
      ...(h.ifindex !== undefined ? { ifindex: h.ifindex } : {}),
    })),
    ...(r.priority !== undefined ? { metric: r.priority } : {}),
    proto: r.protocol,
  };
}
