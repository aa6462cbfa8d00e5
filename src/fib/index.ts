// FIB layer: one interface (fib.ts), an in-memory LPM FIB and the Linux kernel FIB (rtnetlink).
export * from './fib.js';
export { LpmTrie } from './lpm-trie.js';
export { MemoryFib } from './memory-fib.js';
export { NetlinkFib, RTPROT_NONSTOP, type NetlinkFibOptions } from './netlink-fib.js';
export { interfaceIndex } from './netlink-socket.js';
export { KernelNextHops, type KernelRouteSource } from './kernel-next-hops.js';
export { NullFib } from './null-fib.js';
