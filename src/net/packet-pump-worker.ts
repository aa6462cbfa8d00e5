// The packet pump's worker thread (see packet-pump.ts): attaches the two TUN devices, loads
// the filter, then loops — poll both fds, read a batch from each readable one, run the
// filter, write what it emits. The loop is synchronous for speed and hands control back
// to the event loop every `sliceMs` so filter timers and control calls can run.

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
  type WorkerMessage,
} from './packet-pump.js';
import { pollDevices, pollfdArray, TunDevice } from './tun.js';

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
let filter: PacketFilter;
let warnings = 0;
let lastWarningAt = 0;
const EAGAIN = 11;

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
      if (Array.isArray(emits) && app && !app.isClosed) writeEmits(emits as Emit[]);
      value = rest;
    }
    post({ type: 'result', id: m.id, ok: true, value });
  } catch (e) {
    post({ type: 'result', id: m.id, ok: false, error: errorInfo(e) });
  }
}

function run(): void {
  const devs = [app!, peer!];
  const pfds = pollfdArray(devs);
  const { batch, sliceMs } = data;
  const slice = (): void => {
    try {
      const end = performance.now() + sliceMs;
      for (;;) {
        if (Atomics.load(ctrl, CTRL.STOP) !== 0) {
          closeDevices();
          port.close();
          return;
        }
        const wait = Math.max(0, Math.ceil(end - performance.now()));
        const mask = pollDevices(devs, wait, pfds);
        stats[STAT.POLLS]!++;
        if (mask & 1) drain(true, batch);
        if (mask & 2) drain(false, batch);
        if (performance.now() >= end) break;
      }
    } catch (e) {
      fatal(e);
      return;
    }
    setImmediate(slice);
  };
  slice();
}

async function main(): Promise<void> {
  const ctx: FilterContext = {
    emit: (emits) => (app && !app.isClosed ? writeEmits(emits) : emits.length),
  };
  try {
    const open = (ep: PumpWorkerData['appTun']): TunDevice =>
      TunDevice.open({
        name: ep.name,
        netns: ep.netns,
        create: ep.create ?? false,
        txqueuelen: data.txqueuelen,
      });
    app = open(data.appTun);
    Atomics.store(ctrl, CTRL.APP_FD, app.fd);
    peer = open(data.peerTun);
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
  run();
}

void main();
