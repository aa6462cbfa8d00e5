// Public API of the BGP-4 wire codec (RFC 4271 and extensions; see each module's header).

export * from './constants.js';
export * from './types.js';
export * from './errors.js';
export { Framer } from './framer.js';
export { checkHeader, writeHeader } from './header.js';
export {
  decodeMessage,
  encodeMessage,
  encodedLength,
  KEEPALIVE_BYTES,
  type DecodeResult,
} from './message.js';
export { makeContext, DEFAULT_CONTEXT, AS4_CONTEXT } from './context.js';
export {
  decodeOpen,
  encodeOpen,
  openCapabilities,
  openAsn,
  makeOpen,
  validateOpen,
  negotiateContexts,
  negotiatedContext,
} from './open.js';
export * from './capabilities.js';
export { decodeUpdate, encodeUpdate, type UpdateResult } from './update.js';
export {
  decodeAttributes,
  encodeAttribute,
  encodeAttributes,
  markPartialForPropagation,
  malformedAction,
  findAttribute,
  attributeByCode,
  ATTR_DEFAULT_FLAGS,
  type DecodedAttributes,
} from './attributes.js';
export * from './as-path.js';
export * from './communities.js';
export {
  decodeMpReach,
  decodeMpUnreach,
  encodeMpReach,
  encodeMpUnreach,
  isDecodedFamily,
} from './mp-reach.js';
export { decodePrefixes, encodePrefixes, prefixesLength, NlriError } from './nlri.js';
export * from './notification.js';
export { decodeRouteRefresh, encodeRouteRefresh } from './route-refresh.js';
