// The TCPR filter as the packet pump runs it: TcprFilter plus the UDP side channel of
// spec §2.5, taken out of the application's packet stream (decision E15: a dedicated
// address and port that nobody owns; the topology routes it into the app's TUN).
//
// Loaded by module path in the pump's worker (`createFilter(options, ctx)`, options are
// JSON). Runs on the packet thread, so it may not open sockets: replies and E9 notices are
// UDP packets it builds and writes back into the app's TUN.
//
// Behaviour, app side:
// - UDP to a channel address on the channel port: from a source not allowed → dropped,
//   counted (`refused`), no answer. Otherwise decoded (with the key and a per-sender replay
//   guard when a key is configured); a malformed, unauthenticated or replayed datagram gets
//   an `error` reply carrying the codec's code; a good one runs through
//   `TcprFilter.control` and its reply (if any) goes back from channel address:port to the
//   sender's address:port, after the control's own packets.
// - Anything else to a channel address (another port, TCP, ICMP) is dropped: the address
//   belongs to nobody, and nothing should leak to the peers' side.
// - Everything else goes to TcprFilter.
// - E9 `no-state` notices are sent as datagrams to the last channel endpoint the app
//   address concerned used (for a peer-side notice: any internal address mapped to the
//   external one); with none known yet they are counted as unsent.

import { formatAddr, parseAddr } from '../lib/ip.js';
import type { FilterContext } from '../net/packet-pump.js';
import { decodeControl, encodeControl, ReplayGuard, type ControlMessage } from './control-codec.js';
import { snapshot, type ConnectionSnapshot, type SavedState } from './connection.js';
import {
  TcprFilter,
  type ControlResult,
  type Emit,
  type FilterOptions,
  type FilterStats,
  type PacketFilter,
} from './filter.js';
import { buildSegment, TCP_FLAG } from './packet.js';
import { buildUdp, parseUdp } from './udp.js';

export const DEFAULT_CHANNEL_PORT = 7780;
/** The channel addresses the TCPR topology routes into the app TUN. */
export const DEFAULT_CHANNEL_ADDRESSES = ['198.18.0.1', '2001:db8::1'] as const;

export interface TcprPumpOptions {
  /** FilterOptions.addresses: the app's internal address(es) and the external one(s) peers see (may be equal). */
  addresses: { internal: string; external: string }[];
  /** The side channel: UDP to these addresses (which nobody owns; the topology routes them into the app TUN: 198.18.0.1 and 2001:db8::1) on `port` (default 7780) is intercepted by the filter, never forwarded. */
  channel: { addresses: string[]; port?: number };
  /** Source addresses allowed to use the channel (default: the internal addresses); others get no answer and are counted. */
  allow?: string[];
  /** Optional shared key (hex) for HMAC-authenticated control datagrams (then unauthenticated ones are refused with an error reply). */
  key?: string;
  /** Extra TcprFilter options (dupAcks, stripSack, ...). */
  filter?: Record<string, unknown>;
}

export interface ChannelStats {
  /** Datagrams to the channel from allowed sources. */
  received: number;
  /** Replies sent (including error replies). */
  replies: number;
  /** Datagrams from sources not allowed (no answer). */
  refused: number;
  /** Datagrams that failed to decode, by codec error code (an error reply was sent). */
  malformed: Record<string, number>;
  /** UDP to the channel port with a broken UDP/IP header or checksum (dropped, no answer). */
  badUdp: number;
  /** Other packets to a channel address (dropped). */
  otherToChannel: number;
  /** E9 notices sent, and those with no channel endpoint known to send them to. */
  noticesSent: number;
  noticesUnsent: number;
}

export interface TcprPumpStats {
  filter: FilterStats;
  channel: ChannelStats;
  connections: number;
}

/** What the pump's worker holds: a PacketFilter with the control entry points. */
export interface TcprPumpFilter extends PacketFilter {
  /** A control message from the main thread (the Unix socket, CLI tools). */
  control(msg: ControlMessage): ControlResult;
  stats(): TcprPumpStats;
  /** Every connection's hard state (save tools). */
  saveAll(): SavedState[];
  /** Every connection's full state (diagnostics: tests' stall reports, `stats --verbose`). */
  snapshots(): ConnectionSnapshot[];
  /** Replaces `allow` and `key` (SIGHUP); the replay windows are kept. */
  reload(opts: { allow?: string[]; key?: string }): { ok: true };
}

interface Endpoint {
  channelAddr: Uint8Array;
  addr: Uint8Array;
  port: number;
}

function addr(s: string, what: string): Uint8Array {
  const a = parseAddr(s);
  if (!a) throw new Error(`TCPR pump filter: ${what} "${s}" is not an IPv4 or IPv6 address`);
  return a;
}

function parseKey(hex: string | undefined): Uint8Array | undefined {
  if (hex === undefined || hex === '') return undefined;
  const h = hex.trim();
  if (!/^(?:[0-9a-fA-F]{2}){16,}$/.test(h)) {
    throw new Error(
      'TCPR pump filter: key must be hex, at least 16 bytes (32 hex digits); e.g. `openssl rand -hex 32`',
    );
  }
  return Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));
}

function allowSet(allow: string[] | undefined, fallback: string[]): Set<string> {
  return new Set((allow ?? fallback).map((s) => formatAddr(addr(s, 'allow entry'))));
}

export function createFilter(options: TcprPumpOptions, ctx: FilterContext): TcprPumpFilter {
  const f = build(options, ctx);
  try {
    warmUp(options);
  } catch {
    // Never in the way of a start: the first recoveries then compile the code themselves.
  }
  return f;
}

/**
 * A restarted middlebox answered its first recoveries while running its code for the first
 * time (V8 compiles a function when it is first called): 2–4 ms to answer the first
 * `recover` after a restart, against well under 0.1 ms warm (measured per step from the
 * application). So before the pump reports ready, a throwaway filter built from the same
 * options carries a scripted connection: set-up, data both ways, a checkpoint and a query
 * over the side channel, the app's death (RST), `recover` and the recovery SYN's splice,
 * then a state-less recovery whose peer challenge ACK splices, in the order a recovering
 * client makes them. Its packets go nowhere; the peer is a made-up address of the lab's
 * ranges, never sent to. Returns the throwaway filter's stats (tests).
 */
export function warmUp(options: TcprPumpOptions): TcprPumpStats {
  const chans = options.channel.addresses.map((a) => addr(a, 'channel address'));
  // A mapping of a family the channel serves (else the first: its side channel stays cold).
  const m =
    options.addresses.find((x) =>
      chans.some((c) => c.length === addr(x.internal, 'internal address').length),
    ) ?? options.addresses[0]!;
  const f = build({ ...options, allow: [m.internal] }, { emit: () => 0 });
  const app = addr(m.internal, 'internal address');
  const ext = addr(m.external, 'external address');
  const peer = addr(app.length === 4 ? '198.18.255.254' : '2001:db8:ffff::fe', 'peer');
  const chan = chans.find((a) => a.length === app.length);
  const port = options.channel.port ?? DEFAULT_CHANNEL_PORT;
  const key = parseKey(options.key);
  // The pump hands the filter Buffer views; so does this, for the same inline caches.
  const view = (p: Uint8Array): Buffer => Buffer.from(p.buffer, p.byteOffset, p.length);
  let seq = 1;
  const send = (msg: ControlMessage): void => {
    if (!chan) return;
    const payload = encodeControl(msg, key ? { key, seq: seq++ } : {});
    f.fromApp(view(buildUdp({ src: app, dst: chan, srcPort: 50000, dstPort: port, payload })));
  };
  const MSS = new Uint8Array([2, 4, 0x05, 0xb4]);
  const data = new Uint8Array(100);
  const { SYN, ACK, RST, PSH } = TCP_FLAG;
  const seg = (fromApp: boolean, localPort: number, s: number, a: number, flags: number): void => {
    const spec = {
      seq: s,
      ack: a,
      flags,
      window: 65535,
      options: flags & SYN ? MSS : undefined,
      payload: flags & PSH ? data : undefined,
    };
    const ends = fromApp
      ? { src: app, dst: peer, srcPort: localPort, dstPort: 179 }
      : { src: peer, dst: ext, srcPort: 179, dstPort: localPort };
    const p = view(buildSegment({ ...ends, ...spec }));
    if (fromApp) f.fromApp(p);
    else f.fromPeer(p);
  };
  const A = 1000;
  const P = 5000;
  // Set-up, data both ways, a checkpoint and a query.
  seg(true, 40000, A, 0, SYN);
  seg(false, 40000, P, A + 1, SYN | ACK);
  seg(true, 40000, A + 1, P + 1, ACK);
  seg(true, 40000, A + 1, P + 1, ACK | PSH);
  seg(false, 40000, P + 1, A + 101, ACK | PSH);
  const ref = { port: 40000, peerAddr: peer, peerPort: 179, externalAddr: ext };
  send({ type: 'update', conn: ref, fields: { ack: P + 101 } });
  send({ type: 'query', conn: ref });
  // The app dies; its successor's SYN (answered here), `recover` right behind it, the ACK.
  seg(true, 40000, A + 101, P + 101, RST);
  const saved = f.saveAll()[0];
  seg(true, 40000, 9000, 0, SYN);
  if (saved) send({ type: 'recover', state: saved });
  seg(true, 40000, 9001, P + 101, ACK);
  seg(false, 40000, P + 101, A + 101, ACK | PSH);
  // As after a middlebox restart: the SYN forwarded (no entry), `recover` restores over the
  // entry it made, the peer's challenge ACK splices.
  seg(true, 40001, 7000, 0, SYN);
  if (saved) {
    send({
      type: 'recover',
      state: { ...saved, port: 40001, hard: { ...saved.hard, port: 40001 } },
    });
  }
  seg(false, 40001, P + 101, A + 101, ACK);
  return f.stats();
}

function build(options: TcprPumpOptions, ctx: FilterContext): TcprPumpFilter {
  if (!options || !Array.isArray(options.addresses) || options.addresses.length === 0) {
    throw new Error('TCPR pump filter: `addresses` must list at least one {internal, external}');
  }
  if (!options.channel || !Array.isArray(options.channel.addresses)) {
    throw new Error('TCPR pump filter: `channel.addresses` is required');
  }
  const port = options.channel.port ?? DEFAULT_CHANNEL_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) {
    throw new Error(`TCPR pump filter: channel port ${port} is not a port number`);
  }
  const channelAddrs = new Map<string, Uint8Array>();
  for (const s of options.channel.addresses) {
    const a = addr(s, 'channel address');
    channelAddrs.set(formatAddr(a), a);
  }
  const internals = options.addresses.map((m) => m.internal);
  // External address → the internal addresses behind it (peer-side notices).
  const internalsOf = new Map<string, string[]>();
  for (const m of options.addresses) {
    const ext = formatAddr(addr(m.external, 'external address'));
    const int = formatAddr(addr(m.internal, 'internal address'));
    internalsOf.set(ext, [...(internalsOf.get(ext) ?? []), int]);
  }
  let allow = allowSet(options.allow, internals);
  let key = parseKey(options.key);
  const replay = new ReplayGuard();
  // Our own sequence numbers: wall-clock microseconds, so a restarted middlebox keeps
  // increasing and the application's replay guard accepts it.
  let seq = Date.now() * 1000;
  const endpoints = new Map<string, Endpoint>();
  const ch: ChannelStats = {
    received: 0,
    replies: 0,
    refused: 0,
    malformed: {},
    badUdp: 0,
    otherToChannel: 0,
    noticesSent: 0,
    noticesUnsent: 0,
  };

  const datagram = (ep: Endpoint, msg: ControlMessage): Emit => ({
    to: 'app',
    packet: buildUdp({
      src: ep.channelAddr,
      dst: ep.addr,
      srcPort: port,
      dstPort: ep.port,
      payload: encodeControl(msg, key ? { key, seq: ++seq } : {}),
    }),
  });

  const filterOpts: FilterOptions = {
    ...(options.filter ?? {}),
    addresses: options.addresses,
    onNotice: (notice) => {
      const local = formatAddr(notice.localAddr);
      const candidates = notice.side === 'app' ? [local] : (internalsOf.get(local) ?? []);
      for (const a of candidates) {
        const ep = endpoints.get(a);
        if (!ep) continue;
        ch.noticesSent++;
        ctx.emit([datagram(ep, notice)]);
        return;
      }
      ch.noticesUnsent++;
    },
  };
  const filter = new TcprFilter(filterOpts);

  const channelList = [...channelAddrs.values()];
  /** The channel address a packet is sent to, if any: compared in place (every app packet). */
  function channelAddrOf(p: Uint8Array): Uint8Array | undefined {
    const v = p.length > 0 ? p[0]! >> 4 : 0;
    const at = v === 4 ? 16 : 24;
    const len = v === 4 ? 4 : 16;
    if ((v !== 4 && v !== 6) || p.length < at + len) return undefined;
    for (let i = 0; i < channelList.length; i++) {
      const a = channelList[i]!;
      if (a.length !== len) continue;
      let j = 0;
      while (j < len && p[at + j] === a[j]) j++;
      if (j === len) return a;
    }
    return undefined;
  }

  function channel(p: Uint8Array): Emit[] | undefined {
    const chanAddr = channelAddrOf(p);
    if (!chanAddr) return undefined;
    const u = parseUdp(p);
    if (!u) {
      ch.otherToChannel++;
      return [];
    }
    if (!u.ok) {
      ch.badUdp++;
      return [];
    }
    const d = u.udp;
    if (d.dstPort !== port) {
      ch.otherToChannel++;
      return [];
    }
    const from = formatAddr(d.src);
    if (!allow.has(from)) {
      ch.refused++;
      return [];
    }
    ch.received++;
    const ep: Endpoint = { channelAddr: chanAddr, addr: d.src.slice(), port: d.srcPort };
    endpoints.set(from, ep);
    const dec = decodeControl(d.payload, {
      key,
      replay,
      sender: `udp:${from}:${d.srcPort}`,
    });
    if (!dec.ok) {
      ch.malformed[dec.error.code] = (ch.malformed[dec.error.code] ?? 0) + 1;
      ch.replies++;
      return [datagram(ep, { type: 'error', code: dec.error.code, message: dec.error.message })];
    }
    const r = filter.control(dec.value.msg);
    const out = [...r.emits];
    if (r.reply) {
      ch.replies++;
      out.push(datagram(ep, r.reply));
    }
    return out;
  }

  return {
    fromApp(p) {
      return channel(p) ?? filter.fromApp(p);
    },
    fromPeer(p) {
      return filter.fromPeer(p);
    },
    control(msg) {
      return filter.control(msg);
    },
    stats() {
      return {
        filter: filter.stats(),
        channel: { ...ch, malformed: { ...ch.malformed } },
        connections: filter.table.all().length,
      };
    },
    saveAll() {
      return filter.saveAll();
    },
    snapshots() {
      return filter.table.all().map(snapshot);
    },
    reload(next) {
      // Validate both before swapping either: never half-applied.
      const nextAllow = allowSet(next.allow, internals);
      const nextKey = parseKey(next.key);
      allow = nextAllow;
      key = nextKey;
      return { ok: true };
    },
  };
}
