// The built-in adapters, registered by name: our own speaker and the real daemons.

import { BirdDaemon } from './bird.js';
import { Bird1Daemon } from './bird1.js';
import { ExabgpDaemon } from './exabgp.js';
import { FrrDaemon } from './frr.js';
import { GobgpDaemon } from './gobgp.js';
import { NonstopDaemon } from './nonstop.js';
import { daemonKinds, registerDaemon } from './registry.js';

if (!daemonKinds().includes('bird')) {
  registerDaemon('bird', (spec, host) => new BirdDaemon(spec, host));
  registerDaemon('bird1', (spec, host) => new Bird1Daemon(spec, host));
  registerDaemon('frr', (spec, host) => new FrrDaemon(spec, host));
  registerDaemon('gobgp', (spec, host) => new GobgpDaemon(spec, host));
  registerDaemon('exabgp', (spec, host) => new ExabgpDaemon(spec, host));
  registerDaemon('nonstop', (spec, host) => new NonstopDaemon(spec, host));
}

export { Bird1Daemon, BirdDaemon, ExabgpDaemon, FrrDaemon, GobgpDaemon, NonstopDaemon };
export { daemonFactory, daemonKinds, registerDaemon } from './registry.js';
export * from './types.js';
