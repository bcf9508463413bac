/** ESP (RFC 4303) with ESP-in-UDP (RFC 3948): the public surface of src/esp/. */
export * from './constants.js';
export * from './transform.js';
export * from './sa-params.js';
export * from './outbound-sa.js';
export * from './inbound-sa.js';
export * from './udp-encap.js';
export * from './locate.js';
