// Readers for ExaBGP's QA vectors (../shared/data/exabgp/qa): the decoding vectors
// (command line, hex, expected JSON) and the encoding `.ci` files (raw messages ExaBGP sends
// for a configuration, some followed by the JSON ExaBGP decodes them to), plus the few
// configuration facts (`confs/*.conf`) that decide the codec context.

import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fromHex } from '../../src/lib/bytes.js';
import assert from 'node:assert/strict';
import type { UpdateMessage } from '../../src/wire/types.js';

export const MARKER = new Uint8Array(16).fill(0xff);

/** True when `b` starts with the 16-octet all-ones marker of a BGP header. */
export function hasMarker(b: Uint8Array): boolean {
  if (b.length < 16) return false;
  for (let i = 0; i < 16; i++) if (b[i] !== 0xff) return false;
  return true;
}

/** A BGP message (marker, length, type) around `body`. */
export function withHeader(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(19 + body.length);
  out.set(MARKER, 0);
  out[16] = (out.length >>> 8) & 0xff;
  out[17] = out.length & 0xff;
  out[18] = type;
  out.set(body, 19);
  return out;
}

/**
 * JSON.parse that keeps integers of 16 or more digits exact by turning them into strings
 * (ExaBGP prints extended communities as 64-bit integers, beyond 2^53).
 */
export function parseJsonExact(text: string): unknown {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      continue;
    }
    if ((c >= '0' && c <= '9') || c === '-') {
      let j = i + 1;
      while (j < text.length && /[0-9.eE+-]/.test(text[j]!)) j++;
      const num = text.slice(i, j);
      out += /^-?\d{16,}$/.test(num) ? `"${num}"` : num;
      i = j - 1;
      continue;
    }
    out += c;
  }
  return JSON.parse(out);
}

// ---------------------------------------------------------------------------------------
// qa/decoding/<name>: line 1 = what to decode ("update ipv4 unicast", "open",
// "nlri bgp-ls bgp-ls", or just "update"), line 2 = hex (with optional ':' or spaces),
// line 3 = ExaBGP's JSON. The hex is a whole message when it starts with the marker;
// otherwise it is the message body (for update/open) or bare NLRI (for nlri).

export interface DecodingVector {
  readonly name: string;
  readonly kind: 'update' | 'open' | 'nlri';
  /** "afi safi" in ExaBGP's words, when the command names one. */
  readonly family: string | undefined;
  /** The bytes as given. */
  readonly raw: Uint8Array;
  /** Whether `raw` is a whole message, a body without header, or bare NLRI. */
  readonly form: 'message' | 'body' | 'nlri';
  readonly json: unknown;
}

export function readDecodingVectors(dir: string): DecodingVector[] {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const lines = readFileSync(join(dir, name), 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.length > 0);
      if (lines.length !== 3) throw new Error(`${name}: expected 3 lines, found ${lines.length}`);
      const words = lines[0]!.split(/\s+/);
      const kind = words[0];
      if (kind !== 'update' && kind !== 'open' && kind !== 'nlri') {
        throw new Error(`${name}: unknown vector kind ${JSON.stringify(lines[0])}`);
      }
      const raw = fromHex(lines[1]!);
      const form = kind === 'nlri' ? 'nlri' : hasMarker(raw) ? 'message' : 'body';
      const family = words.length >= 3 ? `${words[1]} ${words[2]}` : undefined;
      return { name, kind, family, raw, form, json: parseJsonExact(lines[2]!) };
    });
}

// ---------------------------------------------------------------------------------------
// qa/encoding/<name>.ci: `option:file:<conf>`, `option:<key>:<value>`, and per step N
// `N:cmd:<api command>`, `N:raw:<hex message>`, `N:json:<ExaBGP JSON>` (or `N:jsv4:` / `N:jsv6:`, the
// JSON of one ExaBGP major version). A JSON line
// describes the nearest raw line above it (in conf-watchdog.ci the step numbers of JSON
// lines differ from those of the raw lines they follow, so position is what ties them).
// Lines starting with '#' are comments; commented-out raw lines are counted, not used.

export interface EncodingVector {
  readonly file: string;
  readonly line: number;
  readonly step: number;
  readonly cmd: string | undefined;
  readonly raw: Uint8Array;
  readonly json: unknown[];
}

export interface CiFile {
  readonly name: string;
  readonly conf: string | undefined;
  readonly options: readonly string[];
  readonly vectors: EncodingVector[];
  readonly commentedRaw: number;
  readonly jsonLines: number;
  /** `N:jsv4:` / `N:jsv6:` lines: the JSON of one ExaBGP major version (4.x / 6.x). */
  readonly versionedJsonLines: number;
}

export function readCiFile(path: string): CiFile {
  const name = basename(path);
  let conf: string | undefined;
  const options: string[] = [];
  const vectors: {
    file: string;
    line: number;
    step: number;
    cmd: string | undefined;
    raw: Uint8Array;
    json: unknown[];
  }[] = [];
  let commentedRaw = 0;
  let jsonLines = 0;
  let versionedJsonLines = 0;
  const lastCmd = new Map<number, string>();
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((text, i) => {
    const l = text.trim();
    if (l === '') return;
    if (l.startsWith('#')) {
      if (/^#\s*\d+:raw:/.test(l)) commentedRaw++;
      return;
    }
    if (l.startsWith('option:')) {
      const m = /^option:file:(.*)$/.exec(l);
      if (m) conf = m[1]!.trim();
      else options.push(l.slice('option:'.length));
      return;
    }
    const m = /^(\d+):(cmd|raw|json|jsv4|jsv6):(.*)$/.exec(l);
    if (!m)
      throw new Error(`${name}:${i + 1}: unrecognised line ${JSON.stringify(l.slice(0, 60))}`);
    const step = Number(m[1]);
    const what = m[2]!;
    const rest = m[3]!;
    if (what === 'cmd') lastCmd.set(step, rest);
    else if (what === 'raw') {
      vectors.push({
        file: name,
        line: i + 1,
        step,
        cmd: lastCmd.get(step),
        raw: fromHex(rest),
        json: [],
      });
      lastCmd.delete(step);
    } else {
      const v = vectors[vectors.length - 1];
      if (!v) throw new Error(`${name}:${i + 1}: JSON line before any raw line`);
      v.json.push(parseJsonExact(rest));
      if (what === 'json') jsonLines++;
      else versionedJsonLines++;
    }
  });
  return { name, conf, options, vectors, commentedRaw, jsonLines, versionedJsonLines };
}

/** Counts of raw / commented raw / JSON lines by plain text scan, to cross-check the parser. */
export function scanCiCounts(path: string): {
  raw: number;
  commentedRaw: number;
  json: number;
  versionedJson: number;
} {
  let raw = 0;
  let commentedRaw = 0;
  let json = 0;
  let versionedJson = 0;
  for (const l of readFileSync(path, 'utf8').split('\n')) {
    if (/^\d+:raw:/.test(l)) raw++;
    else if (/^#\s*\d+:raw:/.test(l)) commentedRaw++;
    else if (/^\d+:json:/.test(l)) json++;
    else if (/^\d+:jsv[46]:/.test(l)) versionedJson++;
  }
  return { raw, commentedRaw, json, versionedJson };
}

// ---------------------------------------------------------------------------------------
// ExaBGP configuration: only what decides how ExaBGP encodes its UPDATEs.
// - `capability { asn4 disable; }` → 2-octet AS_PATH (RFC 6793 not negotiated);
// - `capability { add-path send|send/receive; }` → ExaBGP sends path identifiers for the
//   families of the `add-path { ... }` block, or, without one, for every family of the
//   `family { ... }` block (ipv4 unicast and ipv6 unicast when that is absent too).

export interface ConfFacts {
  readonly asn4: boolean;
  /** "afi safi" names (ExaBGP words) that carry ADD-PATH path identifiers. */
  readonly addPathFamilies: readonly string[];
}

function block(text: string, keyword: string): string | undefined {
  const re = new RegExp(`(^|[\\s;{])${keyword}\\s*\\{([^{}]*)\\}`, 'm');
  return re.exec(text)?.[2];
}

function familiesOf(body: string): string[] {
  return body
    .split(';')
    .map((s) => s.trim().split(/\s+/).join(' '))
    .filter((s) => s.length > 0);
}

export function readConfFacts(path: string): ConfFacts {
  const text = readFileSync(path, 'utf8').replace(/#[^\n]*/g, '');
  const cap = block(text, 'capability') ?? '';
  const asn4 = !/\basn4\s+disable\b/.test(cap);
  const ap = /\badd-path\s+(send\/receive|send|receive)\s*;/.exec(cap);
  let addPathFamilies: string[] = [];
  if (ap && ap[1] !== 'receive') {
    const apBlock = block(text, 'add-path');
    const famBlock = block(text, 'family');
    addPathFamilies = apBlock
      ? familiesOf(apBlock)
      : famBlock
        ? familiesOf(famBlock)
        : ['ipv4 unicast', 'ipv6 unicast'];
  }
  return { asn4, addPathFamilies };
}

/** ExaBGP family words → (AFI, SAFI). */
export const EXA_FAMILY: Readonly<Record<string, readonly [number, number]>> = {
  'ipv4 unicast': [1, 1],
  'ipv4 multicast': [1, 2],
  'ipv4 nlri-mpls': [1, 4],
  'ipv4 mpls-vpn': [1, 128],
  'ipv4 flow': [1, 133],
  'ipv4 flow-vpn': [1, 134],
  'ipv4 sr-policy': [1, 73],
  'ipv4 mup': [1, 85],
  'ipv4 mcast-vpn': [1, 5],
  'ipv6 unicast': [2, 1],
  'ipv6 multicast': [2, 2],
  'ipv6 nlri-mpls': [2, 4],
  'ipv6 mpls-vpn': [2, 128],
  'ipv6 flow': [2, 133],
  'ipv6 flow-vpn': [2, 134],
  'ipv6 sr-policy': [2, 73],
  'ipv6 mup': [2, 85],
  'ipv6 mcast-vpn': [2, 5],
  'l2vpn vpls': [25, 65],
  'l2vpn evpn': [25, 70],
  'bgp-ls bgp-ls': [16388, 71],
};

/**
 * Decoding vectors as whole messages: bodies get a header; bare NLRI goes into an
 * MP_UNREACH_NLRI attribute of its family inside an UPDATE.
 */
export function messageOf(v: DecodingVector): Uint8Array {
  if (v.form === 'message') return v.raw;
  if (v.form === 'body') return withHeader(v.kind === 'open' ? 1 : 2, v.raw);
  const fam = v.family ? EXA_FAMILY[v.family] : undefined;
  if (!fam) throw new Error(`${v.name}: unknown family ${String(v.family)}`);
  // UPDATE: withdrawn 0, attributes = MP_UNREACH_NLRI (optional, extended length).
  const valLen = 3 + v.raw.length;
  const attr = new Uint8Array(4 + valLen);
  attr.set([0x90, 15, valLen >> 8, valLen & 0xff, fam[0] >> 8, fam[0] & 0xff, fam[1]]);
  attr.set(v.raw, 7);
  const body = new Uint8Array(4 + attr.length);
  body.set([0, 0, attr.length >> 8, attr.length & 0xff]);
  body.set(attr, 4);
  return withHeader(2, body);
}

/** Every family ExaBGP decoded but we keep opaque must be held as opaque MP_(UN)REACH NLRI. */
export function assertOpaqueFamilies(
  u: UpdateMessage,
  families: readonly string[],
  where: string,
): void {
  for (const fam of families) {
    const [afi, safi] = EXA_FAMILY[fam] ?? [-1, -1];
    const found = u.attributes.some(
      (a) =>
        (a.kind === 'mp-reach' || a.kind === 'mp-unreach') &&
        a.afi === afi &&
        a.safi === safi &&
        a.opaque !== undefined,
    );
    assert.ok(
      found,
      `${where}: ExaBGP decoded family ${fam}; we hold no opaque MP_(UN)REACH_NLRI for it`,
    );
  }
}
