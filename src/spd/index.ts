/** Security Policy Database (RFC 4301 4.4.1): selectors, packet selector fields, ordered lookup. */
export * from './address.js';
export * from './flow.js';
export * from './selector.js';
export * from './spd.js';
