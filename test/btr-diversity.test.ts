// Replica diversity (issue 5, "Must show" 5 and 6; docs/btr.md "Replica diversity"): a
// bug-tolerant router whose replicas are nonstop, BIRD 2, GoBGP and BIRD 1.6, each in
// its own namespace behind the transparent proxy (src/lab/btr-replica.ts), and whose
// hypervisor runs in the router's namespace (test/support/btr-router.ts). Its two external
// neighbours are scripted peers (test/support/btr-table-feeder.ts) that feed it real routes from
// the shared RIPE RIS table dump of 2002 (`bview.20020722.2337.gz`, read with src/mrt/):
// AS paths with AS_SETs, ATOMIC_AGGREGATE and AGGREGATOR, MEDs, communities, all three
// origins — each neighbour half of the table.
//
// Checked once the router has converged:
// - every replica votes, GoBGP included (5): the hypervisor's status shows its session to
//   each neighbour Established and voting, and the independent audit of what each replica
//   advertised (test/support/btr-audit.ts, canonical form) has GoBGP's output equal to the
//   majority's on every key;
// - zero disagreements (6): for each neighbour's update voter, and in the audit every
//   replica's canonical output equals every other's on every key;
// - each neighbour received exactly the other's routes.
//
// FRR replicas are configured with `neighbor X solo` (src/lab/btr-replica.ts): without it FRR
// 8.4 sends each neighbour its own routes back (505 keys per neighbour here) and this test
// fails — nonstop, BIRD and GoBGP never do (docs/btr.md "Replica diversity").

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatPrefix, parseIPv4, parsePrefix } from '../src/lib/ip.js';
import { btrReplica, Lab, labAvailable, waitFor, type LabNode } from '../src/lab/index.js';
import { readMrtBatches } from '../src/mrt/reader.js';
import { decodeRibAttributes } from '../src/mrt/records.js';
import {
  AS4_CONTEXT,
  AS_SEG,
  MSG,
  decodeMessage,
  encodeMessage,
  type PathAttribute,
} from '../src/wire/index.js';
import type { AuditNeighbour } from './support/btr-audit.js';
import type { TableFeederConfig, TableFeederLine } from './support/btr-table-feeder.js';
import { ROUTER, hypervisorFor } from './support/btr-lab.js';
import type { BtrRouterConfig, BtrRouterLine } from './support/btr-router.js';
import { requireData } from './support/data.js';

const BVIEW = 'RIPE-NCC-bgpdump/test_data/bview.20020722.2337.gz';

/** Routes taken per RIS peer of the dump (each gives different attributes). */
const TAKE: Readonly<Record<string, { sets: number; others: number }>> = {
  '193.203.0.1': { sets: 160, others: 300 }, // AS_SETs, ATOMIC_AGGREGATE, AGGREGATOR, origins
  '193.203.0.65': { sets: 0, others: 350 }, // MEDs, communities
  '193.203.0.19': { sets: 0, others: 200 }, // MEDs, communities
};

const FEEDERS = [
  { name: 'fa', asn: 65002, address: '198.18.1.2', router: '198.18.1.1' },
  { name: 'fb', asn: 65003, address: '198.18.2.2', router: '198.18.2.1' },
] as const;

const REPLICAS = [
  { name: 'rnon', kind: 'nonstop', mode: 'accept' },
  { name: 'rbird', kind: 'bird', mode: 'accept' },
  { name: 'rgobgp', kind: 'gobgp', mode: 'accept' },
  { name: 'rbird1', kind: 'bird1', mode: 'accept' },
  { name: 'rfrr', kind: 'frr', mode: 'connect' },
] as const;

interface FedRoute {
  readonly prefix: string;
  readonly attrs: PathAttribute[];
}

const isPrivate = (asn: number): boolean => asn === 23456 || asn >= 64512;

/**
 * Routes of the dump with the attributes a neighbour would send: ORIGIN, AS_PATH (4-octet),
 * MED, ATOMIC_AGGREGATE, AGGREGATOR, COMMUNITIES as recorded; no LOCAL_PREF (eBGP), no
 * paths through private ASNs (the router's and the neighbours' ASNs are private).
 */
async function tableRoutes(path: string): Promise<FedRoute[]> {
  const out: FedRoute[] = [];
  const seen = new Set<string>();
  const taken = new Map<string, { sets: number; others: number }>();
  for await (const batch of readMrtBatches(path)) {
    for (const r of batch) {
      if (r.kind !== 'table-dump' || r.prefix.afi !== 1 || r.prefix.len === 0) continue;
      const peer = [...r.peerAddress].join('.');
      const want = TAKE[peer];
      if (!want) continue;
      const prefix = formatPrefix(r.prefix);
      if (seen.has(prefix)) continue;
      const d = decodeRibAttributes(r.attributes, r.as4);
      if (d.fatal || d.errors.length > 0) continue;
      const path = d.attributes.find((a) => a.kind === 'as-path' && a.code === 2);
      if (path?.kind !== 'as-path' || path.segments.some((s) => s.asns.some(isPrivate))) continue;
      const hasSet = path.segments.some((s) => s.type === AS_SEG.AS_SET);
      const n = taken.get(peer) ?? { sets: 0, others: 0 };
      if (hasSet ? n.sets >= want.sets : n.others >= want.others) continue;
      taken.set(peer, hasSet ? { ...n, sets: n.sets + 1 } : { ...n, others: n.others + 1 });
      seen.add(prefix);
      const attrs: PathAttribute[] = [];
      for (const a of d.attributes) {
        if (a.kind === 'origin') attrs.push({ ...a, flags: 0x40 });
        else if (a.kind === 'as-path') attrs.push({ ...a, flags: 0x40, asnWidth: 4 });
        else if (a.kind === 'med') attrs.push({ ...a, flags: 0x80 });
        else if (a.kind === 'atomic-aggregate') attrs.push({ ...a, flags: 0x40 });
        else if (a.kind === 'aggregator') attrs.push({ ...a, flags: 0xc0, asnWidth: 4 });
        else if (a.kind === 'communities') attrs.push({ ...a, flags: 0xc0 });
      }
      out.push({ prefix, attrs });
    }
  }
  return out;
}

/** One UPDATE per route, as the neighbour `asn` at `nextHop` sends it (hex lines). */
function feed(routes: readonly FedRoute[], asn: number, nextHop: string): string {
  return routes
    .map((r) => {
      const attrs = r.attrs.map((a): PathAttribute => {
        if (a.kind !== 'as-path') return a;
        const [first, ...rest] = a.segments;
        const segments =
          first?.type === AS_SEG.AS_SEQUENCE
            ? [{ type: first.type, asns: [asn, ...first.asns] }, ...rest]
            : [{ type: AS_SEG.AS_SEQUENCE, asns: [asn] }, ...a.segments];
        return { ...a, segments };
      });
      attrs.push({ kind: 'next-hop', code: 3, flags: 0x40, nextHop: parseIPv4(nextHop)! });
      attrs.sort((x, y) => x.code - y.code);
      const m = encodeMessage(
        {
          type: MSG.UPDATE,
          withdrawn: [],
          attributes: attrs,
          nlri: [{ prefix: parsePrefix(r.prefix)! }],
        },
        AS4_CONTEXT,
      );
      return Buffer.from(m).toString('hex');
    })
    .join('\n');
}

/** JSON lines of a spawned process's log, parsed once each. */
function jsonLines<T>(logTail: (n: number) => string): () => T[] {
  const parsed: T[] = [];
  let consumed = 0;
  return () => {
    const text = logTail(1e9);
    const end = text.lastIndexOf('\n') + 1;
    if (end > consumed) {
      for (const l of text.slice(consumed, end).split('\n')) {
        if (!l.startsWith('{')) continue;
        try {
          parsed.push(JSON.parse(l) as T);
        } catch {
          // not one of ours
        }
      }
      consumed = end;
    }
    return parsed;
  };
}

type StatusLine = Extract<BtrRouterLine, { status: unknown }>;

test('diverse replicas (nonstop, BIRD 2, FRR, GoBGP, BIRD 1.6) agree on a real table', async (t) => {
  if (!labAvailable(['bird', 'bird1', 'gobgp', 'btr']))
    return t.skip('lab not available and NONSTOP_SKIP_LAB=1');
  const data = requireData(t, BVIEW);
  if (!data) return;
  const routes = await tableRoutes(data);
  const share = [routes.filter((_, i) => i % 2 === 0), routes.filter((_, i) => i % 2 === 1)];
  const has = (f: (a: PathAttribute) => boolean): number =>
    routes.filter((r) => r.attrs.some(f)).length;
  const variety = {
    routes: routes.length,
    asSet: has((a) => a.kind === 'as-path' && a.segments.some((s) => s.type === AS_SEG.AS_SET)),
    med: has((a) => a.kind === 'med'),
    communities: has((a) => a.kind === 'communities'),
    aggregator: has((a) => a.kind === 'aggregator'),
    atomicAggregate: has((a) => a.kind === 'atomic-aggregate'),
    incomplete: has((a) => a.kind === 'origin' && a.origin === 2),
    egp: has((a) => a.kind === 'origin' && a.origin === 1),
  };
  t.diagnostic(`fed: ${JSON.stringify(variety)}`);
  for (const [k, n] of Object.entries(variety)) assert.ok(n > 0, `no route with ${k} was fed`);

  const lab = Lab.create();
  t.after(() => lab.destroy());
  const node = await lab.node('rt');

  // --- the neighbours: scripted peers feeding half the table each ---------------------------
  const feeders = await Promise.all(
    FEEDERS.map(async (f, i) => {
      const n: LabNode = await lab.node(f.name);
      await lab.link(
        { node, addresses: [`${f.router}/30`] },
        { node: n, addresses: [`${f.address}/30`] },
      );
      const updatesFile = join(lab.dir, `${f.name}.updates`);
      writeFileSync(updatesFile, feed(share[i]!, f.asn, f.address));
      const cfg: TableFeederConfig = {
        asn: f.asn,
        bgpId: f.address,
        local: f.address,
        router: f.router,
        updatesFile,
      };
      const cfgFile = join(lab.dir, `${f.name}.json`);
      writeFileSync(cfgFile, JSON.stringify(cfg));
      return { ...f, node: n, cfgFile };
    }),
  );

  // --- the replicas and the hypervisor --------------------------------------------------------
  const replicas = await Promise.all(
    REPLICAS.map((r, slot) =>
      btrReplica(lab, {
        name: r.name,
        kind: r.kind,
        mode: r.mode,
        router: ROUTER,
        routerNode: node,
        slot,
        daemon: { logLevel: 'info' },
      }),
    ),
  );
  const cfg: BtrRouterConfig = {
    hypervisor: hypervisorFor(ROUTER),
    replicas: replicas.map((r) => ({ name: r.name, proxy: r.proxy })),
    audit: true,
  };
  const cfgFile = join(lab.dir, 'btr-router.json');
  writeFileSync(cfgFile, JSON.stringify(cfg, null, 2));
  const support = (f: string): string => fileURLToPath(new URL(`./support/${f}`, import.meta.url));
  const hv = lab.spawn(node, process.execPath, [support('btr-router.js'), cfgFile], {
    name: 'hypervisor',
  });
  const lines = jsonLines<BtrRouterLine>((n) => hv.logTail(n));
  const context = (): string => `hypervisor:\n${hv.logTail(4000)}`;
  await Promise.all(replicas.map((r) => r.start()));
  const fed = feeders.map((f) => {
    const p = lab.spawn(f.node, process.execPath, [support('btr-table-feeder.js'), f.cfgFile], {
      name: `feeder-${f.name}`,
    });
    return { ...f, lines: jsonLines<TableFeederLine>((n) => p.logTail(n)) };
  });

  // --- converged: every replica votes, the output is the other neighbour's half, steady -------
  const status = async (): Promise<StatusLine> => {
    const before = lines().length;
    hv.kill('SIGUSR2');
    const ls = await waitFor(() => lines(), {
      what: 'the hypervisor to print its status',
      until: (x) => x.slice(before).some((l) => 'status' in l),
      context,
    });
    return ls.slice(before).find((l): l is StatusLine => 'status' in l)!;
  };
  const expected = (neighbor: string): number =>
    routes.length - share[FEEDERS.findIndex((f) => f.address === neighbor)]!.length;
  const done = (s: StatusLine): boolean =>
    s.status.length === 2 &&
    s.status.every(
      (n) =>
        n.output === expected(n.neighbor) &&
        n.replicas.every((r) => r.voting && r.state === 'Established'),
    );
  // Steady: two polls a second apart, both done, the replicas' outputs unchanged between them.
  let last: StatusLine | undefined;
  await waitFor(status, {
    what: 'every replica to vote and the router to advertise the other neighbour’s routes',
    until: (s) => {
      const prev = last;
      last = s;
      return (
        prev !== undefined &&
        done(prev) &&
        done(s) &&
        JSON.stringify(prev.audit) === JSON.stringify(s.audit)
      );
    },
    timeoutMs: 45_000,
    intervalMs: 1000,
    context: () => `${context()}\nlast status: ${JSON.stringify(last, null, 1).slice(0, 6000)}`,
  });
  const convergedAt = Date.now();
  // Anything still in flight (timing diversity, BIRD's and FRR's batching) has settled.
  await new Promise((r) => setTimeout(r, 1500));
  const final = await status();
  const audit = final.audit!;
  t.diagnostic(
    `status: ${JSON.stringify(final.status.map((n) => ({ ...n, replicas: n.replicas.map((r) => `${r.replica}:${r.state}${r.voting ? ' voting' : ''}`) })))}`,
  );

  // --- (6) zero disagreements: the voters, and every replica's canonical output ------------------
  const report = (a: AuditNeighbour): string =>
    `${a.neighbor}: ${JSON.stringify(a.replicas)}\n${a.examples.map((e) => JSON.stringify(e)).join('\n')}`;
  assert.equal(audit.length, 2);
  for (const a of audit) {
    assert.equal(a.disagreements, 0, report(a));
    assert.equal(a.keys, expected(a.neighbor), report(a));
    for (const r of a.replicas) assert.equal(r.routes, expected(a.neighbor), report(a));
  }
  for (const n of final.status) assert.equal(n.disagreements, 0, `voter for ${n.neighbor}`);
  // --- (5) GoBGP takes part in the update vote -------------------------------------------------
  for (const n of final.status) {
    const g = n.replicas.find((r) => r.replica === 'rgobgp');
    assert.ok(
      g?.voting && g.state === 'Established',
      `GoBGP towards ${n.neighbor}: ${JSON.stringify(g)}`,
    );
    assert.equal(g.faults, 0, `GoBGP towards ${n.neighbor}: session faults`);
  }
  for (const a of audit) {
    const g = a.replicas.find((r) => r.replica === 'rgobgp');
    assert.equal(g?.routes, expected(a.neighbor), `GoBGP's routes to ${a.neighbor}`);
    assert.equal(g.differs, 0, `GoBGP differs from the majority towards ${a.neighbor}`);
  }

  // Once converged, the voter flags nobody.
  const faults = lines().flatMap((l) =>
    'event' in l &&
    l.wall >= convergedAt &&
    l.event.type === 'vote' &&
    l.event.event.type === 'fault'
      ? [l.event]
      : [],
  );
  assert.deepEqual(faults, []);

  // --- each neighbour has exactly the other's routes -----------------------------------------
  fed.forEach((f, i) => {
    const table = new Map<string, readonly PathAttribute[]>();
    for (const l of f.lines()) {
      if (!('recv' in l)) continue;
      const d = decodeMessage(Buffer.from(l.recv, 'hex'), AS4_CONTEXT);
      assert.ok(d.ok && d.message.type === MSG.UPDATE, l.recv);
      for (const w of d.message.withdrawn) table.delete(formatPrefix(w.prefix));
      for (const n of d.message.nlri) table.set(formatPrefix(n.prefix), d.message.attributes);
    }
    const other = share[1 - i]!;
    assert.deepEqual([...table.keys()].sort(), other.map((r) => r.prefix).sort(), f.name);
    for (const r of other.slice(0, 50)) {
      const p = table.get(r.prefix)!.find((a) => a.kind === 'as-path');
      assert.equal(p?.kind === 'as-path' && p.segments[0]?.asns[0], ROUTER.asn, r.prefix);
    }
  });
});
