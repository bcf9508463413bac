/** AH (RFC 4302): SA objects that seal and open packets in place, and the header codec. */
export { AhOutboundSa } from './ah-outbound.js';
export { AhInboundSa } from './ah-inbound.js';
export type { AhMode, AhOpenResult, AhSaConfig, AhSaCounters, AhSealResult, AhTunnelEndpoints } from './ah-config.js';
export { AH_SPI_MIN, ahMaxSequenceNumber } from './ah-config.js';
export * from './ah-header.js';
export { locateAh, newAhLocation } from './locate.js';
export type { AhLocation } from './locate.js';
