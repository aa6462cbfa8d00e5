// The hypervisor's end of transparent proxying (BTR paper §4.1 "Socket-based
// communications"; docs/btr.md "Replicas in namespaces"). A replica lives in a namespace
// of its own that carries the router's addresses, with one link to the router's namespace;
// packet rewriting in its namespace (nftables, set up by the layer that starts replicas)
// sends its connections to a neighbour's address, port 179, to the hypervisor's address on
// that link at one port per neighbour, and turns the hypervisor's connections to one port
// per neighbour on the replica's link address into connections from the neighbour's
// address to its port 179. The replica sees only the router's own world.
//
// This Connector undoes the mapping on the hypervisor's side, so the Hypervisor and its
// ReplicaChannels stay as they are: they listen on "the neighbour's address, port 179" and
// connect "from the neighbour's address"; here that becomes the neighbour's own endpoint on
// the link (`ReplicaProxy`). The neighbour is told apart by that endpoint's port, not by
// the connection's addresses, which the rewriting has replaced.

import type { Connector, Endpoint, Listener, Transport } from '../net/transport.js';
import type { ProxiedNeighbor, ReplicaProxy } from './instance.js';
import type { ReplicaSpec } from './replica-channel.js';

export class ProxyConnector implements Connector {
  constructor(
    /** Opens sockets in the router's namespace (where the replica's link ends). */
    private readonly base: Connector,
    readonly proxy: ReplicaProxy,
  ) {}

  private neighbor(address: string | undefined, what: string): ProxiedNeighbor {
    const n = this.proxy.neighbors.find((x) => x.address === address);
    if (!n) {
      const known = this.proxy.neighbors.map((x) => x.address).join(', ');
      throw new Error(
        `${what}: ${address ?? '(no address)'} is not a neighbour of this replica's proxy (${known})`,
      );
    }
    return n;
  }

  /** connect mode: `local.address` is the neighbour the hypervisor speaks as. */
  async connect(
    _remote: Endpoint,
    local?: { address?: string; port?: number },
  ): Promise<Transport> {
    const n = this.neighbor(local?.address, 'proxied connect');
    return this.base.connect(n.connect.remote, { address: n.connect.local });
  }

  /** accept mode: `local` is the neighbour's endpoint the replica connects to. */
  async listen(local: Endpoint, onAccept: (t: Transport) => void): Promise<Listener> {
    return this.base.listen(this.neighbor(local.address, 'proxied listen').accept, onAccept);
  }
}

/**
 * The hypervisor's ReplicaSpec for a proxied replica: its name, the proxy's mode, and a
 * ProxyConnector over `base` (a Connector in the router's namespace). `extra` adds
 * connection and update-timing diversity.
 */
export function proxiedReplicaSpec(
  replica: { readonly name: string; readonly proxy: ReplicaProxy },
  base: Connector,
  extra: Pick<ReplicaSpec, 'startDelayMs' | 'delay'> = {},
): ReplicaSpec {
  const { proxy } = replica;
  return {
    name: replica.name,
    connector: new ProxyConnector(base, proxy),
    mode: proxy.mode,
    // Required by connect mode; the connector replaces it per neighbour.
    ...(proxy.mode === 'connect' ? { endpoint: { address: '', port: 179 } } : {}),
    ...extra,
  };
}
