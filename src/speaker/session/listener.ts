// Accepting BGP connections (RFC 4271 §8: a speaker listens on TCP port 179). Incoming
// connections are dispatched by the remote address to the Peer configured for it, which
// decides (passive start, second connection for collision detection, or refusal); a
// connection from an address with no configured neighbour is closed at once. An `adopt`
// hook may replace the transport first (TCPR: the connection is registered with the
// middlebox and journaled; src/tcpr/bgp-sessions.ts).

import { parseAddr, formatAddr } from '../../lib/ip.js';
import type { LogFields, LogLevel } from '../../lib/log.js';
import type { Connector, Endpoint, Listener, Transport } from '../../net/transport.js';
import type { Peer } from './peer.js';

/** Canonical text of an address, so 2001:DB8::1 and 2001:db8:0::1 find the same peer. */
export function addressKey(a: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  const s = m ? m[1]! : a;
  const b = parseAddr(s);
  return b ? formatAddr(b) : s.toLowerCase();
}

export interface SessionListenerDeps {
  readonly connector: Connector;
  readonly log?: (level: LogLevel, msg: string, fields: LogFields) => void;
  /**
   * Called with each accepted connection before its neighbour sees it; returns the transport
   * to hand over (the same one, or one wrapping it). A rejection closes the connection.
   */
  readonly adopt?: (peer: Peer, t: Transport) => Promise<Transport>;
}

export class SessionListener {
  private readonly peers = new Map<string, Peer>();
  private readonly listeners: Listener[] = [];
  /** Connections refused because no neighbour is configured for their address. */
  refused = 0;

  constructor(private readonly deps: SessionListenerDeps) {}

  /** Route connections from `peer.config.remote.address` to `peer`. */
  addPeer(peer: Peer): void {
    const k = addressKey(peer.config.remote.address);
    const had = this.peers.get(k);
    if (had && had !== peer) {
      throw new Error(
        `two neighbours with address ${peer.config.remote.address}: ${had.name} and ${peer.name}`,
      );
    }
    this.peers.set(k, peer);
  }

  removePeer(peer: Peer): void {
    const k = addressKey(peer.config.remote.address);
    if (this.peers.get(k) === peer) this.peers.delete(k);
  }

  /** Start listening on every endpoint; returns the bound endpoints (port 0 → chosen). */
  async listen(endpoints: readonly Endpoint[]): Promise<Endpoint[]> {
    const out: Endpoint[] = [];
    for (const e of endpoints) {
      const l = await this.deps.connector.listen(e, (t) => this.dispatch(t));
      this.listeners.push(l);
      out.push(l.local);
      this.log('info', `listening on ${l.local.address}:${l.local.port}`, {});
    }
    return out;
  }

  /** Hand a connection to its neighbour (public for transports accepted elsewhere). */
  dispatch(t: Transport): void {
    const peer = this.peers.get(addressKey(t.remote.address));
    if (!peer) {
      this.refused++;
      this.log(
        'warn',
        `connection from ${t.remote.address}:${t.remote.port} to ${t.local.address}:${t.local.port} refused: no neighbour configured for ${t.remote.address}`,
        { remote: t.remote.address },
      );
      t.destroy();
      return;
    }
    const adopt = this.deps.adopt;
    if (!adopt) return peer.acceptIncoming(t);
    const from = `${t.remote.address}:${t.remote.port}`;
    adopt(peer, t).then(
      (a) => {
        // The neighbour may have been removed (config reload) while the hook ran.
        if (this.peers.get(addressKey(t.remote.address)) === peer) peer.acceptIncoming(a);
        else a.destroy();
      },
      (e: unknown) => {
        this.log('warn', `connection from ${from} closed: ${String(e)}`, { remote: from });
        t.destroy();
      },
    );
  }

  /** Stop accepting; established sessions are not touched. */
  async close(): Promise<void> {
    const ls = this.listeners.splice(0);
    await Promise.all(ls.map((l) => l.close()));
  }

  private log(level: LogLevel, msg: string, fields: LogFields): void {
    this.deps.log?.(level, msg, fields);
  }
}
