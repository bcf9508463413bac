/** Protection of IKEv2 messages: SK payload sealing and opening (RFC 7296 3.14) and fragments (RFC 7383). */
export { createSkCrypter, SKF_FRAGMENT_FIELDS_LENGTH } from './sk-crypter.js';
export type {
  SkCrypter,
  SkKeys,
  FragmentInfo,
  OpenResult,
  OpenFragmentResult,
  OpenedMessage,
  OpenedFragment,
  OpenFailure,
  OpenFailureReason,
} from './sk-crypter.js';
export { sealMessage, fragmentPlaintext, FragmentReassembler, DEFAULT_REASSEMBLY_LIMITS } from './fragments.js';
export type { ReassemblyLimits, ReassemblyResult, FragmentRejectReason } from './fragments.js';
