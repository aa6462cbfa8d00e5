// `nonstop show` and `nonstop neighbor` against a fake speaker: a control server on a temp
// Unix socket answering with canned API responses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer, notFound } from '../control/server.js';
import type {
  FibResponse,
  NeighborDetail,
  NeighborsResponse,
  RibResponse,
} from '../control/api-types.js';
import { formatDuration, formatTable, runNeighbor, runShow, type CliIo } from './show.js';

const NEIGHBORS: NeighborsResponse = {
  routerId: '198.18.0.1',
  asn: 65001,
  neighbors: [
    {
      address: '198.18.0.2',
      asn: 65002,
      description: 'upstream-a',
      state: 'Established',
      adminState: 'enabled',
      since: '2026-01-02T03:00:00.000Z',
      uptimeSeconds: 312,
      prefixes: { received: 1200, accepted: 1180, sent: 5 },
    },
    {
      address: '2001:db8::3',
      asn: 4200000003,
      state: 'Active',
      adminState: 'enabled',
      since: '2026-01-02T03:00:00.000Z',
      uptimeSeconds: null,
      prefixes: { received: 0, accepted: 0, sent: 0 },
      lastError: {
        time: '2026-01-02T02:59:00.000Z',
        direction: 'local',
        message: 'connection refused',
      },
    },
    {
      address: '198.18.0.4',
      asn: 65004,
      description: 'graft\ttarget',
      state: 'Idle',
      adminState: 'inactive',
      since: '2026-01-02T03:00:00.000Z',
      uptimeSeconds: null,
      prefixes: { received: 0, accepted: 0, sent: 0 },
    },
  ],
};

const counters = {
  open: 1,
  update: 40,
  notification: 0,
  keepalive: 12,
  routeRefresh: 0,
  total: 53,
};
const DETAIL: NeighborDetail = {
  ...NEIGHBORS.neighbors[0]!,
  type: 'ebgp',
  localAddress: '198.18.0.1',
  localPort: 179,
  remotePort: 40123,
  config: {
    holdTime: 90,
    connectRetry: 120,
    passive: false,
    families: ['ipv4-unicast'],
    import: ['customer-in'],
    export: ['all'],
    routeReflectorClient: false,
    nextHopSelf: false,
    maxPrefix: { limit: 2000, action: 'shutdown' },
  },
  negotiated: {
    holdTime: 90,
    keepaliveTime: 30,
    peerRouterId: '198.18.0.2',
    as4: true,
    extendedMessage: false,
    routeRefresh: true,
    enhancedRouteRefresh: false,
    families: ['ipv4-unicast'],
    addPath: { receive: [], send: [] },
    gracefulRestart: { restartTime: 120, restarting: false, families: [] },
    capabilities: {
      local: [{ code: 1, name: 'multiprotocol', value: 'ipv4-unicast' }],
      remote: [
        { code: 1, name: 'multiprotocol', value: 'ipv4-unicast' },
        { code: 65, name: '4-octet-as', value: '65002' },
      ],
    },
  },
  counters: {
    messagesReceived: counters,
    messagesSent: { ...counters, update: 3, total: 16 },
    bytesReceived: 4096,
    bytesSent: 512,
    established: 1,
    dropped: 0,
  },
  families: [{ family: 'ipv4-unicast', received: 1200, accepted: 1180, sent: 5 }],
};

const RIB: RibResponse = {
  total: 1,
  truncated: false,
  entries: [
    {
      prefix: '198.18.100.0/24',
      paths: [
        {
          best: true,
          reason: 'LOCAL_PREF',
          reasonText: 'local-pref 200 > 100',
          peer: '198.18.0.2',
          peerAsn: 65002,
          nextHop: '198.18.0.2',
          asPath: '65002 65010',
          origin: 'igp',
          localPref: 200,
          med: 0,
        },
        {
          best: false,
          peer: '198.18.0.3',
          nextHop: '198.18.0.3',
          asPath: '65003 65010',
          origin: 'incomplete',
          localPref: 100,
          stale: true,
        },
      ],
    },
  ],
};

const FIB: FibResponse = {
  mode: 'kernel',
  table: 254,
  total: 2,
  truncated: false,
  entries: [
    { prefix: '198.18.100.0/24', nextHops: ['198.18.0.2'], interface: 'veth0', installed: true },
    { prefix: '2001:db8:100::/48', nextHops: ['2001:db8::3'], installed: false, error: 'EEXIST' },
  ],
};

function io(): CliIo & { stdout: string; stderr: string } {
  const o = {
    stdout: '',
    stderr: '',
    out: (s: string) => void (o.stdout += s),
    err: (s: string) => void (o.stderr += s),
  };
  return o;
}

async function withFakeSpeaker(
  body: (sock: string, seen: string[]) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-show-'));
  const sock = join(dir, 'speaker.sock');
  const seen: string[] = [];
  const s = new ControlServer({ socket: sock });
  s.get('/neighbors', () => NEIGHBORS);
  s.get('/neighbors/:address', (r) => {
    const a = r.params['address']!;
    if (a !== '198.18.0.2') throw notFound(`no neighbor ${a} in the configuration`);
    return DETAIL;
  });
  s.get('/rib', (r) => {
    seen.push(`rib ${r.query.toString()}`);
    return RIB;
  });
  s.get('/fib', () => FIB);
  s.post('/neighbors/:address/reset', (r) => ({
    ok: true,
    message: `sent Cease/Administrative Reset to ${r.params['address']}`,
  }));
  s.post('/neighbors/:address/refresh', (r) => ({
    ok: true,
    message: `refresh ${(r.body as { direction: string }).direction} ${r.params['address']}`,
  }));
  await s.listen();
  try {
    await body(sock, seen);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('show neighbors: aligned summary table', async () => {
  await withFakeSpeaker(async (sock) => {
    const t = io();
    assert.equal(await runShow(['neighbors', '--socket', sock], t), 0);
    assert.equal(t.stderr, '');
    assert.equal(
      t.stdout,
      [
        'BGP router identifier 198.18.0.1, local AS 65001, 3 neighbors (1 established)',
        '',
        'Neighbor             AS  State              Uptime  Received  Accepted  Sent  Description',
        '198.18.0.2        65002  Established      00:05:12      1200      1180     5  upstream-a',
        '2001:db8::3  4200000003  Active                  -         0         0     0',
        '198.18.0.4        65004  Idle (inactive)         -         0         0     0  graft?target',
        '',
      ].join('\n'),
    );
  });
});

test('show neighbor ADDRESS: detail, and a clear error for an unknown one', async () => {
  await withFakeSpeaker(async (sock) => {
    const t = io();
    assert.equal(await runShow(['neighbor', '198.18.0.2', `--socket=${sock}`], t), 0);
    const out = t.stdout;
    assert.match(out, /^BGP neighbor 198\.18\.0\.2, remote AS 65002, external link$/m);
    assert.match(out, /^ {2}State: Established, up for 00:05:12, since 2026-01-02T03:00:00.000Z$/m);
    assert.match(out, /^ {4}Capabilities: 4-octet AS, route refresh, graceful restart \(120 s\)$/m);
    assert.match(out, /^ {6}65 4-octet-as: 65002$/m);
    assert.match(out, /^ {4}Family {8}Received {2}Accepted {2}Sent$/m);
    assert.ok(out.includes('\n    Updates             3        40\n'));
    assert.match(out, /^ {2}Max prefixes: 2000 \(shutdown\)$/m);

    const u = io();
    assert.equal(await runShow(['neighbor', '198.18.0.9', '--socket', sock], u), 1);
    assert.equal(u.stderr, 'nonstop show neighbor: no neighbor 198.18.0.9 in the configuration\n');
  });
});

test('show rib: every path, best marked with its reason; query passed through', async () => {
  await withFakeSpeaker(async (sock, seen) => {
    const t = io();
    assert.equal(
      await runShow(['rib', '198.18.100.0/24', '--family', 'ipv4', '--socket', sock], t),
      0,
    );
    assert.deepEqual(seen, ['rib prefix=198.18.100.0%2F24&family=ipv4']);
    const lines = t.stdout.split('\n');
    assert.equal(
      lines[0],
      '    Prefix           Next hop    From        LocPrf  MED  AS path      Origin      Best because',
    );
    assert.equal(
      lines[1],
      ' >  198.18.100.0/24  198.18.0.2  198.18.0.2     200    0  65002 65010  igp         LOCAL_PREF',
    );
    assert.equal(
      lines[2],
      'S                    198.18.0.3  198.18.0.3     100       65003 65010  incomplete',
    );
    assert.match(t.stdout, /^1 prefix, 2 paths$/m);
  });
});

test('show fib: table with install failures', async () => {
  await withFakeSpeaker(async (sock) => {
    const t = io();
    assert.equal(await runShow(['fib', '--socket', sock], t), 0);
    assert.equal(
      t.stdout,
      [
        'FIB kernel table 254: 2 routes, 1 not installed',
        '',
        'Prefix             Next hop     Interface  Installed',
        '198.18.100.0/24    198.18.0.2   veth0      yes',
        '2001:db8:100::/48  2001:db8::3  -          no: EEXIST',
        '',
      ].join('\n'),
    );
  });
});

test('--json prints the API response unchanged', async () => {
  await withFakeSpeaker(async (sock) => {
    for (const [args, want] of [
      [['neighbors'], NEIGHBORS],
      [['neighbor', '198.18.0.2'], DETAIL],
      [['rib'], RIB],
      [['fib'], FIB],
    ] as const) {
      const t = io();
      assert.equal(await runShow([...args, '--json', '--socket', sock], t), 0);
      assert.deepEqual(JSON.parse(t.stdout), want);
    }
  });
});

test('neighbor ADDRESS reset|refresh posts the action', async () => {
  await withFakeSpeaker(async (sock) => {
    let t = io();
    assert.equal(await runNeighbor(['198.18.0.2', 'reset', '--socket', sock], t), 0);
    assert.equal(t.stdout, 'sent Cease/Administrative Reset to 198.18.0.2\n');
    t = io();
    assert.equal(await runNeighbor(['2001:db8::3', 'refresh', '--socket', sock], t), 0);
    assert.equal(t.stdout, 'refresh in 2001:db8::3\n');
    t = io();
    assert.equal(
      await runNeighbor(['2001:db8::3', 'refresh', 'out', '--json', '--socket', sock], t),
      0,
    );
    assert.deepEqual(JSON.parse(t.stdout), { ok: true, message: 'refresh out 2001:db8::3' });
    t = io();
    assert.equal(await runNeighbor(['198.18.0.2', 'bounce', '--socket', sock], t), 2);
    assert.match(t.stderr, /unknown action 'bounce'/);
  });
});

test('a speaker that is not running: the error says where and what to do', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-show-'));
  try {
    const sock = join(dir, 'speaker.sock');
    const t = io();
    assert.equal(await runShow(['neighbors', '--socket', sock], t), 1);
    assert.equal(
      t.stderr,
      `nonstop show neighbors: cannot reach nonstop speaker at ${sock}: no such file ` +
        '(is it running? start it with `nonstop speaker -c FILE`)\n',
    );
    const u = io();
    assert.equal(await runNeighbor(['198.18.0.2', 'reset', '--socket', sock], u), 1);
    assert.match(
      u.stderr,
      /^nonstop neighbor 198\.18\.0\.2 reset: cannot reach nonstop speaker at /,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage errors exit 2', async () => {
  for (const args of [
    [],
    ['routes-please'],
    ['neighbor'],
    ['rib', '--family', 'ipx'],
    ['fib', '--limit', '0'],
    ['neighbors', '--bogus'],
  ]) {
    const t = io();
    assert.equal(await runShow(args, t), 2, args.join(' '));
    assert.match(t.stderr, /usage: nonstop show/);
  }
  const h = io();
  assert.equal(await runShow(['--help'], h), 0);
  assert.match(h.stdout, /usage: nonstop show/);
});

test('table and duration helpers', () => {
  assert.equal(formatTable(['a', 'bb'], [['ccc', '1']], ['l', 'r']), 'a    bb\nccc   1\n');
  assert.deepEqual(
    [0, 59, 3600 * 5 + 61, 86400 * 3 + 3600 * 4 + 60 * 12, 86400 * 15 + 3600 * 3, null, -1].map(
      formatDuration,
    ),
    ['00:00:00', '00:00:59', '05:01:01', '3d04h12m', '2w1d03h', '-', '-'],
  );
});
