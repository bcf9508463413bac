/** Linux implementations of the I/O boundary (TUN, raw ESP/AH sockets, UDP 500/4500) and their set-up helpers. */
export { LinuxTun, DEFAULT_TUN_HEADROOM, DEFAULT_TUN_MTU, DEFAULT_TUN_TAILROOM, type TunOptions } from './tun.js';
export { LinuxPacketSocket, type RawSocketOptions } from './raw-socket.js';
export { LinuxUdpEndpoint, type UdpEndpointOptions } from './udp-endpoint.js';
export {
  addAddress,
  addRoute,
  addUnmarkedRule,
  deleteRoute,
  deleteUnmarkedRule,
  ip,
  type IpCommandOptions,
  type MarkRuleOptions,
  type RouteOptions,
} from './iproute.js';
export { withNetns, NETNS_RUN_DIR } from './netns.js';
