// Follows kernel routing tables as they change, in this or other network namespaces, from a
// worker thread (route-monitor-worker.ts: rtnetlink multicast, blocking poll(2)). Used where
// a table must be watched, not polled: the FIB vote of a router of real daemons (each
// replica's table, src/lab/btr-fib.ts) and the FIB pass-through benchmark (the router's
// table). Events carry CLOCK_MONOTONIC milliseconds taken when the notification was read.
//
// Per namespace the handler sees one `snapshot` of the table first (and again after a
// receive overrun), then each route added or deleted. Routes of protocols in
// `excludeProtocols` (by default connected, boot, static, router advertisement and DHCP
// routes: configuration, not routing) and IPv6 link-local destinations are left out.

import { Worker } from 'node:worker_threads';

export interface MonitoredRoute {
  /** "198.51.100.0/24", "2001:db8::/32", "0.0.0.0/0". */
  readonly prefix: string;
  /** Next-hop gateways, sorted, deduplicated (empty: a device route or a blackhole). */
  readonly gateways: readonly string[];
  readonly protocol: number;
}

/** What the worker posts (internal). */
export type MonitorMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'batch'; readonly items: readonly MonitorMessage[] }
  | {
      readonly type: 'snapshot';
      readonly n: number;
      readonly routes: readonly MonitoredRoute[];
      readonly t: number;
    }
  | {
      readonly type: 'route';
      readonly n: number;
      readonly add: boolean;
      readonly route: MonitoredRoute;
      readonly t: number;
    };

/** The worker's start data (internal). */
export interface MonitorWorkerData {
  readonly namespaces: readonly (string | null)[];
  readonly table: number;
  readonly excludeProtocols: readonly number[];
  /** Int32 flag: non-zero asks the worker to stop. */
  readonly stop: SharedArrayBuffer;
}

export interface RouteMonitorHandlers {
  /** The whole table of namespace `n` (index into `namespaces`). */
  readonly snapshot: (n: number, routes: readonly MonitoredRoute[], t: number) => void;
  /** One route added (or replaced) or deleted. */
  readonly route: (n: number, add: boolean, route: MonitoredRoute, t: number) => void;
  /** The worker failed; the monitor has stopped. */
  readonly error?: (e: Error) => void;
}

export interface RouteMonitorOptions {
  /** Namespace paths (`/run/netns/NAME`); undefined: this process's namespace. */
  readonly namespaces: readonly (string | undefined)[];
  /** Routing table (default 254, main). */
  readonly table?: number;
  /** Default: kernel 2, boot 3, static 4, ra 9, dhcp 16. */
  readonly excludeProtocols?: readonly number[];
}

export const CONFIG_PROTOCOLS: readonly number[] = [2, 3, 4, 9, 16];

/** The path of a named namespace (`ip netns add NAME`). */
export const netnsPath = (name: string): string => `/run/netns/${name}`;

export class RouteMonitor {
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    private readonly stopFlag: Int32Array,
  ) {}

  /** Starts watching; resolves once every socket is open and subscribed. */
  static start(o: RouteMonitorOptions, h: RouteMonitorHandlers): Promise<RouteMonitor> {
    const stop = new SharedArrayBuffer(4);
    const data: MonitorWorkerData = {
      namespaces: o.namespaces.map((n) => n ?? null),
      table: o.table ?? 254,
      excludeProtocols: o.excludeProtocols ?? CONFIG_PROTOCOLS,
      stop,
    };
    const worker = new Worker(new URL('./route-monitor-worker.js', import.meta.url), {
      workerData: data,
    });
    const m = new RouteMonitor(worker, new Int32Array(stop));
    return new Promise((resolve, reject) => {
      let ready = false;
      const deliver = (msg: MonitorMessage): void => {
        switch (msg.type) {
          case 'batch':
            for (const x of msg.items) deliver(x);
            return;
          case 'snapshot':
            return h.snapshot(msg.n, msg.routes, msg.t);
          case 'route':
            return h.route(msg.n, msg.add, msg.route, msg.t);
          case 'ready':
            ready = true;
            return resolve(m);
          case 'error': {
            const e = new Error(msg.message);
            m.closed = true;
            void worker.terminate();
            if (!ready) reject(e);
            else h.error?.(e);
          }
        }
      };
      worker.on('message', deliver);
      worker.on('error', (e) => {
        m.closed = true;
        if (!ready) reject(e);
        else h.error?.(e);
      });
    });
  }

  /** Stops the worker (within its 100 ms poll). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.stopFlag, 0, 1);
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => void this.worker.terminate().then(() => resolve()), 2000);
      this.worker.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
