// `nonstop tcpr proxy`: relay connections between unmodified endpoints through TCPR, so the
// relay can be killed and restarted without the endpoints noticing (src/tcpr/proxy.ts,
// docs/tcpr.md § The proxy).

import { readFileSync } from 'node:fs';
import { splitHostPort } from '../lib/ip.js';
import { isLogLevel, createLogger } from '../lib/log.js';
import { TcprChannel } from '../tcpr/client.js';
import { TcprProxy } from '../tcpr/proxy.js';

export const PROXY_USAGE = `usage: nonstop tcpr proxy --listen ADDR:PORT --to HOST:PORT --state FILE [options]

Relay every connection accepted on ADDR:PORT to HOST:PORT, both connections protected by
the TCPR middlebox. Run it in the protected namespace. Killed (-9) or stopped and started
again with the same --state FILE, it takes its connections back: neither end sees a reset,
a premature FIN, a lost or a repeated byte.

  --listen ADDR:PORT      where unmodified clients connect ([v6]:port for IPv6)
  --to HOST:PORT          the target every connection is relayed to
  --state FILE            the proxy's state (connections, checkpoints); kept across restarts
  --from ADDR             local address for the connections to the target
  --channel ADDR          TCPR's side-channel address (default 198.18.0.1, or 2001:db8::1
                          when --listen is IPv6)
  --channel-port N        its UDP port (default 7780)
  --key-file FILE         shared key (hex) authenticating the side channel
  --checkpoint-ms N       checkpoint interval (default 10)
  --no-fsync              do not fdatasync the state file (survives process crashes only)
  --log-level LEVEL       debug, info (default), warn, error
  -h, --help              this text

SIGTERM or SIGINT stop relaying and exit; the connections stay recoverable by the next
start with the same --state (an upgrade). SIGUSR1 writes the counters to the log.
`;

/** ADDR:PORT or [v6]:PORT (a host is required). */
function hostPort(s: string | undefined): { host: string; port: number } | undefined {
  const hp = splitHostPort(s ?? '');
  return hp?.host ? { host: hp.host, port: hp.port } : undefined;
}

export async function runProxy(argv: string[]): Promise<number> {
  const o: Record<string, string | undefined> = {};
  let fsync = true;
  const flags = [
    '--listen',
    '--to',
    '--state',
    '--from',
    '--channel',
    '--channel-port',
    '--key-file',
    '--checkpoint-ms',
    '--log-level',
  ];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      process.stdout.write(PROXY_USAGE);
      return 0;
    } else if (a === '--no-fsync') fsync = false;
    else if (flags.includes(a) && argv[i + 1] !== undefined) o[a] = argv[++i];
    else {
      process.stderr.write(
        `nonstop tcpr proxy: unknown or incomplete option '${a}'\n\n${PROXY_USAGE}`,
      );
      return 2;
    }
  }
  const fail = (msg: string): number => {
    process.stderr.write(`nonstop tcpr proxy: ${msg}\n`);
    return 2;
  };
  const listen = hostPort(o['--listen']);
  if (!listen) return fail('--listen ADDR:PORT is required (e.g. 198.18.1.2:7000)');
  const target = hostPort(o['--to']);
  if (!target) return fail('--to HOST:PORT is required (e.g. 198.18.2.2:9000)');
  const state = o['--state'];
  if (!state) return fail('--state FILE is required');
  const num = (flag: string, dflt: number, max: number): number | undefined => {
    const v = o[flag];
    if (v === undefined) return dflt;
    const n = Number(v);
    return Number.isInteger(n) && n >= 1 && n <= max ? n : undefined;
  };
  const channelPort = num('--channel-port', 7780, 0xffff);
  if (channelPort === undefined) return fail(`--channel-port ${o['--channel-port']}: not a port`);
  const checkpointMs = num('--checkpoint-ms', 10, 60_000);
  if (checkpointMs === undefined) return fail(`--checkpoint-ms ${o['--checkpoint-ms']}: 1..60000`);
  const level = o['--log-level'] ?? 'info';
  if (!isLogLevel(level)) return fail(`--log-level ${level}: debug, info, warn or error`);
  let key: string | undefined;
  if (o['--key-file']) {
    try {
      key = readFileSync(o['--key-file'], 'utf8').trim();
    } catch (e) {
      return fail(`--key-file: ${(e as Error).message}`);
    }
  }
  const v6 = listen.host.includes(':');
  const log = createLogger({
    level,
    sink: (l) => process.stderr.write(l + '\n'),
    fields: { component: 'tcpr-proxy' },
  });
  const channel = new TcprChannel({
    address: o['--channel'] ?? (v6 ? '2001:db8::1' : '198.18.0.1'),
    family: v6 ? 6 : 4,
    port: channelPort,
    ...(key ? { key } : {}),
  });
  const proxy = new TcprProxy({
    channel,
    listen: { address: listen.host, port: listen.port },
    target: { ...target, ...(o['--from'] ? { localAddress: o['--from'] } : {}) },
    stateFile: state,
    checkpointMs,
    durable: fsync,
    log,
  });
  try {
    await proxy.start();
  } catch (e) {
    log.error('cannot start', { error: (e as Error).message });
    return 1;
  }
  process.on('SIGUSR1', () => log.info('counters', { ...proxy.stats() }));
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      log.info('stopping; connections stay recoverable', { signal, ...proxy.stats() });
      void proxy.stop().then(() => resolve(0));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
