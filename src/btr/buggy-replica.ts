// A deliberately buggy replica for the `nonstop demo` (BTR paper §5 bug model: "add an
// announcement" and "change the next hop of a prefix"): wrappers that corrupt what one
// replica sends to its neighbours (`BuggyTransport`) and what it installs in its FIB
// (`BuggyFib`), as a bug in its route computation would do to both. The test suites' fault
// injection (durations, inter-arrival times, kill/stop/slow) lives in fault-inject*.ts; this
// file is only the small, fixed bug the demo shows being masked.

import type { Prefix } from '../lib/ip.js';
import type { ApplyReport, Fib, FibChange, FibRoute } from '../fib/index.js';
import { ForwardingTransport, type Transport } from '../net/transport.js';
import {
  AS4_CONTEXT,
  ATTR_DEFAULT_FLAGS,
  Framer,
  MSG,
  decodeMessage,
  encodeMessage,
  type CodecContext,
  type UpdateMessage,
} from '../wire/index.js';

export interface Bug {
  /** Announce (and install) this extra IPv4 prefix, which nobody sent. */
  readonly bogusPrefix: Prefix;
  /** The gateway it installs the bogus prefix with. */
  readonly bogusGateway: Uint8Array;
  /** Give this IPv4 prefix a wrong next hop: in UPDATEs and in the FIB. */
  readonly victim: Prefix;
  readonly wrongNextHop: Uint8Array;
}

export function samePrefix(a: Prefix, b: Prefix): boolean {
  if (a.afi !== b.afi || a.len !== b.len) return false;
  for (let i = 0; i < a.addr.length; i++) if (a.addr[i] !== b.addr[i]) return false;
  return true;
}

/** What a BuggyTransport does to the UPDATEs it writes (either part may be absent). */
export interface Corruption {
  /** Announce this extra prefix (IPv4) in the first UPDATE with IPv4 NLRI. */
  readonly addPrefix?: Prefix;
  /** Give every UPDATE announcing this prefix (IPv4) this next hop. */
  readonly nextHopOf?: { readonly prefix: Prefix; readonly nextHop: Uint8Array };
}

/** The corruption of a demo bug's UPDATEs: the bogus prefix, the victim's wrong next hop. */
export function bugCorruption(bug: Bug): Corruption {
  return {
    addPrefix: bug.bogusPrefix,
    nextHopOf: { prefix: bug.victim, nextHop: bug.wrongNextHop },
  };
}

/** A replica's session transport whose outgoing UPDATEs are corrupted (counted per UPDATE). */
export class BuggyTransport extends ForwardingTransport {
  private readonly framer = new Framer({ extendedMessage: true });
  private added = false;
  /** UPDATEs altered so far. */
  corrupted = 0;

  constructor(
    inner: Transport,
    private readonly c: Corruption,
    private readonly ctx: CodecContext = AS4_CONTEXT,
  ) {
    super(inner);
  }

  override write(bytes: Uint8Array): boolean {
    this.framer.push(bytes);
    let ok = true;
    for (let m = this.framer.next(); m instanceof Uint8Array; m = this.framer.next()) {
      ok = this.inner.write(m[18] === MSG.UPDATE ? this.alter(m) : m.slice());
    }
    return ok;
  }

  private alter(m: Uint8Array): Uint8Array {
    const d = decodeMessage(m, this.ctx);
    if (!d.ok || d.message.type !== MSG.UPDATE || d.message.nlri.length === 0) return m.slice();
    const u = d.message;
    let nlri = u.nlri;
    let attributes = u.attributes;
    const { addPrefix, nextHopOf } = this.c;
    if (addPrefix && !this.added) {
      nlri = [...nlri, { prefix: addPrefix }];
      this.added = true;
    }
    if (nextHopOf && nlri.some((n) => samePrefix(n.prefix, nextHopOf.prefix))) {
      attributes = attributes.map((a) =>
        a.kind === 'next-hop'
          ? { kind: 'next-hop', code: 3, flags: ATTR_DEFAULT_FLAGS[3]!, nextHop: nextHopOf.nextHop }
          : a,
      );
    }
    if (nlri === u.nlri && attributes === u.attributes) return m.slice();
    this.corrupted++;
    const out: UpdateMessage = { ...u, nlri, attributes };
    return encodeMessage(out, this.ctx);
  }
}

/** A replica's FIB that installs the bug: the bogus route, and the victim's wrong gateway. */
export class BuggyFib implements Fib {
  private added = false;
  /** Changes altered or added so far. */
  corrupted = 0;

  constructor(
    private readonly inner: Fib,
    private readonly bug: Bug,
  ) {}

  apply(changes: readonly FibChange[]): Promise<ApplyReport> {
    const out: FibChange[] = [];
    for (const c of changes) {
      if (c.op !== 'delete' && samePrefix(c.route.prefix, this.bug.victim)) {
        this.corrupted++;
        out.push({
          op: c.op,
          route: { ...c.route, nextHops: [{ gateway: this.bug.wrongNextHop }] },
        });
      } else out.push(c);
    }
    if (!this.added && out.some((c) => c.op !== 'delete')) {
      this.added = true;
      this.corrupted++;
      out.push({
        op: 'replace',
        route: { prefix: this.bug.bogusPrefix, nextHops: [{ gateway: this.bug.bogusGateway }] },
      });
    }
    // The report's indexes refer to `out`; the caller's batch is a prefix of it.
    return this.inner.apply(out);
  }
  lookup(addr: Uint8Array): FibRoute | undefined {
    return this.inner.lookup?.(addr);
  }
  list(afi?: Parameters<Fib['list']>[0]): Promise<FibRoute[]> {
    return this.inner.list(afi);
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  close(opts?: { readonly keepRoutes?: boolean }): Promise<void> {
    return this.inner.close(opts);
  }
}
