// Benchmark: routes per second through the kernel FIB (rtnetlink, batched), in a scratch
// network namespace. Not a test; needs root; numbers depend on the machine and kernel.
//
//   npx tsc -p . && node dist/bench/fib-netlink.js [routes=100000] [batchSize]
//
// The parent creates `nst-fib-bench-<random>` (veth with 198.18.0.1/24, 2001:db8::1/64),
// runs itself inside it with `ip netns exec`, and removes the namespace afterwards. Routes
// go to table 1001: IPv4 host routes inside 198.18.0.0/15 and IPv6 /64s inside
// 2001:db8::/32, all via the on-link neighbour.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { AFI, type Prefix } from '../src/lib/ip.js';
import { NetlinkFib, type FibChange, type FibRoute } from '../src/fib/index.js';

const n = Number(process.argv[2] ?? 100_000);
const batchArg = process.argv[3] ? Number(process.argv[3]) : undefined;

async function child(): Promise<void> {
  const fib = await NetlinkFib.open({ table: 1001, ...(batchArg ? { batchSize: batchArg } : {}) });
  console.log(`batch size  ${fib.batchSize} routes per sendmsg()`);
  const gw4 = new Uint8Array([198, 18, 0, 2]);
  const gw4b = new Uint8Array([198, 18, 0, 3]);
  const gw6 = Uint8Array.from([0x20, 1, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 2]);
  const gw6b = Uint8Array.from([0x20, 1, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 3]);
  const v4: Prefix[] = [];
  const v6: Prefix[] = [];
  for (let i = 0; i < n; i++) {
    const a = (0xc6120100 + i) >>> 0; // 198.18.1.0 upwards, stays inside 198.18.0.0/15
    v4.push({
      afi: AFI.IPv4,
      addr: new Uint8Array([a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff]),
      len: 32,
    });
    // 2001:db8:XXXX:XXXX::/64 with the counter in bits 32..63.
    const b = new Uint8Array(16);
    b.set([0x20, 1, 0x0d, 0xb8, (i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff]);
    v6.push({ afi: AFI.IPv6, addr: b, len: 64 });
  }
  const route = (prefix: Prefix, gateway: Uint8Array): FibRoute => ({
    prefix,
    nextHops: [{ gateway }],
  });
  const timed = async (what: string, count: number, op: () => Promise<unknown>): Promise<void> => {
    const t0 = process.hrtime.bigint();
    const r = await op();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const failed = (r as { failed?: unknown[] } | undefined)?.failed?.length ?? 0;
    console.log(
      `${what.padEnd(28)} ${Math.round(count / s)
        .toLocaleString('en')
        .padStart(
          9,
        )} routes/s  (${count} in ${(s * 1000).toFixed(0)} ms${failed ? `, ${failed} failed` : ''})`,
    );
  };
  for (const [name, prefixes, a, b] of [
    ['IPv4', v4, gw4, gw4b],
    ['IPv6', v6, gw6, gw6b],
  ] as const) {
    const add: FibChange[] = prefixes.map((p) => ({ op: 'add', route: route(p, a) }));
    const rep: FibChange[] = prefixes.map((p) => ({ op: 'replace', route: route(p, b) }));
    const del: FibChange[] = prefixes.map((p) => ({ op: 'delete', prefix: p }));
    await timed(`${name} add`, n, () => fib.apply(add));
    await timed(`${name} replace (next hop)`, n, () => fib.apply(rep));
    await timed(`${name} list (dump)`, n, () => fib.list(name === 'IPv4' ? AFI.IPv4 : AFI.IPv6));
    await timed(`${name} delete`, n, () => fib.apply(del));
    await fib.apply(add);
    await timed(`${name} flush (dump + delete)`, n, () => fib.flush());
  }
  await fib.close();
}

function parent(): void {
  if (process.getuid?.() !== 0) {
    console.error('fib-netlink bench: needs root (it creates a network namespace)');
    process.exit(1);
  }
  const ns = `nst-fib-bench-${randomBytes(3).toString('hex')}`;
  const ip = (...args: string[]): void => {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  };
  ip('netns', 'add', ns);
  try {
    ip('-n', ns, 'link', 'add', 'fib0', 'type', 'veth', 'peer', 'name', 'fib1');
    ip('-n', ns, 'link', 'set', 'fib0', 'up');
    ip('-n', ns, 'link', 'set', 'fib1', 'up');
    ip('-n', ns, 'addr', 'add', '198.18.0.1/24', 'dev', 'fib0');
    ip('-n', ns, '-6', 'addr', 'add', '2001:db8::1/64', 'dev', 'fib0', 'nodad');
    const self = fileURLToPath(import.meta.url);
    const r = spawnSync(
      'ip',
      ['netns', 'exec', ns, process.execPath, self, ...process.argv.slice(2)],
      {
        stdio: 'inherit',
        env: { ...process.env, NONSTOP_FIB_BENCH_CHILD: '1' },
      },
    );
    if (r.status !== 0) process.exitCode = r.status ?? 1;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

if (process.env.NONSTOP_FIB_BENCH_CHILD === '1') await child();
else parent();
