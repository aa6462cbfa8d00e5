// An independent record of what each replica of a bug-tolerant router advertised, for the
// real-daemon tests (the hypervisor runner, src/lab/btr-router-runner.ts, option `audit`):
// every UPDATE a replica sends to the hypervisor is framed and turned into canonical routes
// (src/btr/canonical.ts, the voter's own form) beside the voter, and kept as that replica's
// Adj-RIB-Out towards the neighbour (key → value; a withdrawal removes the key, so
// "withdrawn" and "never announced" are the same absent value, as for the voter).
// `report()` compares the replicas per neighbour: for every key, the value a majority of
// them holds, and the keys on which a replica differs from it.

import { describeValue, canonicalUpdate } from '../btr/canonical.js';
import { describeKey } from '../btr/canonical-key.js';
import type { VoteKey, VoteValue } from '../btr/voter.js';
import { ForwardingTransport, type Connector, type Transport } from '../net/transport.js';
import { AS4_CONTEXT, Framer, MSG } from '../wire/index.js';

export interface AuditDifference {
  readonly key: string;
  readonly majority: string;
  /** Each replica's value (described), where it differs from the majority's. */
  readonly values: Readonly<Record<string, string>>;
}

export interface AuditNeighbour {
  readonly neighbor: string;
  /** Per replica: routes it advertises, UPDATEs it sent, keys where it differs. */
  readonly replicas: readonly {
    readonly replica: string;
    readonly routes: number;
    readonly updates: number;
    readonly differs: number;
  }[];
  /** Keys any replica advertises. */
  readonly keys: number;
  /** Keys without a majority value, or where some replica differs from it. */
  readonly disagreements: number;
  /** The first of them (at most 20). */
  readonly examples: readonly AuditDifference[];
}

interface Table {
  routes: Map<VoteKey, VoteValue>;
  updates: number;
}

/** Records replicas' UPDATEs through wrapped connectors. */
export class ReplicaAudit {
  // neighbour → replica → its current session's table
  private readonly tables = new Map<string, Map<string, Table>>();
  private readonly replicas: string[] = [];

  /** Wraps a replica's connector (its sessions, one per neighbour). */
  connector(replica: string, base: Connector): Connector {
    this.replicas.push(replica);
    return {
      connect: async (remote, local) =>
        this.tap(replica, local?.address ?? remote.address, await base.connect(remote, local)),
      listen: (local, onAccept) =>
        base.listen(local, (t) => onAccept(this.tap(replica, local.address, t))),
    };
  }

  private tap(replica: string, neighbor: string, t: Transport): Transport {
    // A new session (the replica restarted): it starts from an empty Adj-RIB-Out.
    const table: Table = { routes: new Map(), updates: 0 };
    let byReplica = this.tables.get(neighbor);
    if (!byReplica) this.tables.set(neighbor, (byReplica = new Map()));
    byReplica.set(replica, table);
    const framer = new Framer({ extendedMessage: true });
    const record = (chunk: Uint8Array): void => {
      framer.push(chunk);
      for (let m = framer.next(); m instanceof Uint8Array; m = framer.next()) {
        if (m[18] !== MSG.UPDATE) continue;
        table.updates++;
        const c = canonicalUpdate(m, AS4_CONTEXT);
        if (!c.ok) continue; // the hypervisor reports it as a replica fault
        for (const r of c.routes) {
          if (r.value === undefined) table.routes.delete(r.key);
          else table.routes.set(r.key, r.value);
        }
      }
    };
    return new (class extends ForwardingTransport {
      override onData(cb: (chunk: Uint8Array) => void): void {
        super.onData((chunk) => {
          record(chunk);
          cb(chunk);
        });
      }
    })(t);
  }

  report(): AuditNeighbour[] {
    return [...this.tables].map(([neighbor, byReplica]) => {
      const names = this.replicas;
      const tables = names.map((n) => byReplica.get(n)?.routes ?? new Map<VoteKey, VoteValue>());
      const keys = new Set<VoteKey>();
      for (const t of tables) for (const k of t.keys()) keys.add(k);
      const differs = names.map(() => 0);
      const examples: AuditDifference[] = [];
      let disagreements = 0;
      for (const key of keys) {
        const counts = new Map<VoteValue | undefined, number>();
        for (const t of tables) counts.set(t.get(key), (counts.get(t.get(key)) ?? 0) + 1);
        const [top, n] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
        const majority = n * 2 > names.length ? top : null;
        if (counts.size === 1) continue;
        disagreements++;
        const values: Record<string, string> = {};
        tables.forEach((t, i) => {
          if (majority === null || t.get(key) !== majority) {
            differs[i]!++;
            values[names[i]!] = describeValue(t.get(key));
          }
        });
        if (examples.length < 20) {
          examples.push({
            key: describeKey(key),
            majority: majority === null ? '(no majority)' : describeValue(majority),
            values,
          });
        }
      }
      return {
        neighbor,
        replicas: names.map((replica, i) => ({
          replica,
          routes: tables[i]!.size,
          updates: byReplica.get(replica)?.updates ?? 0,
          differs: differs[i]!,
        })),
        keys: keys.size,
        disagreements,
        examples,
      };
    });
  }
}
