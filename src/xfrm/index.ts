/** Manual keying in `ip xfrm` syntax (RFC 4301 4.5): the public surface of src/xfrm/. */
export * from './xfrm-error.js';
export * from './tokenize.js';
export * from './xfrm-command.js';
export * from './xfrm-algorithms.js';
export * from './state-algorithms.js';
export * from './parse.js';
export * from './to-kernel.js';
export * from './format-list.js';
export * from './format-command.js';
export * from './load-file.js';
export * from './xfrm-tables.js';
