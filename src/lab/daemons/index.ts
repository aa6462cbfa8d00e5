// The built-in adapters, registered by name. `nonstop` (our own speaker) joins here later.

import { BirdDaemon } from './bird.js';
import { ExabgpDaemon } from './exabgp.js';
import { FrrDaemon } from './frr.js';
import { GobgpDaemon } from './gobgp.js';
import { daemonKinds, registerDaemon } from './registry.js';

if (!daemonKinds().includes('bird')) {
  registerDaemon('bird', (spec, host) => new BirdDaemon(spec, host));
  registerDaemon('frr', (spec, host) => new FrrDaemon(spec, host));
  registerDaemon('gobgp', (spec, host) => new GobgpDaemon(spec, host));
  registerDaemon('exabgp', (spec, host) => new ExabgpDaemon(spec, host));
}

export { BirdDaemon, ExabgpDaemon, FrrDaemon, GobgpDaemon };
export { daemonFactory, daemonKinds, registerDaemon } from './registry.js';
export * from './types.js';
