// Shared by the RFC 4475 test and the fuzz test: what the stack decides for one buffer.
import { SipParseError, parseMessage, validateRequest, validateResponse } from '../../../node/sip/index.js';

export type Outcome = { kind: 'accept' } | { kind: 'reject'; status: number; reason: string } | { kind: 'drop'; reason: string };

export function judge(buf: Buffer): Outcome {
  let msg;
  try {
    msg = parseMessage(buf);
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
    return e.action === 'drop' ? { kind: 'drop', reason: e.reason } : { kind: 'reject', status: e.status, reason: e.reason };
  }
  if (msg.isRequest) {
    const v = validateRequest(msg);
    return v === null ? { kind: 'accept' } : { kind: 'reject', status: v.status, reason: v.reason };
  }
  const v = validateResponse(msg);
  // A response that fails validation cannot be answered: it is dropped (RFC 3261 §16.7, §18.1.2).
  return v === null ? { kind: 'accept' } : { kind: 'drop', reason: v.reason };
}
