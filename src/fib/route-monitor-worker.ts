// The worker thread of RouteMonitor (route-monitor.ts): one rtnetlink socket per watched
// namespace, each bound to the IPv4 and IPv6 route multicast groups and opened inside its
// namespace (NetlinkSocket's `netns`: setns(2) on this thread for the socket() call only).
// The loop blocks in poll(2) on all of them (100 ms at most, so a stop request is seen) and
// posts what it read, a batch per wake-up, each stamped with CLOCK_MONOTONIC milliseconds
// (process.hrtime, comparable between processes on one machine).
//
// Per namespace: first a dump of the main table (posted as one `snapshot`, the multicast
// events read meanwhile queued and posted after it, in kernel order, so replaying them on
// the snapshot converges on the table); then every RTM_NEWROUTE / RTM_DELROUTE of that table
// as a `route`. A receive overrun (ENOBUFS: the kernel dropped notifications) starts a new
// dump, so a lost notification costs a resynchronisation, never a wrong mirror.

import { parentPort, workerData } from 'node:worker_threads';
import { monotonicMs as monoMs } from '../lib/clock.js';
import { formatAddr } from '../lib/ip.js';
import { ERRNO } from '../net/libc.js';
import { NETLINK_ROUTE, NetlinkSocket } from './netlink-socket.js';
import {
  AF,
  NLMSG,
  NLM_F,
  NlWriter,
  RTM,
  decodeRoute,
  encodeRouteDump,
  splitMessages,
  type RouteMsg,
} from './rtnetlink.js';
import type { MonitorMessage, MonitorWorkerData, MonitoredRoute } from './route-monitor.js';

const RTMGRP_IPV4_ROUTE = 0x40;
const RTMGRP_IPV6_ROUTE = 0x400;
const { ENOBUFS, EAGAIN, EINTR } = ERRNO;
const MSG_DONTWAIT = 0x40;

const data = workerData as MonitorWorkerData;
const port = parentPort!;
const stop = new Int32Array(data.stop);
const exclude = new Set(data.excludeProtocols);

interface Watch {
  readonly n: number;
  readonly sock: NetlinkSocket;
  /** Dump in progress: its sequence numbers still open, its routes, events queued meanwhile. */
  dump?: { open: Set<number>; routes: MonitoredRoute[]; queued: MonitorMessage[] };
}

let seq = 1;
const w = new NlWriter();

function startDump(x: Watch): void {
  const open = new Set<number>();
  for (const family of [AF.INET, AF.INET6]) {
    w.reset();
    const s = seq++;
    encodeRouteDump(w, s, family, data.table, 0);
    x.sock.send(w.bytes());
    open.add(s);
  }
  x.dump = { open, routes: [], queued: [] };
}

function route(m: RouteMsg): MonitoredRoute | undefined {
  if (m.table !== data.table || exclude.has(m.protocol)) return undefined;
  const len = m.family === AF.INET ? 4 : 16;
  const dst = m.dst ?? new Uint8Array(len);
  if (m.family === AF.INET6 && dst[0] === 0xfe && (dst[1]! & 0xc0) === 0x80) return undefined;
  const gateways = [
    ...new Set(m.nextHops.flatMap((h) => (h.gateway ? [formatAddr(h.gateway)] : []))),
  ].sort();
  return { prefix: `${formatAddr(dst)}/${m.dstLen}`, gateways, protocol: m.protocol };
}

function read(x: Watch, buf: Uint8Array, out: MonitorMessage[]): void {
  for (;;) {
    const n = x.sock.recv(buf, MSG_DONTWAIT);
    if (n < 0) {
      if (-n === EAGAIN || -n === EINTR) return;
      if (-n === ENOBUFS) {
        startDump(x);
        continue;
      }
      throw new Error(`route monitor (namespace ${x.n}): ${x.sock.errnoInfo(-n).text}`);
    }
    const t = monoMs();
    for (const m of splitMessages(buf.subarray(0, n))) {
      const d = x.dump;
      // A dump's answers are multi-part; a notification caused by another process's request
      // carries that request's sequence number, so the number alone does not tell.
      const ofDump =
        (m.flags & NLM_F.MULTI) !== 0 || m.type === NLMSG.DONE || m.type === NLMSG.ERROR;
      if (d && ofDump && d.open.has(m.seq)) {
        if (m.type === NLMSG.DONE || m.type === NLMSG.ERROR) d.open.delete(m.seq);
        else if (m.type === RTM.NEWROUTE) {
          const r = decodeRoute(m.payload);
          const mr = r && route(r);
          if (mr) d.routes.push(mr);
        }
        if (d.open.size === 0) {
          out.push({ type: 'snapshot', n: x.n, routes: d.routes, t }, ...d.queued);
          x.dump = undefined;
        }
        continue;
      }
      if (m.type !== RTM.NEWROUTE && m.type !== RTM.DELROUTE) continue;
      const r = decodeRoute(m.payload);
      const mr = r && route(r);
      if (!mr) continue;
      const ev: MonitorMessage = {
        type: 'route',
        n: x.n,
        add: m.type === RTM.NEWROUTE,
        route: mr,
        t,
      };
      if (x.dump) x.dump.queued.push(ev);
      else out.push(ev);
    }
  }
}

async function main(): Promise<void> {
  const watches: Watch[] = [];
  for (const [n, ns] of data.namespaces.entries()) {
    const sock = await NetlinkSocket.open(NETLINK_ROUTE, 8 << 20, {
      groups: RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
      ...(ns ? { netns: ns } : {}),
    });
    const x: Watch = { n, sock };
    watches.push(x);
    startDump(x);
  }
  port.postMessage({ type: 'ready' } satisfies MonitorMessage);
  const buf = new Uint8Array(1 << 20);
  const socks = watches.map((x) => x.sock);
  while (Atomics.load(stop, 0) === 0) {
    const ready = NetlinkSocket.poll(socks, 100);
    if (ready.length === 0) continue;
    const out: MonitorMessage[] = [];
    for (const x of watches) if (ready.includes(x.sock)) read(x, buf, out);
    if (out.length > 0) port.postMessage(out.length === 1 ? out[0] : { type: 'batch', items: out });
  }
  for (const s of socks) s.close();
}

main().catch((e: unknown) => {
  port.postMessage({
    type: 'error',
    message: e instanceof Error ? e.message : String(e),
  } satisfies MonitorMessage);
});
