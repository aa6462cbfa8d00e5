// Public API of TCPR's pure core (TCPR paper §II–III): the packet filter the packet pump
// drives, its side-channel messages and their codec. I/O lives in net/ and cli/.

export {
  createFilter,
  TcprFilter,
  type AddressMapping,
  type ControlResult,
  type DropReason,
  type Emit,
  type FilterOptions,
  type FilterStats,
  type PacketFilter,
  type Side,
} from './filter.js';
export {
  savedState,
  WS_NONE,
  WS_UNKNOWN,
  type ConnectionSnapshot,
  type HardState,
  type PeerState,
  type SavedState,
} from './connection.js';
export {
  CONTROL_TYPE,
  CONTROL_VERSION,
  decodeControl,
  encodeControl,
  ReplayGuard,
  savedStateFromJson,
  savedStateToJson,
  type ConnRef,
  type ControlError,
  type ControlErrorCode,
  type ControlMessage,
  type Decoded,
  type DecodeOptions,
  type EncodeOptions,
  type ListenSpec,
  type UpdateFields,
} from './control-codec.js';
export {
  buildSegment,
  encodeSegment,
  parseIp,
  parseTcp,
  TCP_FLAG,
  type MalformedReason,
  type SegmentSpec,
  type TcpSegment,
} from './packet.js';
export { TCP_OPT } from './options.js';
export {
  acceptProtected,
  connectProtected,
  listenProtected,
  recordOf,
  recoverConnection,
  TcprChannel,
  TcprClientError,
  TcprConnection,
  TCPR_CHANNEL,
  type ChannelOptions,
  type TcprClientErrorCode,
  type TcprRecord,
} from './client.js';
