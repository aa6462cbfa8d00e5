// SIGHUP against a running `nonstop speaker` process (docs/speaker.md, "Reload"): a new
// config with errors is refused as a whole — the running config, the session and the routes
// stay — and a valid one is applied as a transaction: a static route added to it reaches the
// neighbor over the session that was already up, with no reset (no NOTIFICATION, no new
// OPEN).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NeighborDetail, RibResponse } from '../src/control/api-types.js';
import { formatPrefix } from '../src/lib/ip.js';
import { MSG, type UpdateMessage } from '../src/wire/index.js';
import { BgpClient, startSpeaker, type SpeakerProcess } from './support/bgp-client.js';

const HOST = '127.0.0.1';
const PEER = { address: '127.2.0.2', asn: 65002 };
const FIRST = '198.19.200.0/24';
const ADDED = '198.19.201.0/24';

function config(env: { host: string; port: number; socket: string }, extra: string[]): string {
  return [
    'router-id: 127.0.0.1',
    'asn: 65001',
    `listen: [{ address: ${env.host}, port: ${env.port} }]`,
    `control: { socket: ${JSON.stringify(env.socket)} }`,
    'log: { level: info, format: json }',
    'fib: { mode: memory }',
    'policies:',
    '  all: { default: accept }',
    'neighbors:',
    `  - address: ${PEER.address}`,
    `    asn: ${PEER.asn}`,
    '    passive: true',
    '    import: [all]',
    '    export: [all]',
    ...extra,
    '',
  ].join('\n');
}

const announces =
  (prefix: string) =>
  (u: UpdateMessage): boolean =>
    u.nlri.some((n) => formatPrefix(n.prefix) === prefix);

/** `line:column` of `needle` in `text`, 1-based. */
function posIn(text: string, needle: string): string {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `test bug: "${needle}" not in the config`);
  return `${i + 1}:${lines[i]!.indexOf(needle) + 1}`;
}

test(
  'SIGHUP: an invalid config is refused and the session stays; a valid one adds a route without a reset',
  { timeout: 30_000 },
  async (t) => {
    let env = { host: HOST, port: 0, socket: '' };
    const sp: SpeakerProcess = await startSpeaker({
      host: HOST,
      yaml: (e) => {
        env = e;
        return config(e, ['static:', `  - prefix: ${FIRST}`]);
      },
    });
    t.after(() => sp.stop());
    const client = await BgpClient.connect(
      { host: sp.host, port: sp.port, localAddress: PEER.address },
      { asn: PEER.asn, bgpId: PEER.address },
    );
    t.after(() => client.close());
    await client.handshake();
    await client.waitForUpdate(announces(FIRST), { timeoutMs: 5000 });
    // A route of our own, to see that the speaker keeps it through the reloads.
    client.sendUpdate({
      withdrawn: [],
      attributes: [
        { kind: 'origin', code: 1, flags: 0x40, origin: 0 },
        {
          kind: 'as-path',
          code: 2,
          flags: 0x40,
          asnWidth: 4,
          segments: [{ type: 2, asns: [PEER.asn] }],
        },
        { kind: 'next-hop', code: 3, flags: 0x40, nextHop: Uint8Array.of(127, 2, 0, 2) },
      ],
      nlri: [{ prefix: { afi: 1, addr: Uint8Array.of(10, 9, 0, 0), len: 16 } }],
    });

    const detail = () => sp.api<NeighborDetail>(`/neighbors/${encodeURIComponent(PEER.address)}`);
    const inRib = async (prefix: string) =>
      (await sp.api<RibResponse>(`/rib?prefix=${encodeURIComponent(prefix)}`)).entries.some(
        (e) => e.prefix === prefix && e.paths.length > 0,
      );
    const until = async (what: string, cond: () => Promise<boolean>) => {
      const deadline = Date.now() + 5000;
      while (!(await cond())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    await until('10.9.0.0/16 in the RIB', () => inRib('10.9.0.0/16'));
    const before = await detail();
    assert.equal(before.state, 'Established');
    assert.equal(before.counters.established, 1);

    const assertUntouched = async (when: string) => {
      assert.ok(sp.alive(), `speaker died ${when}; log:\n${sp.logs().slice(-3000)}`);
      assert.deepEqual(client.notifications(), [], `${when}: ${client.describe()}`);
      assert.equal(client.isClosed, false, `${when}: session closed`);
      assert.equal(client.messages(MSG.OPEN).length, 1, `${when}: a new OPEN means a reset`);
      const d = await detail();
      assert.equal(d.state, 'Established', when);
      assert.equal(d.counters.established, 1, `${when}: the session was re-established`);
      assert.equal(d.counters.dropped, before.counters.dropped, `${when}: the session dropped`);
      assert.ok(await inRib('10.9.0.0/16'), `${when}: the neighbor's route is gone`);
      assert.ok(await inRib(FIRST), `${when}: the static route is gone`);
    };

    // 1. Invalid configs: a schema error, then a truncated file (YAML syntax). Each refused.
    const badHold = config(env, [
      '    hold-time: 2',
      'static:',
      `  - prefix: ${FIRST}`,
      `  - prefix: ${ADDED}`,
    ]);
    const invalid: { text: string; error: RegExp }[] = [
      {
        text: badHold,
        error: new RegExp(
          `^${esc(`${sp.configPath}:${posIn(badHold, 'hold-time: 2')}`)}: neighbors\\[0\\]\\.hold-time: ` +
            'expected 0 or an integer from 3 to 65535, got 2$',
          'm',
        ),
      },
      {
        text: config(env, ['static:', `  - prefix: ${FIRST}`, `  - prefix: ${ADDED}`]).replace(
          '  all: { default: accept }',
          '  all: { default: accept',
        ),
        error: new RegExp(`^${esc(sp.configPath)}:\\d+:\\d+: YAML: `, 'm'),
      },
    ];
    for (const [i, bad] of invalid.entries()) {
      const from = sp.logs().length;
      const mark = client.mark();
      sp.writeConfig(bad.text);
      sp.child.kill('SIGHUP');
      await sp.waitForLog(/reload refused/, 5000, from);
      assert.match(sp.logs().slice(from), bad.error, `invalid config ${i}: the error is reported`);
      assert.doesNotMatch(sp.logs().slice(from), /configuration reloaded/);
      // Nothing of the refused config may leak out: ADDED is not announced.
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(client.updates(mark).filter(announces(ADDED)).length, 0, `invalid config ${i}`);
      assert.equal(await inRib(ADDED), false, `invalid config ${i}: ${ADDED} installed`);
      await assertUntouched(`after invalid config ${i}`);
    }

    // 2. A valid config adding a static route: announced on the same session.
    const from = sp.logs().length;
    const mark = client.mark();
    sp.writeConfig(config(env, ['static:', `  - prefix: ${FIRST}`, `  - prefix: ${ADDED}`]));
    sp.child.kill('SIGHUP');
    await sp.waitForLog(/configuration reloaded/, 5000, from);
    const u = await client.waitForUpdate(announces(ADDED), { timeoutMs: 5000, since: mark });
    assert.ok(u.attributes.some((a) => a.kind === 'as-path'));
    await assertUntouched('after the valid reload');
  },
);

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
