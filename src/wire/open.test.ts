import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../lib/bytes.js';
import { capAddPath, capFourOctetAs, capMultiprotocol, capRouteRefresh } from './capabilities.js';
import { addPathKey, type OpenMessage } from './types.js';
import { makeContext } from './context.js';
import { decodeMessage, encodeMessage } from './message.js';
import { makeOpen, negotiateContexts, openAsn, openCapabilities, validateOpen } from './open.js';
import { frame, hex } from './testing.js';

const ctx = makeContext();
const HEAD = '04 fde8 00b4 c6120001'; // version 4, AS 65000, hold 180, id 198.18.0.1

function roundTrip(body: string): OpenMessage {
  const msg = frame(1, body);
  const r = decodeMessage(msg, ctx);
  assert.ok(r.ok, r.ok ? '' : r.error.reason);
  assert.equal(toHex(encodeMessage(r.message, ctx)), toHex(msg));
  return r.message as OpenMessage;
}

test('OPEN without optional parameters', () => {
  const m = roundTrip(`${HEAD} 00`);
  assert.deepEqual(m, {
    type: 1,
    version: 4,
    myAs: 65000,
    holdTime: 180,
    bgpId: hex('c6120001'),
    params: [],
    extendedParams: false,
  });
});

test('each interpreted capability', () => {
  const caps =
    '01 04 0001 00 01' + // MP IPv4 unicast
    '02 00' + // route refresh
    '80 00' + // Cisco route refresh
    '06 00' + // extended message
    '40 06 8078 0001 01 80' + // GR: R bit, 120 s, IPv4 unicast forwarding preserved
    '41 04 00011170' + // 4-octet AS 70000
    '45 08 0001 01 03 0002 01 01' + // ADD-PATH IPv4 both, IPv6 receive
    '46 00'; // enhanced route refresh
  const m = roundTrip(`${HEAD} 28 02 26 ${caps}`);
  assert.deepEqual(openCapabilities(m), [
    { kind: 'multiprotocol', code: 1, afi: 1, reserved: 0, safi: 1 },
    { kind: 'route-refresh', code: 2 },
    { kind: 'route-refresh', code: 128 },
    { kind: 'extended-message', code: 6 },
    {
      kind: 'graceful-restart',
      code: 64,
      flags: 8,
      restartTime: 120,
      families: [{ afi: 1, safi: 1, flags: 0x80 }],
    },
    { kind: 'four-octet-as', code: 65, asn: 70000 },
    {
      kind: 'add-path',
      code: 69,
      families: [
        { afi: 1, safi: 1, sendReceive: 3 },
        { afi: 2, safi: 1, sendReceive: 1 },
      ],
    },
    { kind: 'enhanced-route-refresh', code: 70 },
  ]);
  assert.equal(openAsn(m), 70000);
});

test('unknown capabilities (FQDN, software version, extended next hop, role) round-trip as bytes', () => {
  const caps = '49 05 02 7231 00 00' + '4b 04 03 616263' + '05 06 0001 0001 0002' + '09 01 03';
  const m = roundTrip(`${HEAD} 1a 02 18 ${caps}`);
  assert.deepEqual(
    openCapabilities(m).map((c) => [c.kind, c.code]),
    [
      ['unknown', 73],
      ['unknown', 75],
      ['unknown', 5],
      ['unknown', 9],
    ],
  );
});

test('a known capability with a wrong length is kept as bytes', () => {
  const m = roundTrip(`${HEAD} 07 02 05 41 03 000111`);
  assert.deepEqual(openCapabilities(m), [{ kind: 'unknown', code: 65, data: hex('000111') }]);
});

test('several capabilities per parameter and several parameters both round-trip', () => {
  const one = roundTrip(`${HEAD} 10 02 0e 01 04 00010001 02 00 41 04 00011170`);
  assert.equal(one.params.length, 1);
  const many = roundTrip(`${HEAD} 14 02 06 01 04 00010001 02 02 02 00 02 06 41 04 00011170`);
  assert.equal(many.params.length, 3);
  assert.deepEqual(openCapabilities(one), openCapabilities(many));
});

test('unknown optional parameter type is kept', () => {
  const m = roundTrip(`${HEAD} 04 01 02 abcd`);
  assert.deepEqual(m.params, [{ type: 1, data: hex('abcd') }]);
});

test('RFC 9072 extended optional parameters length', () => {
  const m = roundTrip(`${HEAD} ff ff 000b 02 0008 01 04 00010001 02 00`);
  assert.equal(m.extendedParams, true);
  assert.deepEqual(
    openCapabilities(m).map((c) => c.code),
    [1, 2],
  );
});

test('parameters over 255 octets are encoded in the RFC 9072 form', () => {
  const caps = Array.from({ length: 50 }, (_, i) => capMultiprotocol(1, i + 1));
  const open = makeOpen({ asn: 65000, holdTime: 90, bgpId: hex('c6120001'), capabilities: caps });
  const bytes = encodeMessage(open, ctx);
  // 50 × 6 octets of capabilities: header 19 + fixed 10 + 3 + 3 + 300.
  assert.equal(bytes.length, 335);
  assert.equal(toHex(bytes.subarray(28, 32)), 'ffff012f');
  const r = decodeMessage(bytes, ctx);
  assert.ok(r.ok);
  assert.deepEqual(openCapabilities(r.message as OpenMessage), caps);
});

test('malformed OPENs are 2/0 errors, never exceptions', () => {
  for (const body of [`${HEAD} 05 02 03 01`, `${HEAD} 02 02`, `${HEAD} ff ff 00`, `${HEAD} 01`]) {
    const r = decodeMessage(frame(1, body), ctx);
    assert.ok(!r.ok, body);
    assert.deepEqual([r.error.code, r.error.subcode], [2, 0]);
  }
});

test('validateOpen: version, hold time, identifier, peer AS', () => {
  const good = makeOpen({
    asn: 70000,
    holdTime: 90,
    bgpId: hex('c6120001'),
    capabilities: [capFourOctetAs(70000)],
  });
  assert.equal(good.myAs, 23456);
  assert.equal(validateOpen(good, { peerAs: 70000 }), undefined);
  assert.equal(validateOpen({ ...good, version: 3 })?.subcode, 1);
  assert.equal(validateOpen({ ...good, holdTime: 2 })?.subcode, 6);
  assert.equal(validateOpen({ ...good, bgpId: hex('00000000') })?.subcode, 3);
  assert.equal(validateOpen(good, { peerAs: 65000 })?.subcode, 2);
});

test('negotiateContexts: 4-octet AS both ways, ADD-PATH per direction', () => {
  const local = makeOpen({
    asn: 65000,
    holdTime: 90,
    bgpId: hex('c6120001'),
    capabilities: [
      capFourOctetAs(65000),
      capAddPath([{ afi: 1, safi: 1, sendReceive: 3 }]),
      capRouteRefresh(),
    ],
  });
  const remote = makeOpen({
    asn: 65001,
    holdTime: 90,
    bgpId: hex('c6120002'),
    capabilities: [capFourOctetAs(65001), capAddPath([{ afi: 1, safi: 1, sendReceive: 2 }])],
  });
  const { receive, send } = negotiateContexts(local, remote);
  assert.equal(receive.as4, true);
  assert.equal(receive.extendedMessage, false);
  assert.deepEqual([...receive.addPath], [addPathKey(1, 1)]);
  assert.deepEqual([...send.addPath], []);
  const old = makeOpen({ asn: 65001, holdTime: 90, bgpId: hex('c6120002'), capabilities: [] });
  assert.equal(negotiateContexts(local, old).receive.as4, false);
});
