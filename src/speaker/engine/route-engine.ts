// The route engine (RFC 4271 §9: the Update-Receive, Decision and Update-Send processes):
// what happens between "an UPDATE arrived from a peer" and "UPDATEs go out to the other
// peers and the FIB changes". It owns the Adj-RIBs-In (pre/post policy), the Loc-RIB and
// the Adj-RIBs-Out, and knows nothing about sockets: sessions hand it decoded UPDATEs and
// it hands back encoded ones through a `SessionPort`. Work is batched: receiving marks
// prefixes dirty; `flush()` (scheduled once per burst) runs export and the FIB.
//
// Receive (RFC 4271 §9.1.1, §9.1.2 phase 1 and 2):
//   1. End-of-RIB markers end a graceful restart's stale period for their family.
//      Enhanced route refresh (RFC 7313 §4): a Beginning-of-RIB-Refresh from the peer marks
//      its routes of the family stale, its End-of-RIB-Refresh sweeps those not sent again
//      (or the stale-routes time after the BoRR, the local bound §4 allows). A refresh
//      request is answered with the family's Adj-RIB-Out, framed by our own BoRR and EoRR
//      when the capability was negotiated; other subtypes are ignored (§5).
//   2. RFC 7606 treat-as-withdraw turns the UPDATE's announcements into withdrawals.
//   3. Loop detection: our ASN in the AS path of an eBGP route (§9.1.2); our router ID as
//      ORIGINATOR_ID or our cluster ID in CLUSTER_LIST on iBGP (RFC 4456 §8). Such routes
//      stay in the pre-policy Adj-RIB-In but are not eligible.
//   4. LOCAL_PREF from an external peer is ignored (RFC 4271 §5.1.5).
//   5. Import policy (per prefix), interning of the post-policy attributes, Loc-RIB.
//   6. Max-prefix (RFC 4486): past the limit, Cease 6/1 with AFI, SAFI and the limit.
// Export (RFC 4271 §9.1.3, §9.2; RFC 4456 §6):
//   - never back to the peer it came from; iBGP-learned routes go to iBGP peers only when
//     we reflect them (from a client: to everyone; from a non-client: to clients);
//   - to eBGP: our ASN prepended, next hop = our address on the session, LOCAL_PREF,
//     ORIGINATOR_ID and CLUSTER_LIST removed, a received MED not passed on (§5.1.4);
//   - to iBGP: LOCAL_PREF present (default 100), next hop kept unless next-hop-self or
//     the route is ours; when reflecting, ORIGINATOR_ID set and our cluster ID prepended;
//   - unknown optional transitive attributes get the Partial bit, non-transitive ones are
//     dropped (§5); then the peer's export policy; the result is interned and staged in
//     the peer's Adj-RIB-Out, which packs changes into UPDATEs by attribute set.
// Graceful restart helper role (RFC 4724 §4.2): when a peer that negotiated GR goes down,
// its routes stay (marked stale) and keep forwarding; they are swept at End-of-RIB from
// the new session, or when the stale-routes timer expires.
// Restarting role (RFC 4724 §4.1, `deferSelection`): after our own restart with the
// forwarding state preserved, route selection is deferred — the RIBs fill, but nothing is
// sent and the FIB is not touched — until every configured neighbour has sent End-of-RIB
// for its families, or the deferral time runs out; then the table goes out, followed by
// End-of-RIB, and `onDeferralEnd` lets the caller remove forwarding entries left from
// before the restart that no longer win.

import { bytesEqual, u32ToBytes } from '../../lib/bytes.js';
import type { Clock, TimerHandle } from '../../lib/clock.js';
import { bgpIdToNumber } from '../../fsm/index.js';
import { AFI, formatAddr, formatPrefix, type Prefix } from '../../lib/ip.js';
import {
  AS_SEG,
  ATTR,
  ATTR_DEFAULT_FLAGS,
  ERR,
  ERR_CEASE,
  GR_FLAGS,
  SAFI,
  effectiveAsPath,
  findAttribute,
  markPartialForPropagation,
  type CodecContext,
  type MpReach,
  type Nlri,
  type PathAttribute,
  type UpdateMessage,
} from '../../wire/index.js';
import {
  AttrPool,
  AdjRibIn,
  AdjRibOut,
  LocRib,
  PathTable,
  PrefixIndex,
  keyAfi,
  keyToPrefix,
  prefixKey,
  type AttrSet,
  type PeerRef,
  type PrefixKey,
  type Route,
  type RouteMeta,
} from '../../rib/index.js';
import {
  bestSelector,
  compareFast,
  resolveOptions,
  selectBest,
  type DecisionOptions,
  type ResolvedOptions,
} from '../../decision/index.js';
import {
  effectiveChain,
  evaluateChain,
  prependAsn,
  type CompiledPolicy,
  type PolicyResult,
} from '../../policy/index.js';
import {
  endOfRib,
  endOfRibFamily,
  nlriOf,
  packAnnouncements,
  packIpv4Keys,
  packWithdrawals,
} from './update-packer.js';

/** An address family as [AFI, SAFI] (the fsm's negotiated form). */
export type Family = readonly [afi: number, safi: number];

/** What the engine needs to know about a configured neighbour. */
export interface NeighborSpec {
  readonly name: string;
  readonly address: Uint8Array;
  readonly asn: number;
  readonly rrClient: boolean;
  readonly nextHopSelf: boolean;
  /** Configured policy chains; undefined/empty = the RFC 8212 default for the peer type. */
  readonly importPolicy?: readonly CompiledPolicy[];
  readonly exportPolicy?: readonly CompiledPolicy[];
  readonly maxPrefix?: { readonly limit: number; readonly action: 'shutdown' | 'warn' };
  /** Keep this peer's routes as stale when it restarts (helper role, RFC 4724). */
  readonly gracefulRestart: boolean;
  /** Seconds a restarting peer's stale routes are kept at most. */
  readonly staleRoutesTime: number;
  /**
   * MinRouteAdvertisementInterval (RFC 4271 §9.2.1.1), seconds; 0 = send at once. Changes
   * are batched per peer: at most one burst per interval, and a route that flaps and comes
   * back within it is not sent at all (the Adj-RIB-Out collapses it).
   */
  readonly mrai?: number;
  /** ADD-PATH send (RFC 7911): how many paths per prefix, when negotiated. Default 1. */
  readonly addPathSendMax?: number;
  /**
   * Keep the pre-policy Adj-RIB-In (soft reconfiguration inbound): import policy changes
   * re-run from it (`reimport`) instead of asking the peer for a ROUTE-REFRESH.
   */
  readonly keepPrePolicy?: boolean;
}

/** What the engine needs from the session of a neighbour. */
export interface SessionPort {
  /** Sends encoded UPDATE messages, in order. */
  send(messages: Uint8Array[]): void;
  /**
   * Sends a ROUTE-REFRESH (RFC 7313 subtype: 1 BoRR, 2 EoRR) in order with the UPDATEs;
   * without it (or without the capability) no BoRR/EoRR frame a refresh answer.
   */
  sendRouteRefresh?(afi: number, safi: number, subtype: number): void;
  /** Closes the session with a NOTIFICATION (e.g. max-prefix). */
  stop(reason: string, notification: { code: number; subcode: number; data: Uint8Array }): void;
}

/** The parts of the negotiated session state the engine uses (fsm's Negotiated fits). */
export interface SessionInfo {
  readonly internal: boolean;
  readonly peerBgpId: string;
  readonly families: readonly Family[];
  /** The peer's graceful-restart capability (RFC 4724), null without one. */
  readonly gracefulRestart: {
    /** Seconds the peer asks us to wait for its session to come back after a restart. */
    readonly restartTime: number;
    readonly families: readonly {
      readonly afi: number;
      readonly safi: number;
      readonly flags: number;
    }[];
  } | null;
  /** RFC 7313 negotiated (both sides advertised the capability). */
  readonly enhancedRouteRefresh?: boolean;
  readonly receive: CodecContext;
  readonly send: CodecContext;
}

export interface StaticRoute {
  readonly prefix: Prefix;
  readonly attributes: readonly PathAttribute[];
}

export interface FibChange {
  readonly op: 'replace' | 'delete';
  readonly prefix: Prefix;
  readonly nextHop?: Uint8Array;
}

/**
 * Resolves a BGP next hop against the routing table (RFC 4271 §9.1.2.1: a route whose
 * next hop is unreachable is not eligible; §9.1.2.2 (e): the IGP cost to it breaks ties).
 */
export interface NextHopResolver {
  resolve(nextHop: Uint8Array): { readonly reachable: boolean; readonly igpCost: number };
}

export interface EngineOptions {
  readonly localAsn: number;
  readonly routerId: Uint8Array;
  readonly clusterId?: Uint8Array;
  readonly decision?: DecisionOptions;
  readonly clock: Clock;
  /** Runs `flush` soon (default: setImmediate); tests pass a synchronous one. */
  readonly schedule?: (fn: () => void) => void;
  readonly onFib?: (changes: readonly FibChange[]) => void;
  /** Absent: every next hop is reachable at IGP cost 0 (no IGP, e.g. the in-memory FIB). */
  readonly nextHops?: NextHopResolver;
  /** We restarted with forwarding preserved: defer route selection (RFC 4724 §4.1). */
  readonly deferSelection?: { readonly timeoutMs: number };
  /** Route selection resumed after a deferral (End-of-RIB from all, or the timeout). */
  readonly onDeferralEnd?: (why: string) => void;
  readonly log?: (
    level: 'debug' | 'info' | 'warn',
    msg: string,
    fields?: Record<string, unknown>,
  ) => void;
}

export interface NeighborCounters {
  updatesIn: number;
  updatesOut: number;
  prefixesAnnouncedIn: number;
  prefixesWithdrawnIn: number;
  prefixesAnnouncedOut: number;
  prefixesWithdrawnOut: number;
  treatAsWithdraw: number;
  loopsRejected: number;
}

class Neighbor {
  ref: PeerRef | undefined;
  adjIn: AdjRibIn | undefined;
  adjOut: AdjRibOut | undefined;
  port: SessionPort | undefined;
  session: SessionInfo | undefined;
  localAddress: Uint8Array | undefined;
  localAddress6: Uint8Array | undefined;
  families = new Set<number>();
  staleTimer: TimerHandle | undefined;
  /** RFC 4724: the peer's restart time, while its session is down and its routes stale. */
  restartTimer: TimerHandle | undefined;
  /** RFC 7313: per family, the bound on waiting for the peer's EoRR after its BoRR. */
  readonly refreshTimers = new Map<number, TimerHandle>();
  mraiTimer: TimerHandle | undefined;
  nextSendAt = 0;
  /** Families the peer sent End-of-RIB for in this session. */
  eorReceived = new Set<number>();
  /** Families we send with ADD-PATH path identifiers (negotiated). */
  addPathSend = new Set<number>();
  /** ADD-PATH: path IDs advertised per prefix, to withdraw those that drop out. */
  readonly pathsSent = new Map<PrefixKey, Set<number>>();
  maxPrefixWarned = false;
  /** The export chain rejects every route (no terms, a rejecting default): see exportTo. */
  exportsNothing = false;
  readonly counters: NeighborCounters = {
    updatesIn: 0,
    updatesOut: 0,
    prefixesAnnouncedIn: 0,
    prefixesWithdrawnIn: 0,
    prefixesAnnouncedOut: 0,
    prefixesWithdrawnOut: 0,
    treatAsWithdraw: 0,
    loopsRejected: 0,
  };

  constructor(
    readonly id: number,
    public spec: NeighborSpec,
  ) {}

  get up(): boolean {
    return this.port !== undefined;
  }
  get ebgp(): boolean {
    return !(this.ref?.ibgp ?? false);
  }
}

const famKey = (afi: number, safi: number): number => (afi << 8) | safi;
const famName = (fam: number): string => `afi ${fam >> 8} safi ${fam & 0xff}`;
/** Changed prefixes that trigger an export run at once instead of at the end of the burst. */
const FLUSH_AT = 1024;
const IPV4_UNICAST = famKey(AFI.IPv4, SAFI.UNICAST);
const IPV6_UNICAST = famKey(AFI.IPv6, SAFI.UNICAST);

export class RouteEngine {
  readonly pool = new AttrPool();
  readonly locRib: LocRib;
  /** One slot per known prefix, shared by every table of this engine (rib/prefix-index.ts). */
  readonly index = new PrefixIndex();
  private readonly neighbors = new Map<number, Neighbor>();
  private nextId = 1;
  private readonly localRef: PeerRef;
  /** Slots whose best route (or, with ADD-PATH send, candidates) changed since the last flush. */
  private dirty: number[] = [];
  /** dirtyMark[slot] is 1 while the slot is in `dirty` (a list without duplicates). */
  private dirtyMark = new Uint8Array(1024);
  private flushScheduled = false;
  private readonly fibInstalled = new PathTable<Uint8Array>(this.index);
  private readonly staticRoutes = new Map<PrefixKey, AttrSet>();
  private readonly clusterId: Uint8Array;
  private readonly clusterIdNum: number;
  private readonly routerIdNum: number;
  private readonly schedule: (fn: () => void) => void;
  private readonly decisionOptions: DecisionOptions;
  /** Time spent processing received UPDATEs (import policy, Loc-RIB, decision), for metrics. */
  decisionTimeMs = 0;
  /** Peers we send ADD-PATH to: then every candidate change is exported, not only best changes. */
  private addPathPeers = 0;
  private readonly pathIds = new Map<string, number>();
  /**
   * Export results of the current batch, per target neighbour: (source attribute set,
   * source peer, family) → exported set (null: not advertised). Only for export chains
   * that cannot depend on the prefix (no terms); each cached set holds one pool reference,
   * dropped when the batch ends.
   */
  private exportCache: Map<Neighbor, Map<AttrSet, Map<number, AttrSet | null>>> | undefined;
  /** RFC 4724 §4.1: route selection is deferred after our restart. */
  private deferring = false;
  private deferralTimer: TimerHandle | undefined;
  /** Next-hop resolution of each attribute set, until the resolver says its table changed. */
  private nhCache = new WeakMap<AttrSet, RouteMeta>();
  private readonly resolvedDecision: ResolvedOptions;

  constructor(private readonly opts: EngineOptions) {
    this.decisionOptions = opts.decision ?? {};
    this.resolvedDecision = resolveOptions(this.decisionOptions);
    this.locRib = new LocRib(bestSelector(this.decisionOptions), this.index);
    this.clusterId = opts.clusterId ?? opts.routerId;
    this.clusterIdNum = bgpIdToNumber(this.clusterId);
    this.routerIdNum = bgpIdToNumber(opts.routerId);
    this.schedule = opts.schedule ?? ((fn) => setImmediate(fn));
    if (opts.deferSelection) {
      this.deferring = true;
      this.deferralTimer = opts.clock.at(opts.clock.now() + opts.deferSelection.timeoutMs, () =>
        this.endDeferral('selection deferral time expired'),
      );
    }
    // Locally originated routes come from a pseudo-peer with our own identity (an empty
    // AS path, so it is "internal" to us: RFC 4271 §9.1.2.2 treats it like iBGP-learned).
    this.localRef = {
      id: 0,
      address: new Uint8Array(4),
      asn: opts.localAsn,
      localAsn: opts.localAsn,
      routerId: this.routerIdNum,
      ibgp: true,
      rrClient: false,
    };
  }

  // ---- neighbours -----------------------------------------------------------------------

  addNeighbor(spec: NeighborSpec): number {
    const id = this.nextId++;
    this.neighbors.set(id, new Neighbor(id, spec));
    return id;
  }

  /** Replaces a neighbour's settings that need no session reset (policies, limits). */
  updateNeighbor(id: number, spec: NeighborSpec): void {
    const n = this.must(id);
    n.spec = spec;
    if (n.ref)
      n.exportsNothing = rejectsEverything(
        effectiveChain(spec.exportPolicy, 'export', !n.ref.ibgp),
      );
  }

  removeNeighbor(id: number): void {
    const n = this.must(id);
    if (n.up) this.sessionDown(id, 'neighbor removed', false);
    if (n.adjIn) this.dropAdjIn(n);
    this.cancelStaleTimers(n);
    this.neighbors.delete(id);
  }

  private must(id: number): Neighbor {
    const n = this.neighbors.get(id);
    if (!n) throw new Error(`route engine: unknown neighbor id ${id}`);
    return n;
  }

  /** The session reached Established: start exporting to it. */
  sessionUp(id: number, info: SessionInfo, port: SessionPort, localAddress: Uint8Array): void {
    const n = this.must(id);
    n.port = port;
    n.session = info;
    const before = n.families;
    n.families = new Set(info.families.map(([afi, safi]) => famKey(afi, safi)));
    n.restartTimer?.cancel(); // back within the restart time (RFC 4724 §4.2)
    n.restartTimer = undefined;
    if (localAddress.length === 4) n.localAddress = localAddress;
    else n.localAddress6 = localAddress;
    if (!n.ref || !n.adjIn) {
      n.ref = {
        id: n.id,
        address: n.spec.address,
        asn: n.spec.asn,
        localAsn: this.opts.localAsn,
        routerId: bgpIdToNumber(info.peerBgpId),
        ibgp: info.internal,
        rrClient: n.spec.rrClient,
      };
      n.adjIn = new AdjRibIn(n.ref, this.pool, this.index, {
        keepPrePolicy: n.spec.keepPrePolicy ?? false,
      });
    }
    n.adjOut = new AdjRibOut(n.ref, this.pool, this.index);
    n.maxPrefixWarned = false;
    n.addPathSend = new Set([...n.families].filter((f) => info.send.addPath.has(f)));
    n.pathsSent.clear();
    n.eorReceived = new Set();
    n.exportsNothing = rejectsEverything(
      effectiveChain(n.spec.exportPolicy, 'export', !info.internal),
    );
    if (n.addPathSend.size) this.addPathPeers++;
    // Once the session is set up: a sweep's flush may export to this peer too.
    if (n.adjIn?.staleCount) this.sweepUnpreserved(n, info, before);
    if (this.deferring) {
      this.log('info', 'session up: route selection deferred after our restart (RFC 4724)', {
        peer: n.spec.name,
      });
      return;
    }
    this.log('info', 'session up: exporting Loc-RIB', {
      peer: n.spec.name,
      prefixes: this.locRib.size,
    });
    this.exportBatch(() => {
      for (const [slot, best] of this.locRib.slots()) this.exportTo(n, slot, best);
    });
    this.sendStaged(n);
    n.nextSendAt = this.opts.clock.now() + (n.spec.mrai ?? 0) * 1000;
    for (const [afi, safi] of info.families) port.send([endOfRib(afi, safi, info.send)]);
  }

  /**
   * The session went down. With `gracefulRestart` (the peer negotiated GR and did not end
   * the session with a NOTIFICATION), its routes are kept as stale: for staleRoutesTime at
   * most, and only while the session is back within the restart time the peer advertised
   * (RFC 4724 §4.2); then each family's End-of-RIB sweeps what was not sent again.
   */
  sessionDown(id: number, reason: string, gracefulRestart: boolean): void {
    const n = this.must(id);
    if (!n.port) return;
    n.port = undefined;
    n.adjOut?.clear();
    n.adjOut = undefined;
    n.mraiTimer?.cancel();
    n.mraiTimer = undefined;
    for (const t of n.refreshTimers.values()) t.cancel();
    n.refreshTimers.clear();
    if (n.addPathSend.size) this.addPathPeers--;
    n.addPathSend = new Set();
    n.pathsSent.clear();
    if (!n.adjIn) return;
    const gr = n.session?.gracefulRestart;
    if (gracefulRestart && n.spec.gracefulRestart && gr) {
      n.adjIn.markAllStale();
      this.cancelStaleTimers(n);
      const now = this.opts.clock.now();
      n.staleTimer = this.opts.clock.at(now + n.spec.staleRoutesTime * 1000, () =>
        this.sweepStale(n, 'stale-routes timer expired'),
      );
      if (gr.restartTime < n.spec.staleRoutesTime) {
        n.restartTimer = this.opts.clock.at(now + gr.restartTime * 1000, () =>
          this.sweepStale(n, 'session not back within the restart time the peer advertised'),
        );
      }
      this.log('info', 'peer restarting: keeping its routes as stale', {
        peer: n.spec.name,
        reason,
        routes: n.adjIn.staleCount,
        restartTime: gr.restartTime,
        staleRoutesTime: n.spec.staleRoutesTime,
      });
      return;
    }
    this.log('info', 'session down: withdrawing its routes', { peer: n.spec.name, reason });
    this.dropAdjIn(n);
  }

  private dropAdjIn(n: Neighbor): void {
    const adjIn = n.adjIn!;
    const ref = n.ref!;
    for (const r of adjIn.drain()) this.locUpdate(r.slot, ref, r.pathId, undefined);
    n.adjIn = undefined;
    n.ref = undefined;
    this.requestFlush();
  }

  /**
   * A restarted peer's session is up again while its routes are stale (RFC 4724 §4.2): a
   * family it no longer negotiates, or whose forwarding state its new graceful-restart
   * capability does not say it preserved (F bit), loses its stale routes at once; the rest
   * wait for the family's End-of-RIB. Without the capability at all, every stale route goes.
   */
  private sweepUnpreserved(n: Neighbor, info: SessionInfo, before: ReadonlySet<number>): void {
    const gr = info.gracefulRestart;
    if (!gr) return this.sweepStale(n, 'session up again without graceful restart');
    const kept = new Set(
      gr.families
        .filter((f) => (f.flags & GR_FLAGS.FORWARDING_STATE) !== 0)
        .map((f) => famKey(f.afi, f.safi))
        .filter((f) => n.families.has(f)),
    );
    for (const fam of before) {
      if (!kept.has(fam)) {
        this.sweepStale(n, 'forwarding state not preserved across the restart', fam);
      }
    }
  }

  private cancelStaleTimers(n: Neighbor): void {
    n.staleTimer?.cancel();
    n.restartTimer?.cancel();
    n.staleTimer = n.restartTimer = undefined;
  }

  /** Sweeps the peer's stale routes: all, or one family's (`fam`, a famKey). */
  private sweepStale(n: Neighbor, why: string, fam?: number): void {
    if (fam === undefined) this.cancelStaleTimers(n);
    if (!n.adjIn || !n.ref) return;
    let swept = 0;
    for (const r of n.adjIn.sweepStale(fam === undefined ? undefined : this.inFamily(fam))) {
      this.locUpdate(r.slot, n.ref, r.pathId, undefined);
      swept++;
    }
    if (n.adjIn.staleCount === 0) this.cancelStaleTimers(n);
    this.log('info', 'stale routes flushed', {
      peer: n.spec.name,
      why,
      routes: swept,
      ...(fam === undefined ? {} : { family: famName(fam) }),
    });
    if (!n.up && n.adjIn.size === 0) {
      n.adjIn = undefined;
      n.ref = undefined;
    }
    this.requestFlush();
  }

  // ---- receive ---------------------------------------------------------------------------

  receiveUpdate(id: number, u: UpdateMessage): void {
    // Decision time is taken per UPDATE (import + Loc-RIB), not per prefix: a clock read
    // per prefix cost a few per cent of a full-table load.
    const t0 = performance.now();
    this.processUpdate(id, u);
    this.decisionTimeMs += performance.now() - t0;
  }

  private processUpdate(id: number, u: UpdateMessage): void {
    const n = this.must(id);
    if (!n.adjIn || !n.ref || !n.session) return;
    n.counters.updatesIn++;
    const eor = endOfRibFamily(u);
    if (eor) {
      this.log('debug', 'End-of-RIB received', { peer: n.spec.name, afi: eor.afi, safi: eor.safi });
      const fam = famKey(eor.afi, eor.safi);
      n.eorReceived.add(fam);
      if (n.adjIn.staleCount > 0) this.sweepStale(n, 'End-of-RIB received', fam);
      if (this.deferring) this.checkDeferral();
      return;
    }
    const ref = n.ref;
    const adjIn = n.adjIn;
    for (const w of u.withdrawn) this.withdrawIn(n, adjIn, ref, w);
    let reach: MpReach | undefined;
    for (const a of u.attributes) {
      if (a.kind === 'mp-unreach' && a.withdrawn)
        for (const w of a.withdrawn) this.withdrawIn(n, adjIn, ref, w);
      else if (a.kind === 'mp-reach') reach = a;
    }
    const announced: readonly Nlri[] = reach?.nlri
      ? u.nlri.length
        ? [...u.nlri, ...reach.nlri]
        : reach.nlri
      : u.nlri;
    if (announced.length > 0) {
      if (u.treatAsWithdraw) {
        n.counters.treatAsWithdraw++;
        this.log('warn', 'UPDATE treated as withdraw (RFC 7606)', {
          peer: n.spec.name,
          prefixes: announced.length,
          errors: u.errors?.map((e) => e.reason),
        });
        for (const w of announced) this.withdrawIn(n, adjIn, ref, w);
      } else this.announceIn(n, adjIn, ref, u.attributes, announced);
    }
    this.checkMaxPrefix(n);
    // A burst of UPDATEs read in one go (the kernel hands over megabytes at a time) is
    // exported in pieces: routes reach the other peers sooner and the working set stays
    // small. Export is idempotent per prefix, so where the cut falls does not matter.
    if (this.dirty.length >= FLUSH_AT && !this.deferring) this.flush();
    else this.requestFlush();
  }

  private withdrawIn(n: Neighbor, adjIn: AdjRibIn, ref: PeerRef, w: Nlri): void {
    n.counters.prefixesWithdrawnIn++;
    const slot = this.index.find(prefixKey(w.prefix));
    if (slot < 0) return; // no table holds the prefix
    const pathId = w.pathId ?? 0;
    this.index.ref(slot); // the slot must stand for this prefix until the Loc-RIB is done
    adjIn.withdraw(slot, pathId);
    this.locUpdate(slot, ref, pathId, undefined);
    this.index.unref(slot);
  }

  private announceIn(
    n: Neighbor,
    adjIn: AdjRibIn,
    ref: PeerRef,
    attributes: readonly PathAttribute[],
    nlri: readonly Nlri[],
  ): void {
    let attrs = attributes;
    if (!ref.ibgp) attrs = attrs.filter((a) => a.kind !== 'local-pref');
    const pre = this.pool.intern(attrs, n.session!.receive);
    const loop = this.loopReason(ref, pre, attrs);
    if (loop) {
      n.counters.loopsRejected += nlri.length;
      this.log('debug', `routes rejected: ${loop}`, { peer: n.spec.name, prefixes: nlri.length });
    }
    const chain = effectiveChain(n.spec.importPolicy, 'import', !ref.ibgp);
    // Accept-all import (the common eBGP set-up): no per-prefix policy run at all.
    const acceptAll = acceptsEverything(chain);
    const policyPeer = { asn: ref.asn, address: ref.address, ibgp: ref.ibgp };
    const ctx = { localAsn: this.opts.localAsn };
    const owned: AttrSet[] = [pre];
    // Decoded once for the whole UPDATE (sets keep only their canonical bytes).
    const preAttrs = acceptAll || loop ? undefined : pre.attrs;
    for (const e of nlri) {
      n.counters.prefixesAnnouncedIn++;
      const slot = this.index.slot(prefixKey(e.prefix));
      const pathId = e.pathId ?? 0;
      let post: AttrSet | undefined;
      if (!loop && acceptAll) post = pre;
      else if (!loop) {
        const r = evaluateChain(
          chain,
          { prefix: e.prefix, attributes: preAttrs!, peer: policyPeer, pathId },
          ctx,
        );
        if (r.action === 'accept') {
          if (r.attributes === preAttrs) post = pre;
          else {
            post = this.pool.intern(r.attributes);
            owned.push(post);
          }
        }
      }
      this.index.ref(slot); // held across both tables, freed after if neither keeps it
      adjIn.announce(slot, pathId, pre, post);
      this.locUpdate(slot, ref, pathId, post, post && this.nextHopMeta(post));
      this.index.unref(slot);
    }
    for (const s of owned) this.pool.release(s);
  }

  /**
   * Why a received route must be ignored as a loop, if it must. `attrs` are the set's
   * attributes as received (in any order), when the caller has them decoded already.
   */
  private loopReason(
    ref: PeerRef,
    s: AttrSet,
    attrs: readonly PathAttribute[] = s.attrs,
  ): string | undefined {
    if (!ref.ibgp) {
      for (const seg of effectiveAsPath(attrs, !s.reconcilesAs4).asPath)
        if (seg.asns.includes(this.opts.localAsn))
          return `AS loop (our AS ${this.opts.localAsn} in the AS path)`;
      return undefined;
    }
    if (s.originatorId === this.routerIdNum) return 'ORIGINATOR_ID is our router ID (RFC 4456 §8)';
    const cl = findAttribute(attrs, 'cluster-list');
    if (cl && cl.clusterIds.some((c) => bgpIdToNumber(c) === this.clusterIdNum)) {
      return 'our cluster ID is in CLUSTER_LIST (RFC 4456 §8)';
    }
    return undefined;
  }

  private checkMaxPrefix(n: Neighbor): void {
    const mp = n.spec.maxPrefix;
    if (!mp || !n.adjIn || n.adjIn.size <= mp.limit) return;
    if (mp.action === 'warn') {
      if (!n.maxPrefixWarned)
        this.log('warn', 'max-prefix limit exceeded', { peer: n.spec.name, limit: mp.limit });
      n.maxPrefixWarned = true;
      return;
    }
    // RFC 4486 §4: data = AFI (2), SAFI (1), the upper bound (4).
    const [afi, safi] = n.session?.families[0] ?? [AFI.IPv4, SAFI.UNICAST];
    const data = new Uint8Array(7);
    data[0] = afi >> 8;
    data[1] = afi & 0xff;
    data[2] = safi;
    data.set(u32ToBytes(mp.limit), 3);
    const port = n.port;
    this.log('warn', 'max-prefix limit exceeded: closing the session', {
      peer: n.spec.name,
      limit: mp.limit,
    });
    this.sessionDown(n.id, 'max-prefix', false);
    port?.stop(`max-prefix limit ${mp.limit} exceeded`, {
      code: ERR.CEASE,
      subcode: ERR_CEASE.MAXIMUM_NUMBER_OF_PREFIXES_REACHED,
      data,
    });
  }

  /**
   * Re-runs the import policy over the routes as received (needs keepPrePolicy); returns
   * false when the pre-policy routes are not kept (then ask the peer: ROUTE-REFRESH).
   */
  reimport(id: number): boolean {
    const n = this.must(id);
    if (!n.spec.keepPrePolicy) return false;
    if (!n.adjIn || !n.ref) return true;
    const ref = n.ref;
    const adjIn = n.adjIn;
    const chain = effectiveChain(n.spec.importPolicy, 'import', !ref.ibgp);
    const policyPeer = { asn: ref.asn, address: ref.address, ibgp: ref.ibgp };
    const ctx = { localAsn: this.opts.localAsn };
    for (const [slot, pathId, pre] of [...adjIn.prePolicyEntries()]) {
      let post: AttrSet | undefined;
      let owned: AttrSet | undefined;
      if (!this.loopReason(ref, pre)) {
        const preAttrs = pre.attrs;
        const r = evaluateChain(
          chain,
          {
            prefix: keyToPrefix(this.index.keyOf(slot)),
            attributes: preAttrs,
            peer: policyPeer,
            pathId,
          },
          ctx,
        );
        if (r.action === 'accept')
          post = r.attributes === preAttrs ? pre : (owned = this.pool.intern(r.attributes));
      }
      this.index.ref(slot);
      adjIn.announce(slot, pathId, pre, post);
      this.locUpdate(slot, ref, pathId, post, post && this.nextHopMeta(post));
      this.index.unref(slot);
      if (owned) this.pool.release(owned);
    }
    this.log('info', 'import policy re-run from the pre-policy Adj-RIB-In', { peer: n.spec.name });
    this.requestFlush();
    return true;
  }

  /**
   * A ROUTE-REFRESH from the peer: subtype 0 asks for the family's routes again (RFC 2918),
   * 1 and 2 (BoRR, EoRR) frame the peer's own re-advertisement (RFC 7313 §4); any other
   * subtype is ignored (§5).
   */
  receiveRouteRefresh(id: number, afi: number, safi: number, subtype = 0): void {
    const n = this.must(id);
    if (!n.port || !n.session) return;
    const fam = famKey(afi, safi);
    if (subtype === 0) return this.answerRefresh(n, afi, safi);
    if (subtype === 1) {
      if (!n.adjIn) return; // nothing received yet: nothing to mark
      n.adjIn.markStale(this.inFamily(fam));
      n.refreshTimers.get(fam)?.cancel();
      const at = this.opts.clock.now() + n.spec.staleRoutesTime * 1000;
      n.refreshTimers.set(
        fam,
        this.opts.clock.at(at, () => {
          n.refreshTimers.delete(fam);
          this.sweepStale(n, 'no End-of-RIB-Refresh within the stale-routes time', fam);
        }),
      );
      this.log('info', 'route refresh from the peer begins (BoRR): its routes marked stale', {
        peer: n.spec.name,
        family: famName(fam),
        stale: n.adjIn.staleCount,
      });
      return;
    }
    if (subtype === 2) {
      const t = n.refreshTimers.get(fam);
      if (!t) return; // no BoRR before it: nothing was marked (RFC 7313 §4)
      t.cancel();
      n.refreshTimers.delete(fam);
      this.sweepStale(n, 'End-of-RIB-Refresh received', fam);
      return;
    }
    this.log('warn', `ROUTE-REFRESH with reserved subtype ${subtype} ignored (RFC 7313 §5)`, {
      peer: n.spec.name,
      family: famName(fam),
    });
  }

  /** The family's Adj-RIB-Out again; with RFC 7313, between BoRR and EoRR. */
  private answerRefresh(n: Neighbor, afi: number, safi: number): void {
    if (!n.adjOut || !n.port || !n.session) return;
    const wanted = famKey(afi, safi);
    const port = n.port;
    const msgs: Uint8Array[] = [];
    for (const u of n.adjOut.dump()) {
      if (u.kind !== 'announce') continue;
      const keys = u.keys.filter((k) => famKey(keyAfi(k), SAFI.UNICAST) === wanted);
      if (keys.length) msgs.push(...this.packAnnounce(n, u.attrs, keys, u.pathIds));
    }
    if (!n.session.enhancedRouteRefresh || !port.sendRouteRefresh) {
      port.send([...msgs, endOfRib(afi, safi, n.session.send)]);
      return;
    }
    port.sendRouteRefresh(afi, safi, 1);
    if (msgs.length) port.send(msgs);
    port.sendRouteRefresh(afi, safi, 2);
  }

  /** Whether a slot's prefix is of family `fam` (keys carry the AFI; SAFI is unicast). */
  private inFamily(fam: number): (slot: number) => boolean {
    return (slot) => famKey(keyAfi(this.index.keyOf(slot)), SAFI.UNICAST) === fam;
  }

  /** Re-runs export towards one peer (its export policy changed); only differences are sent. */
  refreshExport(id: number): void {
    const n = this.must(id);
    if (!n.adjOut) return;
    this.exportBatch(() => {
      for (const [slot, best] of this.locRib.slots()) this.exportTo(n, slot, best);
    });
    this.sendStaged(n);
  }

  // ---- local routes ------------------------------------------------------------------------

  /** Sets the locally originated routes (replacing the previous set). */
  setStaticRoutes(routes: readonly StaticRoute[]): void {
    const next = new Map<PrefixKey, AttrSet>();
    for (const r of routes) next.set(prefixKey(r.prefix), this.pool.intern(r.attributes));
    for (const [key, s] of this.staticRoutes) {
      const slot = this.index.find(key);
      if (!next.has(key) && slot >= 0) this.locUpdate(slot, this.localRef, 0, undefined);
      this.pool.release(s);
    }
    this.staticRoutes.clear();
    for (const [key, s] of next) {
      this.staticRoutes.set(key, s);
      this.locUpdate(this.index.slot(key), this.localRef, 0, s);
    }
    this.requestFlush();
  }

  // ---- Loc-RIB and export ----------------------------------------------------------------

  private nextHopMeta(s: AttrSet): RouteMeta | undefined {
    const r = this.opts.nextHops;
    if (!r) return undefined;
    let m = this.nhCache.get(s);
    if (!m) {
      const nh = nextHopOf(s);
      const res = nh ? r.resolve(nh) : { reachable: false, igpCost: 0 };
      m = { unreachable: !res.reachable, igpCost: res.igpCost };
      this.nhCache.set(s, m);
    }
    return m;
  }

  /**
   * The routing table the resolver uses changed: resolve every received route's next hop
   * again and re-run the decision where the outcome differs.
   */
  nextHopsChanged(): void {
    this.nhCache = new WeakMap();
    for (const n of this.neighbors.values()) {
      if (!n.adjIn || !n.ref) continue;
      for (const [slot, pathId, attrs] of n.adjIn.entries()) {
        this.locUpdate(slot, n.ref, pathId, attrs, this.nextHopMeta(attrs));
      }
    }
    this.requestFlush();
  }

  private locUpdate(
    slot: number,
    peer: PeerRef,
    pathId: number,
    attrs: AttrSet | undefined,
    meta?: RouteMeta,
  ): void {
    if (this.locRib.updateSlot(slot, peer, pathId, attrs, meta) || this.addPathPeers > 0)
      this.markDirty(slot);
  }

  private markDirty(slot: number): void {
    let mark = this.dirtyMark;
    if (slot >= mark.length) {
      mark = new Uint8Array(Math.max(mark.length * 2, slot + 1));
      mark.set(this.dirtyMark);
      this.dirtyMark = mark;
    }
    if (mark[slot] === 0) {
      mark[slot] = 1;
      this.dirty.push(slot);
    }
  }

  /** Deferral ends when every configured neighbour is up and has sent all its End-of-RIBs. */
  private checkDeferral(): void {
    for (const n of this.neighbors.values()) {
      if (!n.up) return;
      for (const f of n.families) if (!n.eorReceived.has(f)) return;
    }
    this.endDeferral('End-of-RIB received from every neighbor');
  }

  /** Resumes route selection: the deferred table goes out, then End-of-RIB to every peer. */
  endDeferral(why: string): void {
    if (!this.deferring) return;
    this.deferring = false;
    this.deferralTimer?.cancel();
    this.deferralTimer = undefined;
    this.log('info', 'route selection resumed after restart', { why, prefixes: this.locRib.size });
    this.exportBatch(() => {
      for (const n of this.neighbors.values()) {
        if (!n.up) continue;
        for (const [slot, best] of this.locRib.slots()) this.exportTo(n, slot, best);
      }
    });
    for (const n of this.neighbors.values()) {
      if (!n.up) continue;
      this.sendStaged(n);
      n.nextSendAt = this.opts.clock.now() + (n.spec.mrai ?? 0) * 1000;
    }
    this.flush();
    for (const n of this.neighbors.values()) {
      if (!n.up || !n.session || !n.port) continue;
      for (const [afi, safi] of n.session.families)
        n.port.send([endOfRib(afi, safi, n.session.send)]);
    }
    this.opts.onDeferralEnd?.(why);
  }

  /** Whether route selection is deferred (RFC 4724 §4.1). */
  get selectionDeferred(): boolean {
    return this.deferring;
  }

  /** Whether the FIB was given a route for this prefix (after deferral: the new state). */
  fibHas(prefix: Prefix): boolean {
    const slot = this.index.find(prefixKey(prefix));
    return slot >= 0 && this.fibInstalled.get(slot, 0) !== undefined;
  }

  private requestFlush(): void {
    if (this.deferring) return;
    if (this.flushScheduled || this.dirty.length === 0) return;
    this.flushScheduled = true;
    this.schedule(() => this.flush());
  }

  /** Runs `fn` with the export cache on, then drops the cache's pool references. */
  private exportBatch(fn: () => void): void {
    if (this.exportCache) return fn();
    this.exportCache = new Map();
    try {
      fn();
    } finally {
      for (const byAttrs of this.exportCache.values()) {
        for (const bySource of byAttrs.values())
          for (const out of bySource.values()) if (out) this.pool.release(out);
      }
      this.exportCache = undefined;
    }
  }

  /** Runs export and the FIB for every prefix whose best route changed since last time. */
  flush(): void {
    this.flushScheduled = false;
    if (this.dirty.length === 0) return;
    const slots = this.dirty;
    this.dirty = [];
    const mark = this.dirtyMark;
    for (let i = 0; i < slots.length; i++) mark[slots[i]!] = 0;
    const fib: FibChange[] = [];
    const up = [...this.neighbors.values()].filter((n) => n.up);
    this.exportBatch(() => {
      for (const slot of slots) {
        const best = this.locRib.bestAt(slot);
        if (this.opts.onFib) this.fibChange(slot, best, fib);
        for (const n of up) this.exportTo(n, slot, best);
      }
    });
    for (const n of up) this.sendOrDefer(n);
    if (fib.length && this.opts.onFib) this.opts.onFib(fib);
  }

  private fibChange(slot: number, best: Route | undefined, out: FibChange[]): void {
    const nh = best && best.peer !== this.localRef ? nextHopOf(best.attrs) : undefined;
    const had = this.fibInstalled.get(slot, 0);
    if (nh) {
      if (had && bytesEqual(had, nh)) return;
      this.fibInstalled.set(slot, 0, nh);
      out.push({ op: 'replace', prefix: keyToPrefix(this.index.keyOf(slot)), nextHop: nh });
    } else if (had) {
      const prefix = keyToPrefix(this.index.keyOf(slot)); // before the slot may be freed
      this.fibInstalled.delete(slot, 0);
      out.push({ op: 'delete', prefix });
    }
  }

  private exportTo(n: Neighbor, slot: number, best: Route | undefined): void {
    // Nothing can be advertised to this peer, and nothing was: no work per prefix.
    if (n.exportsNothing && n.adjOut!.size === 0 && n.adjOut!.pendingCount === 0) return;
    if (
      n.addPathSend.size &&
      n.addPathSend.has(famKey(keyAfi(this.index.keyOf(slot)), SAFI.UNICAST))
    ) {
      this.exportPaths(n, slot);
      return;
    }
    const out = best ? this.exportAttrs(n, slot, best) : undefined;
    n.adjOut!.stage(slot, 0, out);
    if (out) this.pool.release(out);
  }

  /**
   * ADD-PATH send (RFC 7911): the best `addPathSendMax` eligible paths, in decision order,
   * each under a path identifier that stays the same while the path exists (one per source
   * peer and source path ID); identifiers that drop out are withdrawn.
   */
  private exportPaths(n: Neighbor, slot: number): void {
    const key = this.index.keyOf(slot);
    const max = Math.max(1, n.spec.addPathSendMax ?? 1);
    const cands = [...this.locRib.candidatesAt(slot)].filter((r) => !r.unreachable);
    cands.sort((a, b) => compareFast(a, b, this.resolvedDecision));
    const before = n.pathsSent.get(key);
    const now = new Set<number>();
    for (const r of cands) {
      if (now.size >= max) break;
      const out = this.exportAttrs(n, slot, r);
      if (!out) continue;
      const id = this.pathIdOf(r);
      n.adjOut!.stage(slot, id, out);
      this.pool.release(out);
      now.add(id);
    }
    if (before) for (const id of before) if (!now.has(id)) n.adjOut!.stage(slot, id, undefined);
    if (now.size) n.pathsSent.set(key, now);
    else n.pathsSent.delete(key);
  }

  private pathIdOf(r: Route): number {
    const k = `${r.peer.id}:${r.pathId}`;
    let id = this.pathIds.get(k);
    if (id === undefined) {
      id = this.pathIds.size + 1;
      this.pathIds.set(k, id);
    }
    return id;
  }

  /** Sends a peer's staged changes now, or when its MRAI allows. */
  private sendOrDefer(n: Neighbor): void {
    const mrai = (n.spec.mrai ?? 0) * 1000;
    if (mrai <= 0) {
      this.sendStaged(n);
      return;
    }
    if (n.mraiTimer) return; // a send is scheduled; what was staged since goes with it
    const clock = this.opts.clock;
    if (clock.now() >= n.nextSendAt) {
      this.sendStaged(n);
      n.nextSendAt = clock.now() + mrai;
      return;
    }
    n.mraiTimer = clock.at(n.nextSendAt, () => {
      n.mraiTimer = undefined;
      if (!n.up) return;
      this.sendStaged(n);
      n.nextSendAt = clock.now() + mrai;
    });
  }

  /** The attributes `best` is advertised to `n` with, or undefined when it is not. */
  private exportAttrs(n: Neighbor, slot: number, best: Route): AttrSet | undefined {
    const cache = this.exportCache;
    const chain = n.spec.exportPolicy;
    const key = this.index.keyOf(slot);
    if (!cache || (chain && chain.some((p) => p.terms.length > 0)))
      return this.computeExport(n, key, best);
    let byAttrs = cache.get(n);
    if (!byAttrs) cache.set(n, (byAttrs = new Map()));
    let bySource = byAttrs.get(best.attrs);
    if (!bySource) byAttrs.set(best.attrs, (bySource = new Map()));
    const k = best.peer.id * 4 + keyAfi(key);
    const hit = bySource.get(k);
    if (hit !== undefined) {
      if (hit) this.pool.retain(hit);
      return hit ?? undefined;
    }
    const out = this.computeExport(n, key, best);
    if (out) this.pool.retain(out); // the cache's own reference
    bySource.set(k, out ?? null);
    return out;
  }

  private computeExport(n: Neighbor, key: PrefixKey, best: Route): AttrSet | undefined {
    const target = n.ref!;
    const source = best.peer;
    if (source === target) return undefined;
    const afi = keyAfi(key);
    if (!n.families.has(famKey(afi, SAFI.UNICAST))) return undefined;
    const local = source === this.localRef;
    const reflecting = !local && source.ibgp && target.ibgp;
    if (reflecting && !source.rrClient && !target.rrClient) return undefined;
    // IPv6 routes over an IPv4 session: our IPv4 address, IPv4-mapped (RFC 4291 §2.5.5.2),
    // is the next hop when the session has no IPv6 address of ours.
    const selfNh =
      afi === AFI.IPv4
        ? n.localAddress
        : (n.localAddress6 ?? (n.localAddress && v4Mapped(n.localAddress)));
    let attrs: PathAttribute[] = [];
    let nextHop: Uint8Array | undefined = nextHopOf(best.attrs);
    for (const a of markPartialForPropagation(best.attrs.attrs)) {
      if (a.kind === 'mp-reach' || a.kind === 'next-hop') continue;
      if (
        !target.ibgp &&
        (a.kind === 'local-pref' || a.kind === 'originator-id' || a.kind === 'cluster-list')
      )
        continue;
      if (!target.ibgp && a.kind === 'med' && !local) continue;
      attrs.push(a);
    }
    if (!target.ibgp) {
      attrs = [...prependAsn(attrs, this.opts.localAsn, 1)];
      nextHop = selfNh;
    } else {
      if (!attrs.some((a) => a.kind === 'local-pref')) {
        attrs.push({
          kind: 'local-pref',
          code: 5,
          flags: ATTR_DEFAULT_FLAGS[5]!,
          localPref: best.attrs.localPref ?? 100,
        });
      }
      if (!attrs.some((a) => a.kind === 'as-path')) {
        attrs.push({
          kind: 'as-path',
          code: 2,
          flags: ATTR_DEFAULT_FLAGS[2]!,
          segments: [],
          asnWidth: 4,
        });
      }
      if (n.spec.nextHopSelf || !nextHop) nextHop = selfNh;
      if (reflecting) attrs = this.reflect(attrs, source);
    }
    if (!nextHop) return undefined;
    attrs.sort((a, b) => a.code - b.code);
    const chain = effectiveChain(n.spec.exportPolicy, 'export', !target.ibgp);
    const r: Pick<PolicyResult, 'action' | 'attributes' | 'nextHop'> = acceptsEverything(chain)
      ? { action: 'accept', attributes: attrs, nextHop: undefined }
      : evaluateChain(
          chain,
          {
            prefix: keyToPrefix(key),
            attributes: attrs,
            peer: { asn: source.asn, address: source.address, ibgp: source.ibgp },
          },
          { localAsn: this.opts.localAsn },
        );
    if (r.action !== 'accept') return undefined;
    if (r.nextHop === 'self') nextHop = selfNh ?? nextHop;
    else if (r.nextHop) nextHop = r.nextHop;
    const final: PathAttribute[] = r.attributes.filter(
      (a) => a.kind !== 'next-hop' && a.kind !== 'mp-reach',
    );
    if (afi === AFI.IPv4)
      final.push({ kind: 'next-hop', code: 3, flags: ATTR_DEFAULT_FLAGS[3]!, nextHop });
    else {
      final.push({
        kind: 'mp-reach',
        code: 14,
        flags: ATTR_DEFAULT_FLAGS[14]!,
        afi,
        safi: SAFI.UNICAST,
        nextHop,
        reserved: 0,
      });
    }
    final.sort((a, b) => a.code - b.code);
    return this.pool.intern(final);
  }

  private reflect(attrs: PathAttribute[], source: PeerRef): PathAttribute[] {
    const out: PathAttribute[] = attrs.filter(
      (a) => a.kind !== 'originator-id' && a.kind !== 'cluster-list',
    );
    const orig = attrs.find((a) => a.kind === 'originator-id');
    out.push(
      orig ?? {
        kind: 'originator-id',
        code: 9,
        flags: ATTR_DEFAULT_FLAGS[9]!,
        originatorId: u32ToBytes(source.routerId),
      },
    );
    const cl = attrs.find((a) => a.kind === 'cluster-list');
    out.push({
      kind: 'cluster-list',
      code: 10,
      flags: ATTR_DEFAULT_FLAGS[10]!,
      clusterIds: [this.clusterId, ...(cl?.kind === 'cluster-list' ? cl.clusterIds : [])],
    });
    return out;
  }

  private sendStaged(n: Neighbor): void {
    if (!n.adjOut || !n.port || !n.session) return;
    const msgs: Uint8Array[] = [];
    for (const u of n.adjOut.flush()) {
      if (u.kind === 'withdraw') {
        n.counters.prefixesWithdrawnOut += u.keys.length;
        const v4: number[] = [];
        const v4Ids: number[] = [];
        const v6: Nlri[] = [];
        u.keys.forEach((k, i) => {
          if (typeof k === 'number') {
            v4.push(k);
            v4Ids.push(u.pathIds[i]!);
          } else v6.push(nlriOf(keyToPrefix(k), u.pathIds[i]!));
        });
        if (v4.length) msgs.push(...packIpv4Keys(undefined, v4, v4Ids, n.session.send));
        if (v6.length) msgs.push(...packWithdrawals(AFI.IPv6, SAFI.UNICAST, v6, n.session.send));
      } else {
        n.counters.prefixesAnnouncedOut += u.keys.length;
        msgs.push(...this.packAnnounce(n, u.attrs, u.keys, u.pathIds));
      }
    }
    if (msgs.length) {
      n.counters.updatesOut += msgs.length;
      n.port.send(msgs);
    }
  }

  private packAnnounce(
    n: Neighbor,
    attrs: AttrSet,
    keys: readonly PrefixKey[],
    pathIds: readonly number[],
  ): Uint8Array[] {
    const afi = keyAfi(keys[0]!);
    if (afi === AFI.IPv4) {
      const ctx = n.session!.send;
      const block = ctx.as4 ? attrs.as4WireBlock() : undefined;
      return packIpv4Keys(block ?? attrs.attrs, keys as readonly number[], pathIds, ctx);
    }
    const nlri = keys.map((k, i) => nlriOf(keyToPrefix(k), pathIds[i]!));
    const nh = nextHopOf(attrs)!;
    const rest = attrs.attrs.filter((a) => a.kind !== 'mp-reach');
    return packAnnouncements(AFI.IPv6, SAFI.UNICAST, rest, nh, nlri, n.session!.send);
  }

  // ---- queries (control API) ------------------------------------------------------------

  neighborState(id: number):
    | {
        up: boolean;
        received: number;
        accepted: number;
        advertised: number;
        stale: number;
        counters: NeighborCounters;
      }
    | undefined {
    const n = this.neighbors.get(id);
    if (!n) return undefined;
    let accepted = 0;
    if (n.adjIn && n.ref)
      for (const [slot, pathId] of n.adjIn.entries())
        if (this.isCandidate(slot, n.ref, pathId)) accepted++;
    return {
      up: n.up,
      received: n.adjIn?.size ?? 0,
      accepted,
      advertised: n.adjOut?.size ?? 0,
      stale: n.adjIn?.staleCount ?? 0,
      counters: n.counters,
    };
  }

  private isCandidate(slot: number, ref: PeerRef, pathId: number): boolean {
    for (const r of this.locRib.candidatesAt(slot))
      if (r.peer === ref && r.pathId === pathId) return true;
    return false;
  }

  /** Candidates of a prefix, best first, with why the best one won. */
  ribEntry(prefix: Prefix):
    | {
        prefix: string;
        paths: { route: Route; best: boolean; from: string; stale: boolean }[];
        reason: string;
      }
    | undefined {
    const key = prefixKey(prefix);
    const cands = this.locRib.candidates(key);
    if (cands.length === 0) return undefined;
    const sel = selectBest(cands, this.decisionOptions);
    return {
      prefix: formatPrefix(prefix),
      reason: sel.reason,
      paths: cands.map((route) => ({
        route,
        best: route === sel.best,
        from: this.peerName(route.peer),
        stale: route.stale || this.isStalePath(key, route),
      })),
    };
  }

  /** Kept from before its peer restarted (RFC 4724): stale in the peer's Adj-RIB-In. */
  private isStalePath(key: PrefixKey, route: Route): boolean {
    const n = this.neighbors.get(route.peer.id);
    const slot = this.index.find(key);
    return n?.ref === route.peer && slot >= 0 && (n.adjIn?.isStale(slot, route.pathId) ?? false);
  }

  peerName(p: PeerRef): string {
    if (p === this.localRef) return 'local';
    return this.neighbors.get(p.id)?.spec.name ?? formatAddr(p.address);
  }

  /** Best routes, for `show rib` and MRT dumps (a generator: the caller may chunk). */
  *bestRoutes(): Generator<[Prefix, Route]> {
    for (const [key, best] of this.locRib.entries()) if (best) yield [keyToPrefix(key), best];
  }

  private log(
    level: 'debug' | 'info' | 'warn',
    msg: string,
    fields?: Record<string, unknown>,
  ): void {
    this.opts.log?.(level, msg, fields);
  }
}

/** ::ffff:a.b.c.d */
function v4Mapped(a: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(a, 12);
  return out;
}

/** A chain that rejects every route whatever it is: only defaults, the first decisive one rejects. */
/** The chain accepts every route unchanged (no terms before an accepting default). */
function acceptsEverything(chain: readonly CompiledPolicy[]): boolean {
  for (const p of chain) {
    if (p.terms.length > 0) return false;
    if (p.default === 'accept') return true;
    if (p.default === 'reject') return false;
  }
  return false; // the end of a chain rejects
}

function rejectsEverything(chain: readonly CompiledPolicy[]): boolean {
  for (const p of chain) {
    if (p.terms.length > 0) return false;
    if (p.default === 'accept') return false;
    if (p.default === 'reject') return true;
  }
  return true; // the end of a chain rejects
}

/** The next hop of a route: NEXT_HOP, or the MP_REACH_NLRI next hop (global part). */
export function nextHopOf(s: AttrSet): Uint8Array | undefined {
  if (s.mpNextHop) return s.mpNextHop.length === 32 ? s.mpNextHop.subarray(0, 16) : s.mpNextHop;
  return s.nextHop;
}

export { AS_SEG, ATTR, IPV4_UNICAST, IPV6_UNICAST };
