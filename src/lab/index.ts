// Public surface of the lab: topologies of real BGP daemons in network namespaces.

export {
  Lab,
  type KernelRoute,
  type LabLink,
  type LabNode,
  type LinkEnd,
  type LinkEndSpec,
} from './lab.js';
export { cleanupStale, type CleanupReport } from './cleanup.js';
export { labAvailable, labMissingBinaries, labProblems, namespaceProblem } from './preflight.js';
export { LAB_PREFIX } from './names.js';
export * from './daemons/index.js';
export { waitFor, WaitAbortError, WaitTimeoutError, type WaitOptions } from '../net/wait.js';
export { bestRoute, established } from './expect.js';
export {
  btrReplica,
  LabRouterInstance,
  proxyRuleset,
  replicaLink,
  replicaProxy,
  routerAddressFor,
  type BtrReplicaOptions,
  type BtrRouterSpec,
} from './btr-replica.js';
