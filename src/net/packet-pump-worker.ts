// The packet pump's worker thread (see packet-pump.ts): attaches the two TUN devices, loads
// the filter, then loops — poll both fds, read a batch from each readable one, run the
// filter, write what it emits. The loop is synchronous for speed and hands control back
// to the event loop every `sliceMs`, or at once when the main thread writes the wake eventfd
// (a control call, STOP), so filter timers and control calls run.
//
// NFQUEUE mode: the same loop over one netlink socket bound to the app's and the peers'
// queues; filter results become verdicts (nfqueue-verdict.ts) and raw-socket injections
// (see packet-pump.ts). Verdicts go out in batches, several netlink messages per send
// (the kernel takes them in order): the batch is sent when a receive finds the queue
// empty or the drain's batch is done, when it is full, and before anything is injected,
// so that packets leave in the order the filter emitted them.

import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { workerData } from 'node:worker_threads';
import {
  CTRL,
  CTRL_WORDS,
  PASS_THROUGH,
  passThroughFilter,
  STAT,
  STAT_COUNT,
  type ControlMessage,
  type Emit,
  type ErrorInfo,
  type FilterContext,
  type PacketFilter,
  type PacketFilterFactory,
  type PumpWorkerData,
  type Side,
  type WorkerMessage,
} from './packet-pump.js';
import { ERRNO, libc, pollfds, revents } from './libc.js';
import { decodeError, NLMSG, splitMessages } from './netlink.js';
import {
  decodePacket,
  MAX_VERDICT_PAYLOAD,
  NF_VERDICT,
  NFQNL_MSG,
  nfqType,
  type QueuedPacket,
} from './nfqueue-codec.js';
import { NfQueueSocket, RawInjector } from './nfqueue.js';
import { decideVerdict, VerdictBatch, type SentVerdict } from './nfqueue-verdict.js';
import { pollDevices, TunDevice } from './tun.js';

const data = workerData as PumpWorkerData;
const port = data.port;
const ctrl = new Int32Array(data.shared, 0, CTRL_WORDS);
const stats = new Float64Array(data.shared, CTRL_WORDS * 4, STAT_COUNT);

const post = (m: WorkerMessage): void => port.postMessage(m);
const errorInfo = (e: unknown): ErrorInfo =>
  e instanceof Error
    ? { message: e.message, code: (e as { code?: unknown }).code as string | undefined }
    : { message: String(e) };

// Packets are read into large slabs and handed out as views, so a filter may keep one
// without copying; a slab is replaced (not reused) when its tail is too short.
const SLAB_BYTES = 4 << 20;
const MAX_PACKET = 65536;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabOff = 0;

let app: TunDevice | undefined;
let peer: TunDevice | undefined;
// NFQUEUE mode.
let nfq: NfQueueSocket | undefined;
let injector: RawInjector | undefined;
const NFQ_PACKET = nfqType(NFQNL_MSG.PACKET);
/** A netlink datagram: the largest payload plus its headers and attributes. */
const NL_MAX = MAX_PACKET + 512;
const { EAGAIN, ENOBUFS } = ERRNO;
let filter: PacketFilter;
let warnings = 0;
let lastWarningAt = 0;

function warn(message: string): void {
  // At most a few per second: a filter that throws on every packet must not flood.
  const now = Date.now();
  if (now - lastWarningAt > 1000) warnings = 0;
  if (warnings++ >= 5) return;
  lastWarningAt = now;
  post({ type: 'warning', message });
}

/** Writes emitted packets; returns how many failed. */
function writeEmits(emits: readonly Emit[]): number {
  if (injector) return injectEmits(emits, 0);
  let failed = 0;
  for (let i = 0; i < emits.length; i++) {
    const e = emits[i]!;
    const toApp = e.to === 'app';
    const dev = toApp ? app! : peer!;
    const n = dev.write(e.packet);
    if (n < 0) {
      failed++;
      stats[STAT.WRITE_ERRORS]!++;
      if (n !== -EAGAIN) warn(dev.errorFor(`write of ${e.packet.length} bytes`, -n).message);
      continue;
    }
    if (toApp) {
      stats[STAT.TO_APP_PACKETS]!++;
      stats[STAT.TO_APP_BYTES]! += n;
    } else {
      stats[STAT.TO_PEER_PACKETS]!++;
      stats[STAT.TO_PEER_BYTES]! += n;
    }
  }
  return failed;
}

/** Sends emits[from..] through the raw sockets (NFQUEUE mode); returns how many failed. */
function injectEmits(emits: readonly Emit[], from: number): number {
  flushVerdicts(); // the verdicts of packets emitted before these go first
  let failed = 0;
  for (let i = from; i < emits.length; i++) {
    const e = emits[i]!;
    const n = injector!.send(e.packet);
    if (n < 0) {
      failed++;
      stats[STAT.WRITE_ERRORS]!++;
      if (n !== -EAGAIN) warn(injector!.errorFor(`inject ${e.packet.length} bytes`, -n).message);
      continue;
    }
    countTo(e.to, n);
    stats[e.to === 'app' ? STAT.INJECTED_TO_APP : STAT.INJECTED_TO_PEER]!++;
  }
  return failed;
}

function countTo(to: Emit['to'], n: number): void {
  if (to === 'app') {
    stats[STAT.TO_APP_PACKETS]!++;
    stats[STAT.TO_APP_BYTES]! += n;
  } else {
    stats[STAT.TO_PEER_PACKETS]!++;
    stats[STAT.TO_PEER_BYTES]! += n;
  }
}

/** Receives and filters up to `batch` netlink datagrams (NFQUEUE mode), then sends the
 * verdicts. */
function drainQueue(batch: number): void {
  try {
    receiveQueued(batch);
  } finally {
    if (nfq && !nfq.isClosed) flushVerdicts();
  }
}

function receiveQueued(batch: number): void {
  const q = nfq!;
  for (let i = 0; i < batch; i++) {
    if (SLAB_BYTES - slabOff < NL_MAX) {
      slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      slabOff = 0;
    }
    const buf = slab.subarray(slabOff, slabOff + NL_MAX);
    const n = q.recv(buf);
    if (n < 0) {
      if (n === -EAGAIN) return;
      if (n === -ENOBUFS) {
        // Our receive buffer overflowed: the kernel dropped packets (TCP resends them).
        stats[STAT.WRITE_ERRORS]!++;
        warn(q.errorFor('receive buffer overrun, the kernel dropped packets', ENOBUFS).message);
        continue;
      }
      throw q.errorFor('recv', -n);
    }
    slabOff += (n + 7) & ~7;
    onDatagram(buf.subarray(0, n));
  }
}

/** Every message of one netlink datagram: packets to filter, errors of our verdicts. */
function onDatagram(d: Uint8Array): void {
  for (const m of splitMessages(d, true)) {
    if (m.type === NFQ_PACKET) onQueued(decodePacket(m.payload));
    else if (m.type === NLMSG.ERROR) {
      const ack = decodeError(m.payload, m.flags);
      if (ack && ack.errno !== 0) {
        stats[STAT.WRITE_ERRORS]!++;
        const why = ack.text ? ` (${ack.text})` : '';
        warn(nfq!.errorFor(`the kernel refused a verdict${why}`, ack.errno).message);
      }
    }
  }
}

/**
 * One queued packet: filter it, send the verdict decideVerdict picks (ACCEPT with the
 * rewritten packet, or DROP), and inject the other emits.
 */
function onQueued(p: QueuedPacket): void {
  const a = data.nfqueue!;
  const fromApp = p.queue === a.appQueue;
  if (!fromApp && p.queue !== a.peerQueue) {
    queueVerdict(p, NF_VERDICT.DROP, undefined, 'app');
    return;
  }
  const from: Side = fromApp ? 'app' : 'peer';
  const packet = p.payload;
  const pIdx = fromApp ? STAT.APP_PACKETS : STAT.PEER_PACKETS;
  stats[pIdx]!++;
  stats[pIdx + 1]! += packet.length;
  let emits: Emit[] | undefined;
  if (p.capLen !== undefined) {
    warn(`NFQUEUE packet of ${p.capLen} bytes was cut to ${packet.length}: dropped`);
  } else {
    try {
      emits = fromApp ? filter.fromApp(packet) : filter.fromPeer(packet);
    } catch (e) {
      stats[STAT.FILTER_ERRORS]!++;
      warn(`filter threw on a packet from the ${from}: ${errorInfo(e).message}`);
    }
  }
  if (!emits || emits.length === 0) stats[pIdx + 2]!++;
  const d = decideVerdict(packet, from, emits);
  const to: Side = fromApp ? 'peer' : 'app';
  queueVerdict(p, d.verdict, d.payload, to, (d.payload ?? packet).length);
  if (emits && emits.length > d.injectFrom) injectEmits(emits, d.injectFrom);
}

/** Room for the largest verdict (VERDICT_HDRLEN + 64 KiB payload) and then some. */
const verdicts = new VerdictBatch(256 << 10);

/** Adds a verdict to the batch (sending the batch first if it is full). */
function queueVerdict(
  p: QueuedPacket,
  verdict: number,
  payload: Uint8Array | undefined,
  to: Side,
  bytes = 0,
): void {
  if (payload && payload.length > MAX_VERDICT_PAYLOAD) {
    // Cannot be encoded: the packet is dropped (TCP resends it), and that is counted.
    warn(`verdict for packet ${p.id} of queue ${p.queue}: a payload of ${payload.length} bytes`);
    stats[STAT.WRITE_ERRORS]!++;
    stats[STAT.VERDICT_FALLBACKS]!++;
    return queueVerdict(p, NF_VERDICT.DROP, undefined, to);
  }
  const v = { queue: p.queue, id: p.id, verdict, to, bytes };
  if (verdicts.add(v, payload)) return;
  flushVerdicts();
  verdicts.add(v, payload);
}

/** Sends the batch; a verdict that cannot be sent gets a plain DROP instead (counted). */
function flushVerdicts(): void {
  verdicts.flush(sendVerdicts, verdictSent, verdictFailed);
}

const sendVerdicts = (buf: Uint8Array, len: number): number => nfq!.send(buf, len);

function verdictSent(v: SentVerdict): void {
  if (v.verdict !== NF_VERDICT.ACCEPT) return;
  countTo(v.to, v.bytes);
  stats[v.to === 'peer' ? STAT.ACCEPTED_TO_PEER : STAT.ACCEPTED_TO_APP]!++;
  if (v.unchanged) stats[STAT.ACCEPTED_UNCHANGED]!++;
}

function verdictFailed(v: SentVerdict, errno: number): void {
  const q = nfq!;
  stats[STAT.WRITE_ERRORS]!++;
  stats[STAT.VERDICT_FALLBACKS]!++;
  warn(q.errorFor(`verdict for packet ${v.id} of queue ${v.queue}`, errno).message);
  const r = q.verdict(v.queue, v.id, NF_VERDICT.DROP);
  if (r !== 0) warn(q.errorFor(`fallback DROP for packet ${v.id} of queue ${v.queue}`, -r).message);
}

/** Reads and filters up to `batch` packets from one side (fewer when its queue empties). */
function drain(fromApp: boolean, batch: number): void {
  const dev = fromApp ? app! : peer!;
  const pIdx = fromApp ? STAT.APP_PACKETS : STAT.PEER_PACKETS;
  for (let i = 0; i < batch; i++) {
    if (SLAB_BYTES - slabOff < MAX_PACKET) {
      slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      slabOff = 0;
    }
    const n = dev.read(slab.subarray(slabOff, slabOff + MAX_PACKET));
    if (n <= 0) {
      if (n === -EAGAIN || n === 0) return;
      throw dev.errorFor('read', -n);
    }
    const packet = slab.subarray(slabOff, slabOff + n);
    slabOff += (n + 7) & ~7;
    stats[pIdx]!++;
    stats[pIdx + 1]! += n;
    let emits: Emit[] | undefined;
    try {
      emits = fromApp ? filter.fromApp(packet) : filter.fromPeer(packet);
    } catch (e) {
      stats[STAT.FILTER_ERRORS]!++;
      stats[pIdx + 2]!++;
      warn(
        `filter threw on a packet from the ${fromApp ? 'app' : 'peer'}: ${errorInfo(e).message}`,
      );
      continue;
    }
    if (!emits || emits.length === 0) stats[pIdx + 2]!++;
    else writeEmits(emits);
  }
}

function closeDevices(): void {
  for (const [dev, slot] of [
    [app, CTRL.APP_FD],
    [peer, CTRL.PEER_FD],
  ] as const) {
    if (!dev || dev.isClosed) continue;
    // Clear the slot first: the main thread closes what is left in it after we exit.
    Atomics.store(ctrl, slot, -1);
    dev.close();
  }
  if (nfq && !nfq.isClosed) {
    Atomics.store(ctrl, CTRL.APP_FD, -1);
    nfq.close();
  }
  if (injector && !injector.isClosed) {
    Atomics.store(ctrl, CTRL.PEER_FD, -1);
    Atomics.store(ctrl, CTRL.EXTRA_FD, -1);
    injector.close();
  }
}

/** Are the outputs (devices or injection sockets) attached? */
function outputsOpen(): boolean {
  return injector ? !injector.isClosed : app !== undefined && !app.isClosed;
}

/** Detaches (the path fails closed), reports, and ends the worker with the error. */
function fatal(e: unknown): void {
  closeDevices();
  post({ type: 'fatal', error: errorInfo(e) });
  port.close();
  // Uncaught, so the Worker's 'error' event carries it even if the port message is late.
  process.nextTick(() => {
    throw e instanceof Error ? e : new Error(String(e));
  });
}

async function loadFilter(ctx: FilterContext): Promise<PacketFilter> {
  const spec = data.filter;
  if (spec.module === PASS_THROUGH) return passThroughFilter();
  const url = isAbsolute(spec.module) ? pathToFileURL(spec.module).href : spec.module;
  const mod = (await import(url)) as Record<string, unknown>;
  const name = spec.export ?? 'createFilter';
  const factory = mod[name];
  if (typeof factory !== 'function') {
    throw new Error(`filter module ${spec.module} has no function export "${name}"`);
  }
  const f = (await (factory as PacketFilterFactory)(spec.options, ctx)) as Partial<PacketFilter>;
  if (typeof f?.fromApp !== 'function' || typeof f.fromPeer !== 'function') {
    throw new Error(`filter from ${spec.module}#${name} lacks fromApp/fromPeer methods`);
  }
  return f as PacketFilter;
}

async function onControl(m: ControlMessage): Promise<void> {
  if (m.type !== 'call') return;
  try {
    const target = (filter as unknown as Record<string, unknown>)[m.method];
    if (typeof target !== 'function') throw new Error(`the filter has no method "${m.method}"`);
    let value = (await (target as (a: unknown) => unknown).call(filter, m.arg)) as unknown;
    if (value !== null && typeof value === 'object' && 'emits' in value) {
      const { emits, ...rest } = value as { emits?: unknown };
      if (Array.isArray(emits) && outputsOpen()) writeEmits(emits as Emit[]);
      value = rest;
    }
    post({ type: 'result', id: m.id, ok: true, value });
  } catch (e) {
    post({ type: 'result', id: m.id, ok: false, error: errorInfo(e) });
  }
}

/**
 * The loop: `step(waitMs)` polls the fds for up to `waitMs` and drains what is readable;
 * the loop repeats it for `sliceMs`, or until the main thread wakes it (a control call,
 * STOP), then yields to the event loop (filter timers, control calls) and goes on, until
 * the main thread sets STOP.
 */
function run(step: (waitMs: number) => boolean): void {
  const { sliceMs } = data;
  const slice = (): void => {
    try {
      const end = performance.now() + sliceMs;
      for (;;) {
        if (Atomics.load(ctrl, CTRL.STOP) !== 0) {
          closeDevices();
          port.close();
          return;
        }
        const woken = step(Math.max(0, Math.ceil(end - performance.now())));
        stats[STAT.POLLS]!++;
        if (woken || performance.now() >= end) break;
      }
    } catch (e) {
      fatal(e);
      return;
    }
    setImmediate(slice);
  };
  slice();
}

/**
 * `fds` and the wake eventfd (last) as a pollfd array, and a check of the wake entry that
 * empties the eventfd when it fired: the step then returns true, ending the slice so the
 * event loop delivers the main thread's message (or the loop sees STOP) at once.
 */
function withWake(fds: readonly number[]): { pfds: Uint8Array; woken: () => boolean } {
  const { wakeFd } = data;
  const c = libc();
  const buf = new Uint8Array(8);
  const pfds = pollfds([...fds, wakeFd]);
  return {
    pfds,
    woken: () => {
      if (revents(pfds, fds.length) === 0) return false;
      c.read(wakeFd, buf, 8);
      return true;
    },
  };
}

/** TUN mode's step: poll both devices, read a batch from each readable one. */
function tunStep(): (waitMs: number) => boolean {
  const devs = [app!, peer!];
  const { pfds, woken } = withWake(devs.map((d) => d.fd));
  const { batch } = data;
  return (waitMs) => {
    const mask = pollDevices(devs, waitMs, pfds);
    if (mask & 1) drain(true, batch);
    if (mask & 2) drain(false, batch);
    return woken();
  };
}

/** NFQUEUE mode's step: poll the netlink socket, receive a batch of datagrams. */
function queueStep(): (waitMs: number) => boolean {
  const q = nfq!;
  const { pfds, woken } = withWake([q.fd]);
  const { batch } = data;
  return (waitMs) => {
    if (q.poll(waitMs, pfds) && revents(pfds, 0) !== 0) drainQueue(batch);
    return woken();
  };
}

async function main(): Promise<void> {
  const ctx: FilterContext = {
    emit: (emits) => (outputsOpen() ? writeEmits(emits) : emits.length),
  };
  try {
    if (data.nfqueue) {
      const n = data.nfqueue;
      // Injection first: once a queue is bound, its packets may need it.
      injector = RawInjector.open({ netns: n.netns, mark: n.mark });
      Atomics.store(ctrl, CTRL.PEER_FD, injector.fd4);
      Atomics.store(ctrl, CTRL.EXTRA_FD, injector.fd6);
      nfq = NfQueueSocket.open({
        queues: [n.appQueue, n.peerQueue],
        netns: n.netns,
        maxLen: n.maxLen,
      });
      Atomics.store(ctrl, CTRL.APP_FD, nfq.fd);
      filter = await loadFilter(ctx);
      // Packets that arrived while the second queue was being bound.
      for (const payload of nfq.backlog.splice(0)) onQueued(decodePacket(payload));
      flushVerdicts(); // not held until the next packet arrives
      port.on('message', (m: ControlMessage) => void onControl(m));
      post({ type: 'ready' });
      run(queueStep());
      return;
    }
    const open = (ep: NonNullable<PumpWorkerData['appTun']>): TunDevice =>
      TunDevice.open({
        name: ep.name,
        netns: ep.netns,
        create: ep.create ?? false,
        txqueuelen: data.txqueuelen,
      });
    app = open(data.appTun!);
    Atomics.store(ctrl, CTRL.APP_FD, app.fd);
    peer = open(data.peerTun!);
    Atomics.store(ctrl, CTRL.PEER_FD, peer.fd);
    filter = await loadFilter(ctx);
    // Ready means packets routed to either device reach us: the kernel activates a
    // device's transmit queue asynchronously after the attach (tun.ts isRunning).
    for (const d of [app, peer]) {
      if (!d.waitRunning(2000)) {
        warn(
          `TUN ${d.name} is not running after 2 s: packets routed to it are dropped until it is`,
        );
      }
    }
  } catch (e) {
    fatal(e);
    return;
  }
  port.on('message', (m: ControlMessage) => void onControl(m));
  post({ type: 'ready' });
  run(tunStep());
}

void main();
