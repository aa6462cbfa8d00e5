// Parsers for BIRD's text CLI (`birdc show route all`, `show protocols all`), BIRD 2 and
// BIRD 1.6 alike; BIRD has no JSON output. The configs set `timeformat ... "%s"`, so times
// are epoch seconds.

import type { Family, RouteView } from './types.js';

// BIRD 2: "198.19.1.0/24   unicast [nst_n0 1795239745] * (100) [AS65002i]", next hops on
// the tab-indented lines below. BIRD 1.6 puts the first next hop on the line itself:
// "198.19.1.0/24   via 198.18.0.1 on eth0 [nst_n0 1795239745] * (100) [AS65002i]". The
// prefix is only on the first route of a network; further routes start with spaces.
const ROUTE_LINE = /^(\S+)?\s+(\S.*?)\s*\[(\S+)[^\]]*\]\s*(\*)?\s*\(\d+(?:\/[^)]*)?\)/;

function origin(v: string): RouteView['origin'] {
  const s = v.trim().toLowerCase();
  return s === 'igp' ? 'igp' : s === 'egp' ? 'egp' : 'incomplete';
}

/** Routes of one table; `peers` maps BGP protocol names to neighbour addresses. */
export function parseBirdRoutes(
  text: string,
  family: Family,
  peers: ReadonlyMap<string, string>,
): RouteView[] {
  const routes: RouteView[] = [];
  let prefix = '';
  let cur: (RouteView & { vias: string[] }) | undefined;
  const flush = (): void => {
    if (!cur) return;
    if (cur.nextHops.length === 0) cur.nextHops = cur.vias;
    const { vias: _vias, ...view } = cur;
    routes.push(view);
    cur = undefined;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('\t')) {
      if (!cur) continue;
      const body = line.trim();
      const via = /^via (\S+)/.exec(body);
      if (via?.[1]) {
        cur.vias.push(via[1]);
        continue;
      }
      const attr = /^BGP\.(\w+):\s*(.*)$/.exec(body);
      if (!attr) continue;
      const [, name, value = ''] = attr;
      if (name === 'as_path') cur.asPath = (value.match(/\d+/g) ?? []).map(Number);
      else if (name === 'next_hop') cur.nextHops = value.split(/\s+/).filter((s) => s !== '');
      else if (name === 'origin') cur.origin = origin(value);
      else if (name === 'local_pref') cur.localPref = Number(value);
      else if (name === 'med') cur.med = Number(value);
      else if (name === 'community') {
        cur.communities = [...value.matchAll(/\((\d+),(\d+)\)/g)].map((m) => `${m[1]}:${m[2]}`);
      }
      continue;
    }
    const m = ROUTE_LINE.exec(line);
    if (!m || line.startsWith('BIRD ') || line.startsWith('Table ')) continue;
    flush();
    if (m[1]) prefix = m[1];
    const proto = m[3] ?? '';
    const via = /^via (\S+)/.exec(m[2] ?? '');
    cur = {
      prefix,
      family,
      nextHops: [],
      vias: via?.[1] ? [via[1]] : [],
      asPath: [],
      communities: [],
      best: m[4] === '*',
      peer: peers.get(proto),
    };
  }
  flush();
  return routes;
}

export interface BirdProtocol {
  name: string;
  proto: string;
  state: string;
  since?: number;
  bgpState?: string;
  neighborAddress?: string;
  /** Sum of "N imported" over the protocol's channels. */
  imported: number;
}

export function parseBirdProtocols(text: string): BirdProtocol[] {
  const out: BirdProtocol[] = [];
  let cur: BirdProtocol | undefined;
  for (const line of text.split('\n')) {
    // The column header: "Name ..." in BIRD 2, "name ..." in BIRD 1.6.
    if (line.startsWith('BIRD ') || /^name\s/i.test(line)) continue;
    const head = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)?/.exec(line);
    if (head?.[1]) {
      cur = { name: head[1], proto: head[2] ?? '', state: head[4] ?? '', imported: 0 };
      if (head[5] !== undefined) cur.since = Number(head[5]);
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    const body = line.trim();
    let m: RegExpExecArray | null;
    if ((m = /^BGP state:\s+(\S+)/.exec(body))) cur.bgpState = m[1];
    else if ((m = /^Neighbor address:\s+(\S+)/.exec(body))) cur.neighborAddress = m[1];
    else if ((m = /^Routes:\s+(\d+) imported/.exec(body))) cur.imported += Number(m[1]);
  }
  return out;
}
