// A bug-tolerant router's hypervisor for tests, run inside the router's namespace
// (`ip netns exec <ns> node dist/test/support/btr-router.js CONFIG.json`): Node cannot
// open sockets in another namespace, so the hypervisor lives in a process of its own
// there. Its replicas are reached through their proxies (src/btr/transparent-proxy.ts),
// over kernel TCP in this namespace. Every hypervisor event is printed as one JSON line on
// stdout; SIGTERM stops it (Cease to everyone).

import { readFileSync } from 'node:fs';
import type { HypervisorConfig } from '../../src/btr/hypervisor.js';
import { Hypervisor } from '../../src/btr/hypervisor.js';
import type { ReplicaProxy } from '../../src/btr/instance.js';
import { proxiedReplicaSpec } from '../../src/btr/transparent-proxy.js';
import { systemClock } from '../../src/lib/clock.js';
import { TcpConnector } from '../../src/net/tcp.js';

export interface BtrRouterConfig {
  readonly hypervisor: Omit<HypervisorConfig, 'replicas'>;
  readonly replicas: readonly {
    readonly name: string;
    readonly proxy: ReplicaProxy;
    readonly startDelayMs?: number;
  }[];
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: btr-router.js CONFIG.json');
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as BtrRouterConfig;
  const tcp = new TcpConnector();
  const print = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
  const hv = new Hypervisor(
    {
      ...cfg.hypervisor,
      replicas: cfg.replicas.map((r) =>
        proxiedReplicaSpec(
          r,
          tcp,
          r.startDelayMs !== undefined ? { startDelayMs: r.startDelayMs } : {},
        ),
      ),
    },
    {
      connector: tcp,
      clock: systemClock,
      random: Math.random,
      onEvent: (e) => print({ event: e }),
      log: (level, msg, fields) => {
        if (level !== 'debug') print({ log: level, msg, ...fields });
      },
    },
  );
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    void hv.stop('test over').finally(() => process.exit(0));
  });
  process.on('SIGUSR2', () => print({ status: hv.status() }));
  await hv.start();
  print({ started: true });
}

main().catch((e: unknown) => {
  process.stderr.write(`btr-router: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
