// The kernel FIB over rtnetlink, checked against iproute2's JSON output (an independent
// reader of the same tables). Everything happens in a fresh network namespace
// `nst-fib-<random>` holding a veth pair with 198.18.0.1/24 and 2001:db8::1/64; the FIB
// runs in a child process started with `ip netns exec`, as the I/O layer runs it, and the
// host's own routing tables are never touched. Needs root; NONSTOP_SKIP_LAB=1 skips.
//
// The same file is the child: with NONSTOP_FIB_CHILD=1 it serves FIB calls as JSON lines
// on stdin/stdout instead of defining tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { AFI, formatAddr, formatPrefix, parseAddr, parsePrefix, type Afi } from '../src/lib/ip.js';
import { NetlinkFib, RTPROT_NONSTOP, type FibChange, type FibRoute } from '../src/fib/index.js';

/** A change as text, so it can cross the process boundary. */
interface TextChange {
  op: 'add' | 'replace' | 'delete';
  prefix: string;
  via?: string[];
  metric?: number;
}
interface TextRoute {
  prefix: string;
  via: string[];
  metric?: number;
  proto?: number;
}
type Call =
  | { op: 'open'; table: number; batchSize?: number }
  | { op: 'apply'; changes: TextChange[] }
  | { op: 'list'; afi?: Afi }
  | { op: 'lookup'; addr: string }
  | { op: 'flush' }
  | { op: 'close'; keepRoutes?: boolean };

const TABLE = 1000; // > 255: exercises RTA_TABLE

// ---------------------------------------------------------------- child side

function toChange(c: TextChange): FibChange {
  const prefix = parsePrefix(c.prefix);
  if (!prefix) throw new Error(`bad prefix ${c.prefix}`);
  if (c.op === 'delete') return { op: 'delete', prefix };
  const route: FibRoute = {
    prefix,
    nextHops: (c.via ?? []).map((g) => ({ gateway: parseAddr(g)! })),
    ...(c.metric !== undefined ? { metric: c.metric } : {}),
  };
  return { op: c.op, route };
}

function toText(r: FibRoute): TextRoute {
  return {
    prefix: formatPrefix(r.prefix),
    via: r.nextHops.map((h) => formatAddr(h.gateway)),
    ...(r.metric !== undefined ? { metric: r.metric } : {}),
    ...(r.proto !== undefined ? { proto: r.proto } : {}),
  };
}

async function serve(): Promise<void> {
  let fib: NetlinkFib | undefined;
  const handle = async (call: Call): Promise<unknown> => {
    if (call.op === 'open') {
      fib = await NetlinkFib.open({
        table: call.table,
        ...(call.batchSize ? { batchSize: call.batchSize } : {}),
      });
      return { batchSize: fib.batchSize };
    }
    if (!fib) throw new Error('not open');
    switch (call.op) {
      case 'apply': {
        const r = await fib.apply(call.changes.map(toChange));
        return {
          applied: r.applied,
          failed: r.failed.map((f) => ({ index: f.index, code: f.code, message: f.message })),
        };
      }
      case 'list':
        return (await fib.list(call.afi)).map(toText);
      case 'lookup': {
        const r = fib.lookup(parseAddr(call.addr)!);
        return r ? toText(r) : null;
      }
      case 'flush':
        return fib.flush();
      case 'close':
        return fib.close({ keepRoutes: call.keepRoutes ?? false });
    }
  };
  for await (const line of createInterface({ input: process.stdin })) {
    const { id, call } = JSON.parse(line) as { id: number; call: Call };
    try {
      const result = await handle(call);
      process.stdout.write(JSON.stringify({ id, ok: true, result: result ?? null }) + '\n');
    } catch (e) {
      process.stdout.write(
        JSON.stringify({ id, ok: false, error: String((e as Error).stack ?? e) }) + '\n',
      );
    }
  }
}

// ---------------------------------------------------------------- parent side

const ip = (...args: string[]): string => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
};

/** A FIB in a child process inside the namespace. */
class Child {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly waiting = new Map<
    number,
    (r: { ok: boolean; result?: unknown; error?: string }) => void
  >();
  private nextId = 1;
  private stderr = '';

  constructor(ns: string) {
    this.proc = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url)],
      {
        env: { ...process.env, NONSTOP_FIB_CHILD: '1' },
      },
    );
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as { id: number; ok: boolean; result?: unknown; error?: string };
      this.waiting.get(msg.id)?.(msg);
      this.waiting.delete(msg.id);
    });
    this.proc.on('exit', (code) => {
      for (const w of this.waiting.values())
        w({ ok: false, error: `child exited (${code}): ${this.stderr}` });
      this.waiting.clear();
    });
  }

  async call<T>(call: Call): Promise<T> {
    const id = this.nextId++;
    const reply = await new Promise<{ ok: boolean; result?: unknown; error?: string }>(
      (resolve) => {
        this.waiting.set(id, resolve);
        this.proc.stdin.write(JSON.stringify({ id, call }) + '\n');
      },
    );
    if (!reply.ok) throw new Error(`child ${call.op}: ${reply.error}`);
    return reply.result as T;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.stdin.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

interface KernelRoute {
  via: string[];
  proto: string;
  metric?: number;
}

/** `ip -j route show table T` as prefix → route (iproute2 is the oracle). */
function kernel(ns: string, afi: Afi): Map<string, KernelRoute> {
  const fam = afi === AFI.IPv4 ? '-4' : '-6';
  const rows = JSON.parse(
    ip('-n', ns, '-j', fam, 'route', 'show', 'table', String(TABLE)) || '[]',
  ) as {
    dst: string;
    gateway?: string;
    via?: { host: string };
    protocol?: string;
    metric?: number;
    nexthops?: { gateway?: string; via?: { host: string } }[];
  }[];
  const out = new Map<string, KernelRoute>();
  for (const r of rows) {
    let dst = r.dst === 'default' ? (afi === AFI.IPv4 ? '0.0.0.0/0' : '::/0') : r.dst;
    if (!dst.includes('/')) dst += afi === AFI.IPv4 ? '/32' : '/128';
    const hops = r.nexthops ?? [r];
    const key = out.has(dst) ? `${dst} (metric ${r.metric ?? 0})` : dst; // duplicates show up
    out.set(key, {
      via: hops.map((h) => h.gateway ?? h.via?.host ?? '').filter(Boolean),
      proto: r.protocol ?? 'boot',
      ...(r.metric !== undefined ? { metric: r.metric } : {}),
    });
  }
  return out;
}

const v4 = (i: number): string => `198.19.${i}.0/24`;
const v6 = (i: number): string => formatPrefix(parsePrefix(`2001:db8:1:${i.toString(16)}::/64`)!);

function defineTests(): void {
  test('netlink FIB in a scratch namespace (iproute2 as oracle)', async (t) => {
    if (process.getuid?.() !== 0) {
      if (process.env.NONSTOP_SKIP_LAB === '1') {
        t.skip('needs root (NONSTOP_SKIP_LAB=1)');
        return;
      }
      assert.fail(
        'the netlink FIB test needs root to create a network namespace: run as root, or set NONSTOP_SKIP_LAB=1 to skip it',
      );
    }
    const ns = `nst-fib-${randomBytes(4).toString('hex')}`;
    const children: Child[] = [];
    const child = async (batchSize?: number): Promise<Child> => {
      const c = new Child(ns);
      children.push(c);
      await c.call({ op: 'open', table: TABLE, ...(batchSize ? { batchSize } : {}) });
      return c;
    };
    ip('netns', 'add', ns);
    try {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'add', 'fib0', 'type', 'veth', 'peer', 'name', 'fib1');
      ip('-n', ns, 'link', 'set', 'fib0', 'up');
      ip('-n', ns, 'link', 'set', 'fib1', 'up');
      ip('-n', ns, 'addr', 'add', '198.18.0.1/24', 'dev', 'fib0');
      ip('-n', ns, '-6', 'addr', 'add', '2001:db8::1/64', 'dev', 'fib0', 'nodad');
      // Routes someone else installed by hand: ours must never touch them.
      ip('-n', ns, 'route', 'add', '198.18.100.0/24', 'via', '198.18.0.2', 'table', String(TABLE));
      ip(
        '-n',
        ns,
        '-6',
        'route',
        'add',
        '2001:db8:100::/48',
        'via',
        '2001:db8::2',
        'table',
        String(TABLE),
      );
      const foreign4 = kernel(ns, AFI.IPv4);
      const foreign6 = kernel(ns, AFI.IPv6);
      const onlyForeign = (): void => {
        assert.deepEqual(kernel(ns, AFI.IPv4), foreign4);
        assert.deepEqual(kernel(ns, AFI.IPv6), foreign6);
      };

      // Small batches, so that 400+ routes take several sendmsg() calls.
      const fib = await child(64);
      const N = 200;

      await t.test('batched install, with per-route errors', async () => {
        const changes: TextChange[] = [];
        for (let i = 0; i < N; i++) changes.push({ op: 'add', prefix: v4(i), via: ['198.18.0.2'] });
        changes.push({ op: 'add', prefix: '198.19.255.128/25', via: ['198.19.255.1'] }); // not on-link
        for (let i = 0; i < N; i++)
          changes.push({ op: 'add', prefix: v6(i), via: ['2001:db8::2'] });
        changes.push({ op: 'add', prefix: '2001:db8:ffff::/48', via: ['2001:db8:ffff::1'] }); // no route
        changes.push({ op: 'add', prefix: '0.0.0.0/0', via: ['198.18.0.2'] });
        changes.push({ op: 'add', prefix: '198.18.9.9/32', via: ['198.18.0.2'] });
        changes.push({ op: 'add', prefix: '::/0', via: ['2001:db8::2'] });
        changes.push({ op: 'add', prefix: '2001:db8:9::9/128', via: ['2001:db8::2'] });
        changes.push({ op: 'add', prefix: '198.18.50.0/24', via: ['198.18.0.2', '198.18.0.3'] }); // ECMP
        const r = await fib.call<{
          applied: number;
          failed: { index: number; code: string; message: string }[];
        }>({
          op: 'apply',
          changes,
        });
        assert.equal(r.applied, changes.length - 2);
        assert.deepEqual(
          r.failed.map((f) => f.index),
          [N, 2 * N + 1],
        );
        assert.equal(r.failed[0]!.code, 'ENETUNREACH');
        assert.match(
          r.failed[0]!.message,
          /198\.19\.255\.128\/25 via 198\.19\.255\.1 \(table 1000\): ENETUNREACH/,
        );
        assert.ok(
          ['ENETUNREACH', 'EHOSTUNREACH'].includes(r.failed[1]!.code),
          r.failed[1]!.message,
        );
        assert.match(r.failed[1]!.message, /2001:db8:ffff::\/48/);

        const k4 = kernel(ns, AFI.IPv4);
        const k6 = kernel(ns, AFI.IPv6);
        for (let i = 0; i < N; i++) {
          assert.deepEqual(
            k4.get(v4(i)),
            { via: ['198.18.0.2'], proto: String(RTPROT_NONSTOP) },
            v4(i),
          );
          assert.deepEqual(k6.get(v6(i)), {
            via: ['2001:db8::2'],
            proto: String(RTPROT_NONSTOP),
            metric: 1024,
          });
        }
        assert.deepEqual(k4.get('0.0.0.0/0')?.via, ['198.18.0.2']);
        assert.deepEqual(k4.get('198.18.9.9/32')?.via, ['198.18.0.2']);
        assert.deepEqual(k6.get('::/0')?.via, ['2001:db8::2']);
        assert.deepEqual(k6.get('2001:db8:9::9/128')?.via, ['2001:db8::2']);
        assert.deepEqual(k4.get('198.18.50.0/24')?.via, ['198.18.0.2', '198.18.0.3']);
        assert.equal(k4.has('198.19.255.128/25'), false);
        assert.equal(k6.has('2001:db8:ffff::/48'), false);
        assert.equal(k4.size, N + 3 + 1); // + default, host, ECMP; + the hand-made one
        assert.equal(k6.size, N + 2 + 1);
      });

      await t.test(
        'list() returns exactly our routes; lookup() is longest-prefix match',
        async () => {
          const listed = await fib.call<TextRoute[]>({ op: 'list' });
          const k = new Map([...kernel(ns, AFI.IPv4), ...kernel(ns, AFI.IPv6)]);
          k.delete('198.18.100.0/24');
          k.delete('2001:db8:100::/48');
          assert.equal(listed.length, k.size);
          for (const r of listed) {
            assert.deepEqual(r.via, k.get(r.prefix)?.via, r.prefix);
            assert.equal(r.proto, RTPROT_NONSTOP);
          }
          assert.equal((await fib.call<TextRoute[]>({ op: 'list', afi: AFI.IPv6 })).length, N + 2);
          assert.equal(
            (await fib.call<TextRoute | null>({ op: 'lookup', addr: '198.19.7.77' }))?.prefix,
            v4(7),
          );
          assert.equal(
            (await fib.call<TextRoute | null>({ op: 'lookup', addr: '198.18.9.9' }))?.prefix,
            '198.18.9.9/32',
          );
          assert.equal(
            (await fib.call<TextRoute | null>({ op: 'lookup', addr: '203.0.113.9' }))?.prefix,
            '0.0.0.0/0',
          );
          assert.equal(
            (await fib.call<TextRoute | null>({ op: 'lookup', addr: '2001:db8:1:5::1' }))?.prefix,
            v6(5),
          );
        },
      );

      await t.test('replace changes the next hop; a metric change leaves one route', async () => {
        const changes: TextChange[] = [];
        for (let i = 0; i < 50; i++) {
          changes.push({ op: 'replace', prefix: v4(i), via: ['198.18.0.3'] });
          changes.push({ op: 'replace', prefix: v6(i), via: ['2001:db8::3'] });
        }
        changes.push({ op: 'replace', prefix: v4(60), via: ['198.18.0.4'], metric: 50 });
        changes.push({ op: 'replace', prefix: v6(60), via: ['2001:db8::4'], metric: 50 });
        changes.push({ op: 'replace', prefix: '198.18.60.0/24', via: ['198.18.0.2'] }); // new
        const r = await fib.call<{ applied: number; failed: unknown[] }>({ op: 'apply', changes });
        assert.deepEqual(r.failed, []);
        const k4 = kernel(ns, AFI.IPv4);
        const k6 = kernel(ns, AFI.IPv6);
        for (let i = 0; i < 50; i++) {
          assert.deepEqual(k4.get(v4(i))?.via, ['198.18.0.3']);
          assert.deepEqual(k6.get(v6(i))?.via, ['2001:db8::3']);
        }
        assert.deepEqual(k4.get(v4(50))?.via, ['198.18.0.2']);
        assert.deepEqual(k4.get(v4(60)), {
          via: ['198.18.0.4'],
          proto: String(RTPROT_NONSTOP),
          metric: 50,
        });
        assert.deepEqual(k6.get(v6(60)), {
          via: ['2001:db8::4'],
          proto: String(RTPROT_NONSTOP),
          metric: 50,
        });
        assert.equal(k4.has(`${v4(60)} (metric 0)`), false);
        assert.equal(k6.has(`${v6(60)} (metric 1024)`), false);
        assert.ok(k4.has('198.18.60.0/24'));
      });

      await t.test(
        'delete; add over an existing route and delete of a missing one fail alone',
        async () => {
          const changes: TextChange[] = [];
          for (let i = 0; i < 20; i++)
            changes.push({ op: 'delete', prefix: v4(i) }, { op: 'delete', prefix: v6(i) });
          changes.push({ op: 'delete', prefix: v4(0) }); // again: ESRCH
          changes.push({ op: 'add', prefix: v4(30), via: ['198.18.0.2'] }); // exists: EEXIST
          changes.push({ op: 'delete', prefix: '198.18.100.0/24' }); // not ours: ESRCH
          changes.push({ op: 'add', prefix: '198.18.61.0/24', via: ['198.18.0.2'] });
          const r = await fib.call<{ applied: number; failed: { index: number; code: string }[] }>({
            op: 'apply',
            changes,
          });
          assert.deepEqual(
            r.failed.map((f) => [f.index, f.code]),
            [
              [40, 'ESRCH'],
              [41, 'EEXIST'],
              [42, 'ESRCH'],
            ],
          );
          const k4 = kernel(ns, AFI.IPv4);
          const k6 = kernel(ns, AFI.IPv6);
          for (let i = 0; i < 20; i++) {
            assert.equal(k4.has(v4(i)), false);
            assert.equal(k6.has(v6(i)), false);
          }
          assert.deepEqual(k4.get(v4(30))?.via, ['198.18.0.3']);
          assert.ok(k4.has('198.18.100.0/24'));
          assert.ok(k4.has('198.18.61.0/24'));
        },
      );

      await t.test('flush() removes only our routes', async () => {
        await fib.call({ op: 'flush' });
        onlyForeign();
        assert.deepEqual(await fib.call({ op: 'list' }), []);
      });

      await t.test('close() removes our routes', async () => {
        const r = await fib.call<{ failed: unknown[] }>({
          op: 'apply',
          changes: [
            { op: 'add', prefix: v4(1), via: ['198.18.0.2'] },
            { op: 'add', prefix: v6(1), via: ['2001:db8::2'] },
          ],
        });
        assert.deepEqual(r.failed, []);
        assert.ok(kernel(ns, AFI.IPv4).has(v4(1)));
        await fib.call({ op: 'close' });
        await fib.stop();
        onlyForeign();
      });

      await t.test(
        'close({ keepRoutes: true }) keeps them; a later FIB adopts and flushes them',
        async () => {
          const first = await child();
          await first.call({
            op: 'apply',
            changes: [
              { op: 'add', prefix: v4(2), via: ['198.18.0.2'] },
              { op: 'add', prefix: v6(2), via: ['2001:db8::2'], metric: 7 },
            ],
          });
          await first.call({ op: 'close', keepRoutes: true });
          await first.stop();
          assert.deepEqual(kernel(ns, AFI.IPv4).get(v4(2))?.via, ['198.18.0.2']);
          assert.equal(kernel(ns, AFI.IPv6).get(v6(2))?.metric, 7);

          const second = await child();
          assert.equal(
            (await second.call<TextRoute | null>({ op: 'lookup', addr: '198.19.2.1' }))?.prefix,
            v4(2),
          );
          // The adopted metric is known, so a replace with the default metric leaves one route.
          await second.call({
            op: 'apply',
            changes: [{ op: 'replace', prefix: v6(2), via: ['2001:db8::3'] }],
          });
          assert.deepEqual(kernel(ns, AFI.IPv6).get(v6(2)), {
            via: ['2001:db8::3'],
            proto: '214',
            metric: 1024,
          });
          assert.equal(kernel(ns, AFI.IPv6).has(`${v6(2)} (metric 7)`), false);
          await second.call({ op: 'close' });
          await second.stop();
          onlyForeign();
        },
      );
    } finally {
      for (const c of children) await c.stop().catch(() => undefined);
      spawnSync('ip', ['netns', 'del', ns]);
      assert.equal(ip('netns', 'list').includes(ns), false, `namespace ${ns} left behind`);
    }
  });
}

if (process.env.NONSTOP_FIB_CHILD === '1') await serve();
else defineTests();
