/** The kernel boundary: SAs and policies in, acquire/expire/mapping upcalls out (STYLE.md point 6). */
export * from './kernel-ipsec.js';
export * from './selectors-from-ts.js';
