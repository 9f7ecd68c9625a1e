/**
 * The single error type the SIP stack lets escape. `status`/`reason` are what a UAS or proxy puts
 * on the status line of its reply (RFC 3261 §8.2, §21.4); `action` says whether a reply is possible
 * at all: responses and messages too broken to name their transaction are dropped (§16.3, RFC 4475 §3.1.2.19).
 */
import type { Headers } from './headers.js';

export type ParseAction = 'reject' | 'drop';

export class SipParseError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly action: ParseAction;
  /** the well-formed headers of a rejected request, so the 400 can still copy Via/From/To/Call-ID/CSeq (§8.2.6) */
  headers?: Headers;

  constructor(status: number, reason: string, action: ParseAction = 'reject') {
    super(`${status} ${reason}`);
    this.name = 'SipParseError';
    this.status = status;
    this.reason = reason;
    this.action = action;
  }
}

/** 400 with the "Bad Request - detail" phrase style used for every syntax complaint. */
export function badRequest(detail: string, action: ParseAction = 'reject'): SipParseError {
  return new SipParseError(400, `Bad Request - ${detail}`, action);
}
