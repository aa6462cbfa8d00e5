// The packet pump: a worker thread that owns two TUN devices — the application's side and
// the peers' side of a middlebox — reads every packet from each, hands it to a PacketFilter
// running in that worker, and writes what the filter emits to the side it names
// (spec tcpr-and-tcp-repair §5: synchronous koffi syscalls in a worker_thread).
//
// Or, in NFQUEUE mode (spec §5.2; net/nfqueue.ts), the same loop over two NFQUEUE queues of
// an existing router (one fed by the app's interface, one by the peers'): a packet whose
// filter result starts with itself, rewritten, towards the other side is ACCEPTed with the
// new payload; everything else the filter emits is injected through raw sockets marked so
// the rules skip them, and a packet not among its own emits is DROPped.
//
// The main thread only starts and stops the worker, reads its counters (a shared memory
// block, no messages per packet) and forwards control calls to the filter (the TCPR side
// channel). If the pump dies, its devices stay (persistent) and drop what is routed to
// them: the network fails closed, and a new pump re-attaches by name.

import { closeSync, writeSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { EFD, libc } from './libc.js';
import { checkInjectionMark } from './nfqueue.js';

/** Which side of the middlebox a packet comes from or goes to. */
export type Side = 'app' | 'peer';

/** One packet the filter wants written: to the application's side or the peers'. */
export interface Emit {
  to: Side;
  packet: Uint8Array;
  /** The packet is the one the filter was given, byte for byte as it arrived: in NFQUEUE
   * mode its ACCEPT verdict carries no copy of it. Leave unset when in doubt. */
  unchanged?: boolean;
}

/**
 * The packet-processing contract (what src/tcpr implements). Each call gets one IP packet
 * (IPv4 or IPv6, no link header) and returns the packets to write, in order; [] drops it.
 * The `packet` view stays valid after the call (the pump never reuses its bytes).
 */
export interface PacketFilter {
  fromApp(packet: Uint8Array): Emit[];
  fromPeer(packet: Uint8Array): Emit[];
}

/** What a filter factory may use besides its options. */
export interface FilterContext {
  /** Writes packets at once (e.g. from a timer the filter set); returns how many failed. */
  emit(emits: readonly Emit[]): number;
}

/** Exported by a filter module: makes the filter from JSON options, inside the worker. */
export type PacketFilterFactory = (
  options: unknown,
  ctx: FilterContext,
) => PacketFilter | Promise<PacketFilter>;

/** Where the worker finds the filter: a module (path or URL) and the factory's export. */
export interface FilterSpec {
  /** Module path (absolute), file: URL or package name; 'pass-through' is built in. */
  module: string;
  /** Name of the factory export; default `createFilter`. */
  export?: string;
  /** Structured-cloneable (JSON) options handed to the factory. */
  options?: unknown;
}

/** A TUN device to attach to: its name and the network namespace it lives in. */
export interface TunEndpoint {
  name: string;
  netns?: string;
  /** Create the device if it is missing; default false (re-attach only: fail closed). */
  create?: boolean;
}

/**
 * NFQUEUE mode: the queues the rules (in `netns`) send the app's and the peers' packets to,
 * and the SO_MARK of the injection sockets, which those rules must let through unqueued.
 */
export interface NfqueueEndpoint {
  netns?: string;
  appQueue: number;
  peerQueue: number;
  mark: number;
  /** Kernel queue length per queue (default 8192); beyond it the kernel drops. */
  maxLen?: number;
}

/** Either both TUN endpoints (TUN mode) or `nfqueue` (NFQUEUE mode). */
export interface PumpOptions {
  appTun?: TunEndpoint;
  peerTun?: TunEndpoint;
  nfqueue?: NfqueueEndpoint;
  /** Default: the built-in pass-through filter. */
  filter?: FilterSpec;
  /** Packets read from one device before looking at the other; default 64. */
  batch?: number;
  /** Longest time the worker stays in its synchronous loop before it lets timers and
   * control messages run (and the poll timeout when idle); default 5 ms. */
  sliceMs?: number;
  /** Raise both devices' transmit queues at attach time (TUN mode). */
  txqueuelen?: number;
  /** How long to wait for the worker to attach and load the filter; default 10 s. */
  startTimeoutMs?: number;
}

export interface DirectionStats {
  /** Packets and bytes read from this side. */
  packets: number;
  bytes: number;
  /** Packets from this side for which the filter emitted nothing (or threw). */
  drops: number;
}

export interface PumpStats {
  fromApp: DirectionStats;
  fromPeer: DirectionStats;
  /** Packets and bytes written to each side (NFQUEUE mode: accepted plus injected). */
  toApp: { packets: number; bytes: number };
  toPeer: { packets: number; bytes: number };
  /** NFQUEUE mode: of those, the queued packets ACCEPTed (`unchanged`: of these, without a
   * copy, the filter having left them as they were)... */
  accepted: { toApp: number; toPeer: number; unchanged: number };
  /** ...and the packets injected through the raw sockets (always 0 in TUN mode). */
  injected: { toApp: number; toPeer: number };
  /** Writes the kernel refused (device down: EIO; malformed packet: EINVAL); in NFQUEUE
   * mode also failed verdicts and receive overruns (ENOBUFS: the kernel dropped packets). */
  writeErrors: number;
  /** NFQUEUE mode: verdicts whose send failed and were replaced by a plain DROP. */
  verdictFallbacks: number;
  /** Exceptions thrown by the filter (the packet is dropped). */
  filterErrors: number;
  /** Passes through the poll loop. */
  polls: number;
}

/** The built-in filter name and a filter that forwards every packet unchanged. */
export const PASS_THROUGH = 'pass-through';

export function passThroughFilter(): PacketFilter {
  return {
    fromApp: (packet) => [{ to: 'peer', packet, unchanged: true }],
    fromPeer: (packet) => [{ to: 'app', packet, unchanged: true }],
  };
}

// Shared block: Int32 control words, then Float64 counters.
// In NFQUEUE mode APP_FD holds the netlink socket and PEER_FD / EXTRA_FD the raw sockets.
export const CTRL = { STOP: 0, APP_FD: 1, PEER_FD: 2, EXTRA_FD: 3 } as const;
export const CTRL_WORDS = 4;
/** What the main thread writes to the wake eventfd (a u64 of 1). */
const WAKE_ONE = new Uint8Array(new BigUint64Array([1n]).buffer);
export const STAT = {
  APP_PACKETS: 0,
  APP_BYTES: 1,
  APP_DROPS: 2,
  PEER_PACKETS: 3,
  PEER_BYTES: 4,
  PEER_DROPS: 5,
  TO_APP_PACKETS: 6,
  TO_APP_BYTES: 7,
  TO_PEER_PACKETS: 8,
  TO_PEER_BYTES: 9,
  WRITE_ERRORS: 10,
  FILTER_ERRORS: 11,
  POLLS: 12,
  ACCEPTED_TO_APP: 13,
  ACCEPTED_TO_PEER: 14,
  INJECTED_TO_APP: 15,
  INJECTED_TO_PEER: 16,
  VERDICT_FALLBACKS: 17,
  ACCEPTED_UNCHANGED: 18,
} as const;
export const STAT_COUNT = 19;

/** workerData of packet-pump-worker.ts. */
export interface PumpWorkerData {
  appTun?: TunEndpoint;
  peerTun?: TunEndpoint;
  nfqueue?: NfqueueEndpoint;
  filter: FilterSpec;
  batch: number;
  sliceMs: number;
  txqueuelen?: number;
  shared: SharedArrayBuffer;
  port: MessagePort;
  /** An eventfd the worker polls beside its devices: the main thread writes it after
   * posting a control message or setting STOP, so the worker answers at once instead of
   * at the end of its slice. Owned (opened, closed) by the main thread. */
  wakeFd: number;
}

/** Messages from the worker. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: ErrorInfo }
  | { type: 'fatal'; error: ErrorInfo }
  | { type: 'warning'; message: string };

/** Messages to the worker. */
export type ControlMessage = { type: 'call'; id: number; method: string; arg: unknown };

export interface ErrorInfo {
  message: string;
  code?: string;
}

/** Thrown or emitted when the pump cannot start or dies. */
export class PumpError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PumpError';
  }
}

const WORKER_URL = new URL('./packet-pump-worker.js', import.meta.url);

/**
 * A running pump. Events: 'error' (PumpError: the worker died or hit a fatal device error;
 * the devices are then detached, i.e. the path is closed), 'warning' (string: a filter
 * exception, rate-limited), 'exit' (after stop or death).
 */
export class Pump extends EventEmitter {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private stopping: Promise<void> | undefined;
  private dead = false;
  private readonly ctrl: Int32Array;
  private readonly counters: Float64Array;
  /** Resolves when the worker is gone, with the error that killed it (if any). */
  readonly exited: Promise<PumpError | undefined>;

  /** @internal use startPump() */
  constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    shared: SharedArrayBuffer,
    private readonly wakeFd: number,
    ready: { resolve: () => void; reject: (e: Error) => void },
  ) {
    super();
    this.ctrl = new Int32Array(shared, 0, CTRL_WORDS);
    this.counters = new Float64Array(shared, CTRL_WORDS * 4, STAT_COUNT);
    let fatal: PumpError | undefined;
    let started = false;
    port.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'ready':
          started = true;
          ready.resolve();
          break;
        case 'result': {
          const p = this.pending.get(m.id);
          if (!p) break;
          this.pending.delete(m.id);
          if (m.ok) p.resolve(m.value);
          else p.reject(new PumpError(m.error.code ?? 'EFILTER', m.error.message));
          break;
        }
        case 'fatal':
          fatal = new PumpError(m.error.code ?? 'EPUMP', m.error.message);
          if (!started) ready.reject(fatal);
          break;
        case 'warning':
          this.emit('warning', m.message);
          break;
      }
    });
    this.exited = new Promise((resolve) => {
      worker.on('error', (e) => {
        const code = (e as { code?: unknown }).code;
        fatal ??= new PumpError(typeof code === 'string' ? code : 'EWORKER', e.message);
      });
      worker.on('exit', (code) => {
        this.dead = true;
        this.closeLeftoverFds();
        closeSync(wakeFd);
        port.close();
        if (code !== 0 && !fatal) {
          fatal = new PumpError('EWORKER', `packet pump worker exited with code ${code}`);
        }
        if (!started) {
          ready.reject(fatal ?? new PumpError('EWORKER', 'packet pump worker exited early'));
        }
        const gone = new PumpError('ESTOPPED', 'packet pump stopped');
        for (const p of this.pending.values()) p.reject(fatal ?? gone);
        this.pending.clear();
        resolve(fatal);
        if (fatal && started && !this.stopping) this.emit('error', fatal);
        this.emit('exit', fatal);
      });
    });
  }

  /** Is the worker still running? */
  get running(): boolean {
    return !this.dead;
  }

  /** A snapshot of the counters. */
  stats(): PumpStats {
    const s = this.counters;
    return {
      fromApp: {
        packets: s[STAT.APP_PACKETS]!,
        bytes: s[STAT.APP_BYTES]!,
        drops: s[STAT.APP_DROPS]!,
      },
      fromPeer: {
        packets: s[STAT.PEER_PACKETS]!,
        bytes: s[STAT.PEER_BYTES]!,
        drops: s[STAT.PEER_DROPS]!,
      },
      toApp: { packets: s[STAT.TO_APP_PACKETS]!, bytes: s[STAT.TO_APP_BYTES]! },
      toPeer: { packets: s[STAT.TO_PEER_PACKETS]!, bytes: s[STAT.TO_PEER_BYTES]! },
      accepted: {
        toApp: s[STAT.ACCEPTED_TO_APP]!,
        toPeer: s[STAT.ACCEPTED_TO_PEER]!,
        unchanged: s[STAT.ACCEPTED_UNCHANGED]!,
      },
      injected: { toApp: s[STAT.INJECTED_TO_APP]!, toPeer: s[STAT.INJECTED_TO_PEER]! },
      writeErrors: s[STAT.WRITE_ERRORS]!,
      verdictFallbacks: s[STAT.VERDICT_FALLBACKS]!,
      filterErrors: s[STAT.FILTER_ERRORS]!,
      polls: s[STAT.POLLS]!,
    };
  }

  /**
   * Calls `filter[method](arg)` in the worker (between packets) and resolves with its
   * (awaited) result. If the result has an `emits` array, those packets are written first
   * and the field is left out of the answer.
   */
  call<T = unknown>(method: string, arg?: unknown): Promise<T> {
    if (this.dead || this.stopping) {
      return Promise.reject(new PumpError('ESTOPPED', `packet pump is stopped (call ${method})`));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const msg: ControlMessage = { type: 'call', id, method, arg };
      this.port.postMessage(msg);
      this.wake();
    });
  }

  /** Ends the worker's poll now (see PumpWorkerData.wakeFd). */
  private wake(): void {
    if (this.dead) return;
    try {
      writeSync(this.wakeFd, WAKE_ONE);
    } catch {
      // The counter cannot overflow from these writes; the slice ends anyway.
    }
  }

  /**
   * Stops the loop: the worker detaches both devices and exits. Persistent devices stay and
   * drop traffic until a new pump attaches (NFQUEUE mode: the queues are unbound and the
   * kernel drops what the rules send there). Terminates the worker after `timeoutMs`.
   */
  stop(timeoutMs = 2000): Promise<void> {
    this.stopping ??= (async () => {
      if (this.dead) return;
      Atomics.store(this.ctrl, CTRL.STOP, 1);
      this.wake();
      const timer = setTimeout(() => void this.worker.terminate(), timeoutMs);
      try {
        await this.exited;
      } finally {
        clearTimeout(timer);
      }
    })();
    return this.stopping;
  }

  /** The worker clears an fd's slot when it closes it; a killed worker cannot. */
  private closeLeftoverFds(): void {
    for (const slot of [CTRL.APP_FD, CTRL.PEER_FD, CTRL.EXTRA_FD]) {
      const fd = Atomics.exchange(this.ctrl, slot, -1);
      if (fd >= 0) {
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
      }
    }
  }
}

/**
 * Starts a pump and resolves once both devices are attached (or both queues bound) and the
 * filter is loaded.
 */
export async function startPump(opts: PumpOptions): Promise<Pump> {
  const tun = opts.appTun !== undefined || opts.peerTun !== undefined;
  if (opts.nfqueue ? tun : !(opts.appTun && opts.peerTun)) {
    throw new PumpError(
      'EINVAL',
      'packet pump: give either appTun and peerTun (TUN mode) or nfqueue (NFQUEUE mode)',
    );
  }
  if (opts.nfqueue) {
    try {
      checkInjectionMark(opts.nfqueue.mark);
    } catch (e) {
      throw new PumpError('EINVAL', `packet pump: ${(e as Error).message}`);
    }
  }
  const shared = new SharedArrayBuffer(CTRL_WORDS * 4 + STAT_COUNT * 8);
  const ctrl = new Int32Array(shared, 0, CTRL_WORDS);
  ctrl[CTRL.APP_FD] = -1;
  ctrl[CTRL.PEER_FD] = -1;
  ctrl[CTRL.EXTRA_FD] = -1;
  const { port1, port2 } = new MessageChannel();
  const c = libc();
  const wakeFd = c.eventfd(0, EFD.NONBLOCK | EFD.CLOEXEC);
  if (wakeFd < 0) {
    const errno = c.errno();
    throw new PumpError('EWAKEFD', `packet pump: eventfd: ${c.strerror(errno)}`);
  }
  const data: PumpWorkerData = {
    appTun: opts.appTun,
    peerTun: opts.peerTun,
    nfqueue: opts.nfqueue,
    filter: opts.filter ?? { module: PASS_THROUGH },
    batch: opts.batch ?? 64,
    sliceMs: opts.sliceMs ?? 5,
    txqueuelen: opts.txqueuelen,
    shared,
    port: port2,
    wakeFd,
  };
  let worker: Worker;
  try {
    worker = new Worker(WORKER_URL, { workerData: data, transferList: [port2] });
  } catch (e) {
    closeSync(wakeFd);
    throw e;
  }
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const pump = new Pump(worker, port1, shared, wakeFd, { resolve, reject });
  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(
      () => rej(new PumpError('ETIMEDOUT', `packet pump did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([ready, timeout]);
  } catch (e) {
    await pump.stop(500);
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return pump;
}
