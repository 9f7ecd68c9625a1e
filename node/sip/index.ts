/**
 * Public face of the SIP message stack (RFC 3261 §7, §19, §20, §25).
 *
 * Contracts:
 * - parseMessage(buf) frames one message (a datagram or one stream-framed message) and throws only
 *   SipParseError. err.action 'reject' = answer err.status/err.reason (createErrorResponse(err) builds it
 *   from err.headers), 'drop' = discard (responses, unreadable start lines). The message references buf.
 * - Header values are parsed lazily by the cached accessors (topVia, callId, cseq, from, to, ...), which
 *   throw SipParseError on malformed values. validateRequest/validateResponse run every semantic check
 *   and return null or the verdict (for responses any verdict means drop).
 * - headers.get(name) is the first value (first comma element for list headers such as Via, Route,
 *   Contact); getAll splits lists; getLines gives whole lines. Mutators keep order; CR/LF in values
 *   become SP. serialize() copies untouched fields byte-exact and always writes a correct Content-Length.
 */
export { SipParseError, badRequest } from './errors.js';
export type { ParseAction } from './errors.js';
export { Headers, HeaderField } from './headers.js';
export { headerName, isListHeader } from './header-names.js';
export { SipRequest, SipResponse } from './message.js';
export type { SipMessage } from './message.js';
export { parseMessage } from './parser.js';
export { serialize } from './serializer.js';
export { parseUri, formatUri, uriScheme, uriUnescape, uriEquals } from './uri.js';
export type { SipUri, UriScheme } from './uri.js';
export { parseNameAddr, formatNameAddr, tagOf, uriOfNameAddr } from './name-addr.js';
export type { NameAddr } from './name-addr.js';
export { Via, parseVia, formatVia, BRANCH_MAGIC_COOKIE } from './via.js';
export { parseCSeq, formatCSeq, CSEQ_MAX } from './cseq.js';
export type { CSeq } from './cseq.js';
export { parseParams, formatParams, unquoteParam } from './params.js';
export type { Params } from './params.js';
export { validateRequest, validateResponse } from './validate.js';
export type { Verdict, ValidateOptions } from './validate.js';
export { createResponse, createErrorResponse, createRequest } from './builders.js';
export type { ResponseOptions, RequestSpec } from './builders.js';
export { reasonPhrase } from './reason-phrases.js';
