// Moved to src/lab/btr-audit.ts (the hypervisor runner uses it, and the runner is in src/ so
// that `nonstop demo` can start it); re-exported here for the tests.

export {
  ReplicaAudit,
  type AuditDifference,
  type AuditNeighbour,
} from '../../src/lab/btr-audit.js';
