/** Security Association Database (RFC 4301 4.4.2): SAs by SPI and by reqid, counters, byte/packet lifetimes. */
export * from './security-association.js';
export * from './sad.js';
