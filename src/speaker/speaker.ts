// `nonstop speaker`: one BGP speaker assembled from its parts — a session engine (Peer per
// neighbour, one listener) and a route engine (RIBs, decision, policy), a FIB and the
// control API. Like OpenBGPD, the session side and the route side only talk through a
// narrow interface: Peer events go to the RouteEngine, encoded UPDATEs come back through a
// SessionPort. All I/O is injected (Connector, Clock, Fib, logger), so whole speakers run
// in-process over memory transports in tests and over kernel TCP in production.
//
// Reload (SIGHUP) is a transaction: the new config is parsed and validated completely
// first; then, per neighbour, diffConfigs says whether it is new, gone, needs a session
// reset (identity, timers, families, capabilities), a soft reconfiguration (policy: the
// import side asks the peer for a ROUTE-REFRESH, the export side re-runs export), or
// nothing. Untouched sessions are not reset.

import type { Clock } from '../lib/clock.js';
import { AFI, formatAddr, formatIPv4, parseAddr, parsePrefix, type Prefix } from '../lib/ip.js';
import type { LogFields, Logger } from '../lib/log.js';
import {
  ADD_PATH_DIR,
  AS_SEG,
  ATTR_DEFAULT_FLAGS,
  capAddPath,
  capEnhancedRouteRefresh,
  capFourOctetAs,
  capGracefulRestart,
  GR_FLAGS,
  capMultiprotocol,
  capRouteRefresh,
  describeNotification,
  formatCommunity,
  formatLargeCommunity,
  type Capability,
  type PathAttribute,
} from '../wire/index.js';
import type { Connector, Transport } from '../net/transport.js';
import type { Fib, FibChange as KernelFibChange } from '../fib/index.js';
import type { Registry } from '../control/metrics.js';
import type { ControlServer } from '../control/server.js';
import { notFound } from '../control/server.js';
import type {
  FibResponse,
  NeighborDetail,
  NeighborSummary,
  NeighborsResponse,
  RibEntry,
  RibPath,
  RibResponse,
  StatusResponse,
} from '../control/api-types.js';
import { stepName, compare } from '../decision/index.js';
import {
  Peer,
  SessionListener,
  addressKey,
  type PeerEvents,
  type PeerSnapshot,
} from './session/index.js';
import {
  RouteEngine,
  nextHopOf,
  type FibChange,
  type NeighborSpec,
  type NextHopResolver,
} from './engine/route-engine.js';
import { diffConfigs, type NeighborConfig, type SpeakerConfig } from './config/index.js';
import type { Negotiated } from '../fsm/index.js';
import { prefixKey, type PrefixKey } from '../rib/index.js';

export const SPEAKER_VERSION = '0.1.0';

/** Most FIB changes handed to the FIB in one batch (see applyFib). */
const FIB_BATCH = 16384;

export interface SpeakerDeps {
  readonly connector: Connector;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly fib: Fib;
  readonly metrics?: Registry;
  /** Wall-clock milliseconds (status, logs). */
  readonly wallTime?: () => number;
  /** Every BGP message sent or received, for the MRT log. */
  readonly onMessage?: (n: NeighborConfig, bytes: Uint8Array, local: boolean) => void;
  readonly onStateChange?: (n: NeighborConfig, from: string, to: string) => void;
  /** Next-hop resolution (kernel mode); absent: every next hop is reachable. */
  readonly nextHops?: NextHopResolver;
  /**
   * We are restarting with our forwarding state preserved (routes of ours found in the
   * kernel FIB): announce it (RFC 4724 R and F bits) and defer route selection (§4.1).
   */
  readonly restarting?: boolean;
  /** Session persistence (non-stop BGP over TCPR, tcpr/bgp-sessions.ts); absent: none. */
  readonly sessions?: SessionHooks;
}

/** A live session handed to the speaker at start instead of a fresh one. */
export interface ResumedSession {
  /** Peer.exportState() taken when the session was established. */
  readonly snapshot: PeerSnapshot;
  /** The recovered transport, positioned after `buffered`. */
  readonly transport: Transport;
  /** The peer's input since Established, replayed before live input: rebuilds Adj-RIB-In. */
  readonly buffered: Uint8Array;
  /** Moves the snapshot's timer deadlines onto this process's clock. */
  readonly shiftMs: number;
}

/**
 * Per-neighbour session hooks. `connectorFor` gives the connector for a neighbour's
 * outgoing connections; `accepted` may replace an incoming connection's transport before
 * the neighbour sees it; `resume`, called once at start before the listeners open, a
 * session to take over (the neighbour then is not started afresh); `established` sees
 * every session come up.
 */
export interface SessionHooks {
  connectorFor?(n: NeighborConfig): Connector | undefined;
  accepted?(n: NeighborConfig, t: Transport): Promise<Transport>;
  resume?(n: NeighborConfig): Promise<ResumedSession | undefined>;
  established?(n: NeighborConfig, peer: Peer): void;
}

interface NeighborRuntime {
  cfg: NeighborConfig;
  peer: Peer;
  engineId: number;
  admin: 'enabled' | 'shutdown' | 'inactive';
  since: number;
}

function famName(afi: number, safi: number): string {
  return `${afi === AFI.IPv4 ? 'ipv4' : afi === AFI.IPv6 ? 'ipv6' : `afi${afi}`}-${safi === 1 ? 'unicast' : safi === 2 ? 'multicast' : `safi${safi}`}`;
}

/** The capabilities of our OPEN for a neighbour (RFC 5492). */
export function capabilitiesFor(
  n: NeighborConfig,
  cfg: SpeakerConfig,
  restarting = false,
): Capability[] {
  const caps: Capability[] = n.families.map((f) => capMultiprotocol(f.afi, f.safi));
  caps.push(capRouteRefresh(), capEnhancedRouteRefresh(), capFourOctetAs(cfg.asn));
  if (n.gracefulRestart) {
    caps.push(
      capGracefulRestart(
        cfg.gracefulRestart.restartTime,
        n.families.map((f) => ({
          afi: f.afi,
          safi: f.safi,
          flags: restarting ? GR_FLAGS.FORWARDING_STATE : 0,
        })),
        restarting ? GR_FLAGS.RESTART_STATE : 0,
      ),
    );
  }
  const ap = new Map<string, { afi: number; safi: number; sendReceive: number }>();
  for (const f of n.addPath.receive)
    ap.set(f.name, { afi: f.afi, safi: f.safi, sendReceive: ADD_PATH_DIR.RECEIVE });
  for (const f of n.addPath.send) {
    const had = ap.get(f.name);
    ap.set(f.name, {
      afi: f.afi,
      safi: f.safi,
      sendReceive: had ? ADD_PATH_DIR.BOTH : ADD_PATH_DIR.SEND,
    });
  }
  if (ap.size) caps.push(capAddPath([...ap.values()]));
  return caps;
}

export function neighborSpec(n: NeighborConfig, cfg: SpeakerConfig): NeighborSpec {
  return {
    name: n.key,
    address: n.address,
    asn: n.asn,
    rrClient: n.routeReflectorClient,
    nextHopSelf: n.nextHopSelf,
    importPolicy: n.import.chain,
    exportPolicy: n.export.chain,
    maxPrefix: n.maxPrefix ? { limit: n.maxPrefix.limit, action: n.maxPrefix.action } : undefined,
    gracefulRestart: n.gracefulRestart,
    staleRoutesTime: cfg.gracefulRestart.staleRoutesTime,
    mrai: n.mrai,
    addPathSendMax: n.addPath.sendMax,
    keepPrePolicy: n.softReconfigurationInbound,
  };
}

/** The attributes of a configured static route (RFC 4271 §5.1: ORIGIN IGP, empty AS path). */
export function staticAttributes(r: SpeakerConfig['static'][number]): PathAttribute[] {
  const f = ATTR_DEFAULT_FLAGS;
  const attrs: PathAttribute[] = [
    { kind: 'origin', code: 1, flags: f[1]!, origin: 0 },
    { kind: 'as-path', code: 2, flags: f[2]!, asnWidth: 4, segments: [] },
  ];
  if (r.nextHop !== 'self') {
    if (r.prefix.afi === AFI.IPv4)
      attrs.push({ kind: 'next-hop', code: 3, flags: f[3]!, nextHop: r.nextHop });
    else {
      attrs.push({
        kind: 'mp-reach',
        code: 14,
        flags: f[14]!,
        afi: 2,
        safi: 1,
        nextHop: r.nextHop,
        reserved: 0,
      });
    }
  }
  if (r.med !== undefined) attrs.push({ kind: 'med', code: 4, flags: f[4]!, med: r.med });
  if (r.localPref !== undefined)
    attrs.push({ kind: 'local-pref', code: 5, flags: f[5]!, localPref: r.localPref });
  if (r.communities.length)
    attrs.push({ kind: 'communities', code: 8, flags: f[8]!, communities: r.communities });
  if (r.largeCommunities.length) {
    attrs.push({
      kind: 'large-communities',
      code: 32,
      flags: f[32]!,
      communities: r.largeCommunities,
    });
  }
  return attrs.sort((a, b) => a.code - b.code);
}

export class Speaker {
  readonly engine: RouteEngine;
  private readonly listener: SessionListener;
  private readonly neighbors = new Map<string, NeighborRuntime>();
  private readonly log: Logger;
  private readonly startedAt: number;
  private fibQueue: Promise<unknown> = Promise.resolve();
  private readonly fibWaiting = new Map<PrefixKey, FibChange>();
  /** The keys of fibWaiting in arrival order, consumed from fibHead. */
  private fibOrder: PrefixKey[] = [];
  private fibHead = 0;
  private fibBusy = false;
  private fibFailures = 0;
  private stopped = false;

  constructor(
    private config: SpeakerConfig,
    private readonly deps: SpeakerDeps,
  ) {
    this.log = deps.logger;
    this.startedAt = this.wall();
    this.engine = new RouteEngine({
      localAsn: config.asn,
      routerId: config.routerId,
      clusterId: config.routeReflector.clusterId,
      decision: config.decision,
      clock: deps.clock,
      // fib.mode none: no FIB, so no per-prefix FIB bookkeeping either.
      ...(config.fib.mode === 'none'
        ? {}
        : { onFib: (changes: readonly FibChange[]) => this.applyFib(changes) }),
      ...(deps.nextHops ? { nextHops: deps.nextHops } : {}),
      ...(deps.restarting
        ? {
            deferSelection: { timeoutMs: config.gracefulRestart.restartTime * 1000 },
            onDeferralEnd: (why: string) => void this.removeStaleForwarding(why),
          }
        : {}),
      log: (level, msg, fields) => this.log[level](msg, fields),
    });
    const accepted = deps.sessions?.accepted?.bind(deps.sessions);
    this.listener = new SessionListener({
      connector: deps.connector,
      log: (level, msg, fields) => this.log[level](msg, fields),
      ...(accepted
        ? {
            adopt: (peer: Peer, t: Transport) => {
              const rt = [...this.neighbors.values()].find((r) => r.peer === peer);
              return rt ? accepted(rt.cfg, t) : Promise.resolve(t);
            },
          }
        : {}),
    });
    this.installMetrics();
  }

  private wall(): number {
    return this.deps.wallTime ? this.deps.wallTime() : Date.now();
  }

  // ---- lifecycle ---------------------------------------------------------------------

  async start(): Promise<void> {
    for (const n of this.config.neighbors) this.addNeighbor(n);
    this.engine.setStaticRoutes(
      this.config.static.map((r) => ({ prefix: r.prefix, attributes: staticAttributes(r) })),
    );
    const enabled = [...this.neighbors.values()].filter((rt) => rt.admin === 'enabled');
    // Sessions are resumed before listening: a session the neighbour opened is re-opened
    // from the listening port, which a listening socket would hold (Linux refuses the bind
    // even with SO_REUSEADDR). No await without hooks: starting stays synchronous
    // (in-process worlds on a manual clock depend on the order sessions start in).
    const resume = this.deps.sessions?.resume?.bind(this.deps.sessions);
    const resumedFor = new Map<NeighborRuntime, ResumedSession>();
    if (resume) {
      // All at once: a slow recovery (TCPR silent: up to its timeout) must not hold the
      // others' sessions unread meanwhile.
      const all = await Promise.all(enabled.map((rt) => resume(rt.cfg)));
      all.forEach((r, i) => r && resumedFor.set(enabled[i]!, r));
    }
    if (this.config.listen.length) {
      await this.listener.listen(
        this.config.listen.map((e) => ({ address: formatAddr(e.address), port: e.port })),
      );
    }
    for (const rt of enabled) {
      const resumed = resumedFor.get(rt);
      if (!resumed) {
        rt.peer.start();
        continue;
      }
      this.log.info('session resumed', {
        peer: rt.cfg.key,
        transport: resumed.transport.kind,
        replay: resumed.buffered.length,
      });
      rt.peer.importState(resumed.snapshot, {
        transport: resumed.transport,
        buffered: resumed.buffered,
        shiftMs: resumed.shiftMs,
      });
    }
    this.log.info('speaker started', {
      routerId: formatIPv4(this.config.routerId),
      asn: this.config.asn,
      neighbors: this.neighbors.size,
    });
  }

  /**
   * Clean shutdown: Cease (Administrative Shutdown) to every peer, FIB routes removed
   * unless fib.keep-on-exit. With `gracefulRestart`, a planned restart (RFC 4724): the
   * sessions are closed without a NOTIFICATION, so peers that negotiated graceful restart
   * keep our routes, and the kernel FIB keeps forwarding until we are back.
   */
  async stop(
    reason = 'speaker shutting down',
    opts?: { gracefulRestart?: boolean },
  ): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const gr = opts?.gracefulRestart ?? false;
    for (const rt of this.neighbors.values()) {
      if (gr) rt.peer.release()?.destroy();
      else rt.peer.stop(reason, { shutdownMessage: reason });
    }
    await this.listener.close();
    if (!gr) this.engine.flush();
    await this.fibQueue;
    await this.deps.fib.close({ keepRoutes: gr || this.config.fib.keepOnExit });
    this.log.info('speaker stopped', { reason, gracefulRestart: gr });
  }

  /**
   * After a restart's deferred route selection: forwarding entries kept from before the
   * restart that the new decision no longer produced are removed (RFC 4724 §4.1).
   */
  private async removeStaleForwarding(why: string): Promise<void> {
    await this.fibQueue;
    const stale = (await this.deps.fib.list()).filter((r) => !this.engine.fibHas(r.prefix));
    if (stale.length) {
      const report = await this.deps.fib.apply(
        stale.map((r) => ({ op: 'delete', prefix: r.prefix })),
      );
      this.fibFailures += report.failed.length;
    }
    this.log.info('graceful restart complete: stale forwarding entries removed', {
      why,
      removed: stale.length,
    });
  }

  private addNeighbor(n: NeighborConfig): NeighborRuntime {
    const engineId = this.engine.addNeighbor(neighborSpec(n, this.config));
    const rt = {} as NeighborRuntime;
    const events: Partial<PeerEvents> = {
      established: (_p, neg) => this.onEstablished(rt, neg),
      update: (_p, u) => this.engine.receiveUpdate(rt.engineId, u),
      routeRefresh: (_p, m) =>
        this.engine.receiveRouteRefresh(rt.engineId, m.afi, m.safi, m.subtype),
      down: (_p, reason, notification) => {
        rt.since = this.wall();
        // RFC 4724 §4.2: keep the routes only when the session ended without a NOTIFICATION.
        const gr = notification === undefined;
        // Shutting down: every session is closing and the FIB is flushed on close, so the
        // RIBs are not torn down route by route (that would only send withdrawals to the
        // peers not yet told, moments before their Cease).
        if (!this.stopped) this.engine.sessionDown(rt.engineId, reason, gr);
        this.log.info('session down', {
          peer: n.key,
          reason,
          notification: notification
            ? `${notification.sent ? 'sent' : 'received'} ${notification.code}/${notification.subcode} ${describeNotification(notification.code, notification.subcode)}`
            : undefined,
        });
        this.deps.onStateChange?.(n, 'Established', 'Idle');
      },
      log: (_p, level, msg, fields) => this.log[level](msg, { peer: n.key, ...fields }),
      ...(this.deps.onMessage
        ? { message: (_p, bytes, local) => this.deps.onMessage!(rt.cfg, bytes, local) }
        : {}),
    };
    const peer = new Peer(
      {
        name: n.key,
        remote: { address: n.key, port: n.port },
        local: n.localAddress ? { address: formatAddr(n.localAddress) } : undefined,
        fsm: {
          localAs: this.config.asn,
          peerAs: n.asn,
          bgpId: this.config.routerId,
          capabilities: capabilitiesFor(
            n,
            this.config,
            this.deps.restarting && this.engine.selectionDeferred,
          ),
          holdTime: n.holdTime,
          connectRetryTime: n.connectRetry,
          passive: n.passive,
          delayOpen: n.delayOpen > 0,
          delayOpenTime: n.delayOpen || 5,
        },
      },
      {
        connector: this.deps.sessions?.connectorFor?.(n) ?? this.deps.connector,
        clock: this.deps.clock,
        events,
      },
      { inactive: n.inactive },
    );
    Object.assign(rt, {
      cfg: n,
      peer,
      engineId,
      admin: n.inactive ? 'inactive' : 'enabled',
      since: this.wall(),
    });
    this.neighbors.set(n.key, rt);
    this.listener.addPeer(peer);
    return rt;
  }

  private onEstablished(rt: NeighborRuntime, neg: Negotiated): void {
    rt.since = this.wall();
    const conn =
      rt.peer.connections.find((c) => c.state === 'Established') ?? rt.peer.connections[0];
    const localText =
      conn?.local?.address ?? (rt.cfg.localAddress ? formatAddr(rt.cfg.localAddress) : '0.0.0.0');
    const local = parseLocal(localText, rt.cfg.address.length);
    this.log.info('session established', {
      peer: rt.cfg.key,
      holdTime: neg.holdTime,
      families: neg.families.map(([afi, safi]) => famName(afi, safi)),
      local: localText,
    });
    this.deps.onStateChange?.(rt.cfg, 'OpenConfirm', 'Established');
    this.deps.sessions?.established?.(rt.cfg, rt.peer);
    this.engine.sessionUp(
      rt.engineId,
      neg,
      {
        send: (msgs) => {
          rt.peer.sendUpdates(msgs);
        },
        sendRouteRefresh: (afi, safi, subtype) => {
          rt.peer.sendRouteRefresh(afi, safi, subtype);
        },
        stop: (reason, notif) => rt.peer.stop(reason, { subcode: notif.subcode, data: notif.data }),
      },
      local,
    );
  }

  private removeNeighbor(rt: NeighborRuntime, subcode: number, reason: string): void {
    rt.peer.stop(reason, { subcode, shutdownMessage: reason });
    this.listener.removePeer(rt.peer);
    this.engine.removeNeighbor(rt.engineId);
    this.neighbors.delete(rt.cfg.key);
  }

  // ---- reload ------------------------------------------------------------------------

  /** Applies a new, already validated configuration (SIGHUP). Returns what changed. */
  reload(next: SpeakerConfig): ReturnType<typeof diffConfigs> {
    const d = diffConfigs(this.config, next);
    if (d.global.includes('router-id') || d.global.includes('asn')) {
      this.log.warn('router-id/asn changes need a restart of the speaker; not applied', {});
    }
    const byKey = new Map(next.neighbors.map((n) => [n.key, n]));
    for (const key of d.removed) {
      const rt = this.neighbors.get(key);
      if (rt) this.removeNeighbor(rt, 3, 'neighbor removed from the configuration');
    }
    this.config = next;
    for (const c of d.changed) {
      const rt = this.neighbors.get(c.key);
      const n = byKey.get(c.key);
      if (!rt || !n) continue;
      if (c.reset) {
        this.removeNeighbor(rt, 6, `configuration changed: ${c.fields.join(', ')}`);
        const fresh = this.addNeighbor(n);
        if (fresh.admin === 'enabled') fresh.peer.start();
        continue;
      }
      rt.cfg = n;
      this.engine.updateNeighbor(rt.engineId, neighborSpec(n, next));
      // Import policy changed: re-run it from the pre-policy Adj-RIB-In when it is kept,
      // otherwise ask the peer for its routes again (RFC 2918).
      if (c.softIn && !this.engine.reimport(rt.engineId) && rt.peer.negotiated?.routeRefresh) {
        for (const [afi, safi] of rt.peer.negotiated.families) rt.peer.sendRouteRefresh(afi, safi);
      }
      if (c.softOut) this.engine.refreshExport(rt.engineId);
    }
    for (const key of d.added) {
      const n = byKey.get(key);
      if (!n) continue;
      const rt = this.addNeighbor(n);
      if (rt.admin === 'enabled') rt.peer.start();
    }
    if (d.global.includes('static')) {
      this.engine.setStaticRoutes(
        next.static.map((r) => ({ prefix: r.prefix, attributes: staticAttributes(r) })),
      );
    }
    this.log.info('configuration reloaded', {
      added: d.added,
      removed: d.removed,
      changed: d.changed.map((c) => `${c.key} (${c.fields.join(', ')})`),
      unchanged: d.unchanged.length,
    });
    return d;
  }

  // ---- FIB ---------------------------------------------------------------------------

  /**
   * FIB changes are coalesced: while one batch is being installed, new changes wait in
   * `fibWaiting` (the last change per prefix wins) and go to the FIB as one batch when it
   * is done — few large rtnetlink batches instead of one small batch per burst of UPDATEs.
   * A batch takes at most FIB_BATCH changes (the oldest first), so that a full table does
   * not become one batch of a million route objects while the kernel waits for it.
   */
  private applyFib(changes: readonly FibChange[]): void {
    for (const c of changes) {
      const key = prefixKey(c.prefix);
      if (!this.fibWaiting.has(key)) this.fibOrder.push(key);
      this.fibWaiting.set(key, c);
    }
    if (!this.fibBusy) this.fibQueue = this.drainFib();
  }

  /** FIB changes not yet handed to the FIB, plus the batch being installed, if any. */
  get fibPending(): number {
    return this.fibWaiting.size + (this.fibBusy ? 1 : 0);
  }

  private async drainFib(): Promise<void> {
    this.fibBusy = true;
    try {
      while (this.fibWaiting.size > 0) {
        const batch: KernelFibChange[] = [];
        // Oldest first, by position in fibOrder (walking the Map from its start would step
        // over every entry already taken, batch after batch).
        while (batch.length < FIB_BATCH && this.fibHead < this.fibOrder.length) {
          const key = this.fibOrder[this.fibHead++]!;
          const c = this.fibWaiting.get(key)!;
          batch.push(
            c.op === 'delete'
              ? { op: 'delete', prefix: c.prefix }
              : { op: 'replace', route: { prefix: c.prefix, nextHops: [{ gateway: c.nextHop! }] } },
          );
          this.fibWaiting.delete(key);
        }
        if (this.fibHead === this.fibOrder.length) {
          this.fibOrder = [];
          this.fibHead = 0;
        }
        try {
          const report = await this.deps.fib.apply(batch);
          for (const f of report.failed) {
            this.fibFailures++;
            this.log.warn('FIB change failed', { change: f.message, code: f.code });
          }
        } catch (e) {
          this.log.error('FIB update failed', { error: String(e), changes: batch.length });
        }
      }
    } finally {
      this.fibBusy = false;
    }
  }

  // ---- control API -------------------------------------------------------------------

  registerControl(server: ControlServer): void {
    server.get('/status', (): StatusResponse => ({
      version: SPEAKER_VERSION,
      pid: process.pid,
      routerId: formatIPv4(this.config.routerId),
      asn: this.config.asn,
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSeconds: Math.round((this.wall() - this.startedAt) / 1000),
    }));
    server.get('/neighbors', (): NeighborsResponse => ({
      routerId: formatIPv4(this.config.routerId),
      asn: this.config.asn,
      neighbors: [...this.neighbors.values()].map((rt) => this.summary(rt)),
    }));
    server.get('/neighbors/:address', (req) =>
      this.detail(this.findNeighbor(req.params['address'] ?? '')),
    );
    server.post('/neighbors/:address/reset', (req) => {
      const rt = this.findNeighbor(req.params['address'] ?? '');
      rt.peer.reset('reset by operator');
      return { ok: true, message: `session with ${rt.cfg.key} reset` };
    });
    server.post('/neighbors/:address/refresh', (req) => {
      const rt = this.findNeighbor(req.params['address'] ?? '');
      const dir = (req.body as { direction?: string } | undefined)?.direction ?? 'in';
      const neg = rt.peer.negotiated;
      if (!neg) return { ok: false, message: `${rt.cfg.key} is not established` };
      if (dir === 'out') {
        this.engine.refreshExport(rt.engineId);
        return { ok: true, message: `re-sent our routes to ${rt.cfg.key}` };
      }
      // Like `clear bgp X soft in`: from the kept pre-policy routes when there are any.
      if (this.engine.reimport(rt.engineId)) {
        return { ok: true, message: `import policy re-run over the routes ${rt.cfg.key} sent` };
      }
      if (!neg.routeRefresh)
        return { ok: false, message: `${rt.cfg.key} did not announce route refresh` };
      for (const [afi, safi] of neg.families) rt.peer.sendRouteRefresh(afi, safi);
      return { ok: true, message: `ROUTE-REFRESH sent to ${rt.cfg.key}` };
    });
    server.get('/rib', (req) =>
      this.rib(
        req.query.get('prefix'),
        req.query.get('family'),
        Number(req.query.get('limit') ?? 1000),
      ),
    );
    server.get('/fib', async (req): Promise<FibResponse> => {
      const fam = req.query.get('family');
      const limit = Number(req.query.get('limit') ?? 1000);
      const routes = await this.deps.fib.list(
        fam === 'ipv4' ? AFI.IPv4 : fam === 'ipv6' ? AFI.IPv6 : undefined,
      );
      return {
        mode: this.config.fib.mode,
        table: this.config.fib.mode === 'kernel' ? this.config.fib.table : undefined,
        entries: routes.slice(0, limit).map((r) => ({
          prefix: `${formatAddr(r.prefix.addr)}/${r.prefix.len}`,
          nextHops: r.nextHops.map((h) => formatAddr(h.gateway)),
          installed: true,
        })),
        total: routes.length,
        truncated: routes.length > limit,
      } as FibResponse;
    });
  }

  private findNeighbor(address: string): NeighborRuntime {
    const rt = this.neighbors.get(addressKey(address));
    if (!rt) throw notFound(`no neighbor ${address}`);
    return rt;
  }

  private summary(rt: NeighborRuntime): NeighborSummary {
    const st = this.engine.neighborState(rt.engineId);
    const stats = rt.peer.stats;
    return {
      address: rt.cfg.key,
      asn: rt.cfg.asn,
      description: rt.cfg.description,
      state: rt.peer.state,
      adminState: rt.peer.inactive ? 'inactive' : rt.admin,
      since: new Date(rt.since).toISOString(),
      uptimeSeconds: rt.peer.state === 'Established' ? Math.round(stats.uptimeMs / 1000) : null,
      prefixes: {
        received: st?.received ?? 0,
        accepted: st?.accepted ?? 0,
        sent: st?.advertised ?? 0,
      },
      ...(stats.lastError
        ? {
            lastError: {
              // The peer's clock may be monotonic: take the age from it, the date from ours.
              time: new Date(
                stats.lastErrorInfo
                  ? this.wall() - (this.deps.clock.now() - stats.lastErrorInfo.at)
                  : rt.since,
              ).toISOString(),
              direction: stats.lastErrorInfo?.direction ?? 'local',
              ...(stats.lastErrorInfo?.code !== undefined
                ? { code: stats.lastErrorInfo.code, subcode: stats.lastErrorInfo.subcode }
                : {}),
              message: stats.lastError,
            },
          }
        : {}),
    };
  }

  private detail(rt: NeighborRuntime): NeighborDetail {
    const stats = rt.peer.stats;
    const neg = rt.peer.negotiated;
    const conn = rt.peer.connections[0];
    const counts = (m: typeof stats.messagesIn) => ({
      ...m,
      total: m.open + m.update + m.notification + m.keepalive + m.routeRefresh,
    });
    const sum = this.summary(rt);
    return {
      ...sum,
      type: rt.cfg.ibgp ? 'ibgp' : 'ebgp',
      localAddress: conn?.local?.address,
      localPort: conn?.local?.port,
      remotePort: conn?.remote?.port,
      config: {
        holdTime: rt.cfg.holdTime,
        connectRetry: rt.cfg.connectRetry,
        passive: rt.cfg.passive,
        families: rt.cfg.families.map((f) => f.name),
        import: [...rt.cfg.import.names],
        export: [...rt.cfg.export.names],
        routeReflectorClient: rt.cfg.routeReflectorClient,
        nextHopSelf: rt.cfg.nextHopSelf,
        ...(rt.cfg.maxPrefix
          ? { maxPrefix: { limit: rt.cfg.maxPrefix.limit, action: rt.cfg.maxPrefix.action } }
          : {}),
      },
      negotiated: neg
        ? {
            holdTime: neg.holdTime,
            keepaliveTime: neg.keepaliveTime,
            peerRouterId: neg.peerBgpId,
            as4: neg.as4,
            extendedMessage: neg.extendedMessage,
            routeRefresh: neg.routeRefresh,
            enhancedRouteRefresh: neg.enhancedRouteRefresh,
            families: neg.families.map(([afi, safi]) => famName(afi, safi)),
            addPath: {
              receive: neg.addPath.receive.map(([afi, safi]) => famName(afi, safi)),
              send: neg.addPath.send.map(([afi, safi]) => famName(afi, safi)),
            },
            gracefulRestart: neg.gracefulRestart
              ? {
                  restartTime: neg.gracefulRestart.restartTime,
                  restarting: (neg.gracefulRestart.flags & 0x8) !== 0,
                  families: neg.gracefulRestart.families.map((f) => ({
                    family: famName(f.afi, f.safi),
                    forwardingPreserved: (f.flags & 0x80) !== 0,
                  })),
                }
              : null,
            capabilities: { local: [], remote: [] },
          }
        : null,
      counters: {
        messagesReceived: counts(stats.messagesIn),
        messagesSent: counts(stats.messagesOut),
        bytesReceived: stats.transport?.bytesIn ?? 0,
        bytesSent: stats.transport?.bytesOut ?? 0,
        established: stats.flaps + (rt.peer.state === 'Established' ? 1 : 0),
        dropped: stats.flaps,
      },
      families: rt.cfg.families.map((f) => ({ family: f.name, ...sum.prefixes })),
    };
  }

  private rib(prefixText: string | null, family: string | null, limit: number): RibResponse {
    const entries: RibEntry[] = [];
    let total = 0;
    const add = (prefix: Prefix): void => {
      const e = this.engine.ribEntry(prefix);
      if (!e) return;
      total++;
      if (entries.length >= limit) return;
      entries.push({
        prefix: e.prefix,
        paths: e.paths.map(({ route, best: isBest, from, stale }) => {
          const a = route.attrs;
          let reason: string | undefined;
          let reasonText: string | undefined;
          if (isBest) {
            const other = e.paths.find((p) => !p.best)?.route;
            if (other) {
              const c = compare(route, other, this.config.decision);
              reason = stepName(c.step);
              reasonText = e.reason;
            } else reason = 'ONLY_PATH';
          }
          const path: RibPath = {
            best: isBest,
            ...(reason ? { reason } : {}),
            ...(reasonText ? { reasonText } : {}),
            peer: from,
            peerAsn: route.peer.asn,
            ...(route.pathId ? { pathId: route.pathId } : {}),
            nextHop: formatAddr(nextHopOf(a) ?? new Uint8Array(4)),
            asPath: a.asPath
              .map((s) => (s.type === AS_SEG.AS_SET ? `{${s.asns.join(',')}}` : s.asns.join(' ')))
              .join(' '),
            origin: a.origin === 0 ? 'igp' : a.origin === 1 ? 'egp' : 'incomplete',
            ...(a.localPref !== undefined ? { localPref: a.localPref } : {}),
            ...(a.med !== undefined ? { med: a.med } : {}),
            ...(a.communities.length ? { communities: a.communities.map(formatCommunity) } : {}),
            ...(stale ? { stale: true } : {}),
          };
          const lc = a.find('large-communities');
          if (lc) path.largeCommunities = lc.communities.map((c) => formatLargeCommunity(c));
          return path;
        }),
      });
    };
    if (prefixText) {
      const p = parsePrefix(prefixText);
      if (!p) throw Object.assign(new Error(`not a prefix: ${prefixText}`), { status: 400 });
      add(p);
    } else {
      for (const [p] of this.engine.bestRoutes()) {
        if (family === 'ipv4' && p.afi !== AFI.IPv4) continue;
        if (family === 'ipv6' && p.afi !== AFI.IPv6) continue;
        add(p);
      }
    }
    return { entries, total, truncated: total > entries.length } as RibResponse;
  }

  // ---- metrics -----------------------------------------------------------------------

  private installMetrics(): void {
    const m = this.deps.metrics;
    if (!m) return;
    const established = m.gauge(
      'nonstop_bgp_session_established',
      'Whether the session is Established (1) or not (0)',
      ['peer'],
    );
    const prefixes = m.gauge(
      'nonstop_bgp_prefixes_received',
      'Routes held from the peer after import policy',
      ['peer'],
    );
    const advertised = m.gauge('nonstop_bgp_prefixes_advertised', 'Routes advertised to the peer', [
      'peer',
    ]);
    const updatesIn = m.gauge('nonstop_bgp_updates_received_total', 'UPDATE messages received', [
      'peer',
    ]);
    const updatesOut = m.gauge('nonstop_bgp_updates_sent_total', 'UPDATE messages sent', ['peer']);
    const locRib = m.gauge('nonstop_rib_prefixes', 'Prefixes in the Loc-RIB');
    const attrSets = m.gauge('nonstop_rib_attribute_sets', 'Distinct interned path attribute sets');
    const decision = m.gauge(
      'nonstop_decision_seconds_total',
      'Time spent processing received UPDATEs (import policy, Loc-RIB, decision)',
    );
    const fibFail = m.gauge('nonstop_fib_failures_total', 'FIB changes the kernel refused');
    m.onCollect(() => {
      for (const rt of this.neighbors.values()) {
        const l = { peer: rt.cfg.key };
        const st = this.engine.neighborState(rt.engineId);
        established.set(l, rt.peer.state === 'Established' ? 1 : 0);
        prefixes.set(l, st?.received ?? 0);
        advertised.set(l, st?.advertised ?? 0);
        updatesIn.set(l, st?.counters.updatesIn ?? 0);
        updatesOut.set(l, st?.counters.updatesOut ?? 0);
      }
      locRib.set(undefined, this.engine.locRib.size);
      attrSets.set(undefined, this.engine.pool.size);
      decision.set(undefined, this.engine.decisionTimeMs / 1000);
      fibFail.set(undefined, this.fibFailures);
    });
  }

  /** For tests and the CLI: neighbour states by address. */
  states(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, rt] of this.neighbors) out[k] = rt.peer.state;
    return out;
  }

  logFields(): LogFields {
    return { routerId: formatIPv4(this.config.routerId), asn: this.config.asn };
  }
}

/** Our address on a session as bytes (IPv4-mapped IPv6 unwrapped to IPv4). */
function parseLocal(text: string, octets: number): Uint8Array {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  return parseAddr(m ? m[1]! : text) ?? new Uint8Array(octets);
}
