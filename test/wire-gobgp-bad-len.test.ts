// GoBGP's fuzzer-found malformed messages (../shared/data/gobgp/bad-len): each must give a
// typed BgpError — through the Framer and through decodeMessage — never an exception, never
// a hang. Expected errors were worked out by reading the octets against RFC 4271 §6.1–§6.3
// and RFC 7606; the reasoning is written next to each file below.
//
// As captured, none of the eleven files starts with the all-ones marker (ten start with
// sixteen ASCII '0' octets, 0x30; one with arbitrary octets), so RFC 4271 §6.1 gives
// Message Header Error / Connection Not Synchronized (1/1) for every one of them, before
// anything else is looked at. To exercise what follows the marker too, every file is also
// checked "repaired": its first 16 octets replaced by the marker, everything else kept.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { toHex } from '../src/lib/bytes.js';
import { ERR, ERR_HEADER, ERR_OPEN, ERR_UPDATE } from '../src/wire/constants.js';
import type { BgpError } from '../src/wire/errors.js';
import { context, decode, describeError, frame } from './support/codec.js';
import { dataPath, requireData } from './support/data.js';
import { MARKER } from './support/exabgp.js';

const DIR = 'gobgp/bad-len';

interface Expected {
  readonly action: BgpError['action'];
  readonly code: number;
  /** Subcodes the RFCs allow for this input (one, unless the RFCs leave a choice). */
  readonly subcodes: readonly number[];
  /** NOTIFICATION data (hex) by subcode, where the RFC prescribes it. */
  readonly dataBySubcode?: Readonly<Record<number, string>>;
  readonly why: string;
}

const notSync: Expected = {
  action: 'session-reset',
  code: ERR.MESSAGE_HEADER,
  subcodes: [ERR_HEADER.CONNECTION_NOT_SYNCHRONIZED],
  why: 'RFC 4271 §6.1: the marker is not all ones → Connection Not Synchronized',
};

// Shared reasoning for the repaired files.
const openBadVersion = (v: number, optLen: number): Expected => ({
  action: 'session-reset',
  code: ERR.OPEN_MESSAGE,
  // RFC 4271 §6.2 orders no checks: version → Unsupported Version Number (data: the largest
  // locally supported version below the one bid, 0x0004); malformed optional parameters →
  // 0 (Unspecific). Decoding finds the second, validation (validateOpen) the first.
  subcodes: [ERR_OPEN.UNSUPPORTED_VERSION_NUMBER, 0],
  dataBySubcode: { [ERR_OPEN.UNSUPPORTED_VERSION_NUMBER]: '0004' },
  why:
    `OPEN of 64 octets; version octet ${v} (0x${v.toString(16)}) is not 4, and the optional ` +
    `parameters length ${optLen} leaves ${45 - 10 - optLen} octets of the body unaccounted for ` +
    '(the parameters themselves overrun too) → OPEN Message Error: Unsupported Version Number ' +
    'or Unspecific (malformed optional parameters)',
});

const attrStubThenBadNlri = (nlri: string): Expected => ({
  action: 'session-reset',
  code: ERR.UPDATE_MESSAGE,
  subcodes: [ERR_UPDATE.INVALID_NETWORK_FIELD],
  why:
    'UPDATE: withdrawn length 0, Total Path Attribute Length 3 holding 30 30 30 — flags 0x30 ' +
    '(Extended Length set), type 48, and only one of the two length octets → fewer octets than ' +
    'an attribute header needs: treat-as-withdraw (RFC 7606 §4), NLRI located by the total ' +
    `length; the NLRI field then starts with ${nlri}, a /48 in IPv4 → Invalid Network Field, ` +
    'session reset (RFC 4271 §6.3, RFC 7606 §5.3)',
});

const unreachOverrunThenBadNlri = (nlri: string): Expected => ({
  action: 'session-reset',
  code: ERR.UPDATE_MESSAGE,
  // MP_UNREACH_NLRI that cannot be parsed forbids treat-as-withdraw (RFC 7606 §5.3 / §3(j));
  // the RFCs name no single subcode for an attribute overrunning the attribute field, so
  // Malformed Attribute List, Attribute Length Error and Optional Attribute Error (RFC 4760
  // §7) are all defensible; the NLRI field that follows is malformed as well, which alone
  // demands Invalid Network Field (RFC 4271 §6.3, RFC 7606 §5.3).
  subcodes: [
    ERR_UPDATE.MALFORMED_ATTRIBUTE_LIST,
    ERR_UPDATE.ATTRIBUTE_LENGTH_ERROR,
    ERR_UPDATE.OPTIONAL_ATTRIBUTE_ERROR,
    ERR_UPDATE.INVALID_NETWORK_FIELD,
  ],
  why:
    'UPDATE length 31: withdrawn 0, attribute length 3 holding only the header 80 0f 05 of ' +
    'an MP_UNREACH_NLRI whose 5-octet value lies outside the attribute field (RFC 7606 §4: ' +
    `overrun); the 5 octets left as NLRI (${nlri}) end in a prefix longer than the octets ` +
    'left → session reset with an UPDATE Message Error',
});

const EXPECTED: Readonly<Record<string, { original: Expected; repaired: Expected }>> = {
  '000852858287eb2ece5cd12aabef453f87b77adb': {
    original: notSync,
    repaired: openBadVersion(0x30, 31),
  },
  '0b229debaa2fc1e8b997c9894ad3184cce8c7bb4': {
    original: notSync,
    repaired: openBadVersion(0xff, 31),
  },
  '1d1fb484828b4f23af3ff0ab71b67682d5876fd6': {
    original: notSync,
    repaired: openBadVersion(0x30, 32),
  },
  '27f19d6959e9cbecfcd09b28c3aec493a4b6f18d': {
    original: notSync,
    repaired: attrStubThenBadNlri('30 90 30 00 13'),
  },
  // Header length 0x30 = 48 < file size 64: the 16 octets after the message are the start
  // of an incomplete next message (only 16 of the 19 header octets), left in the framer.
  '3765bb2392d48ca8edaf0b5e39209eb2d1b87c53': {
    original: notSync,
    repaired: attrStubThenBadNlri('30 e0 28 09 30'),
  },
  '147a924d9a4a4d9960f8bb49e3ec782ee93f82a7': {
    original: notSync,
    repaired: unreachOverrunThenBadNlri('00 19 46 03 00: 0/0, then a /25 with 3 of 4 octets'),
  },
  '3dce7e046d709b142092e15b78e9ad20ee5144fa': {
    original: notSync,
    repaired: unreachOverrunThenBadNlri('00 19 46 02 00: 0/0, then a /25 with 3 of 4 octets'),
  },
  '66e6aab4f34c9c5783c18f90b2d987e5dad241e0': {
    original: notSync,
    repaired: unreachOverrunThenBadNlri('00 19 46 01 00: 0/0, then a /25 with 3 of 4 octets'),
  },
  a8ecedce17e2e28a466cf9fb3bfaf2d8554fef42: {
    original: notSync,
    repaired: unreachOverrunThenBadNlri('00 19 46 04 00: 0/0, then a /25 with 3 of 4 octets'),
  },
  b7ed0646a97127bf424da480a53a84a0cb9c9565: {
    original: notSync,
    repaired: unreachOverrunThenBadNlri(
      '00 01 86 30 30: 0/0, 128.0.0.0/1 (host bits set), then a /48 prefix in IPv4',
    ),
  },
  '4d4dc736bc89bf41363774d282b8a7641c3e7a98': {
    original: notSync,
    repaired: {
      action: 'session-reset',
      code: ERR.UPDATE_MESSAGE,
      subcodes: [ERR_UPDATE.INVALID_NETWORK_FIELD],
      why:
        'UPDATE length 31: attribute length 3 holding only the header 80 1a 05 of an AIGP ' +
        'attribute (optional non-transitive, flags correct) whose 5-octet value overruns the ' +
        'attribute field → treat-as-withdraw only (RFC 7606 §4); the NLRI 30 00 02 30 30 starts ' +
        'with a /48 IPv4 prefix → Invalid Network Field, session reset (RFC 4271 §6.3, RFC 7606 §5.3)',
    },
  },
};

function assertError(got: BgpError | undefined, want: Expected, where: string): void {
  assert.ok(
    got,
    `${where}: expected ${want.code}/${want.subcodes.join('|')} (${want.why}), got no error`,
  );
  const msg = `${where}: got ${describeError(got)}; expected ${want.action} ${want.code}/${want.subcodes.join('|')} — ${want.why}`;
  assert.equal(got.action, want.action, msg);
  assert.equal(got.code, want.code, msg);
  assert.ok(want.subcodes.includes(got.subcode), msg);
  const data = want.dataBySubcode?.[got.subcode];
  if (data !== undefined) assert.equal(toHex(got.data), data, msg);
  assert.equal(typeof got.reason, 'string', msg);
  assert.ok(got.reason.length > 0, `${where}: error has no reason text`);
}

/** The bytes decodeMessage is given: the message as the header delimits it (never past the file). */
function headerDelimited(b: Uint8Array): Uint8Array {
  const len = b.length >= 18 ? (b[16]! << 8) | b[17]! : b.length;
  return len >= 19 && len <= b.length ? b.subarray(0, len) : b;
}

function repaired(b: Uint8Array): Uint8Array {
  const r = b.slice();
  r.set(MARKER, 0);
  return r;
}

function checkFile(bytes: Uint8Array, want: Expected, label: string): void {
  const ctx = context();
  // Framer, the whole file at once and one octet at a time.
  for (const [how, chunks] of [
    ['whole', [bytes]],
    ['bytewise', Array.from(bytes, (x) => Uint8Array.of(x))],
  ] as const) {
    const framed = frame(chunks);
    let err = framed.error;
    if (!err) {
      assert.ok(framed.messages.length >= 1, `${label} framer(${how}): no message and no error`);
      const d = decode(framed.messages[0]!, ctx);
      err = d.ok ? undefined : d.error;
    }
    assertError(err, want, `${label} framer(${how})`);
  }
  // decodeMessage directly.
  const d = decode(headerDelimited(bytes), ctx);
  assertError(d.ok ? undefined : d.error, want, `${label} decodeMessage`);
}

describe('gobgp bad-len fixtures', () => {
  test('fixture set is the expected one', (t) => {
    const dir = requireData(t, DIR);
    if (!dir) return;
    assert.deepEqual(readdirSync(dir).sort(), Object.keys(EXPECTED).sort());
  });

  for (const [name, want] of Object.entries(EXPECTED)) {
    test(
      `${name}: as captured → ${want.original.code}/${want.original.subcodes.join('|')}`,
      { timeout: 5000 },
      (t) => {
        if (!requireData(t, DIR)) return;
        checkFile(new Uint8Array(readFileSync(join(dataPath(DIR), name))), want.original, name);
      },
    );
    test(
      `${name}: marker repaired → ${want.repaired.code}/${want.repaired.subcodes.join('|')}`,
      { timeout: 5000 },
      (t) => {
        if (!requireData(t, DIR)) return;
        const b = repaired(new Uint8Array(readFileSync(join(dataPath(DIR), name))));
        checkFile(b, want.repaired, `${name} (repaired)`);
      },
    );
  }
});
