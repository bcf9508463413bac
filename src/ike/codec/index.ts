/** IKEv2 wire format (RFC 7296 section 3, RFC 7383): registries, decoded types, codecs and message rules. */
export * from './constants.js';
export type * from './types.js';
export { decodeHeader, encodeHeader } from './header.js';
export {
  decodeMessage,
  encodeMessage,
  decodePayloads,
  encodePayloads,
  decodePayloadBody,
  encodePayload,
  encodedLengthMessage,
  encodedLengthPayload,
  encodedLengthPayloads,
  payloadTypeOf,
} from './message.js';
export { messageRules, findMessageRule, validateMessageRules, MANY } from './rules.js';
export type { MessageRule, PayloadRule, RuleViolation } from './rules.js';
