// The six states of the BGP finite state machine (RFC 4271 §8.2.2).

export const BGP_STATES = [
  'Idle',
  'Connect',
  'Active',
  'OpenSent',
  'OpenConfirm',
  'Established',
] as const;

export type BgpState = (typeof BGP_STATES)[number];

export function isBgpState(x: unknown): x is BgpState {
  return typeof x === 'string' && (BGP_STATES as readonly string[]).includes(x);
}
