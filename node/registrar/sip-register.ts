/**
 * SIP adapter: SipRequest ⇄ the pure REGISTER processor. Header extraction only; every rule
 * lives in register-processor.ts.
 */
import { createResponse, SipParseError, type SipRequest, type SipResponse } from '../sip/index.js';
import type { FlowInfo } from './binding.js';
import type { RegisterDecision, RegisterRequest } from './register-processor.js';

export type RegisterExtraction = { readonly ok: true; readonly request: RegisterRequest } | { readonly ok: false; readonly reason: string };

/** Reads the REGISTER's registrar-relevant headers; a missing/malformed mandatory one → not ok (400). */
export function registerRequestFrom(req: SipRequest, source: FlowInfo | null): RegisterExtraction {
  const h = req.headers;
  const to = h.get('To');
  if (to === undefined) return { ok: false, reason: 'Missing To' };
  let callId: string;
  let cseq: number;
  try {
    callId = req.callId();
    cseq = req.cseq().seq;
  } catch (err) {
    if (err instanceof SipParseError) return { ok: false, reason: err.message };
    throw err;
  }
  return {
    ok: true,
    request: {
      to,
      callId,
      cseq,
      contacts: h.getLines('Contact'),
      expires: h.get('Expires') ?? null,
      path: h.getLines('Path'),
      supported: h.getLines('Supported'),
      require: h.getLines('Require'),
      userAgent: h.get('User-Agent') ?? null,
      source,
      viaCount: h.getAll('Via').length,
    },
  };
}

/** Builds the final response for a decision (200 with Contacts, or the rejection with its headers). */
export function registerResponse(req: SipRequest, decision: RegisterDecision, toTag?: string): SipResponse {
  return createResponse(req, decision.status, decision.reason, { toTag, headers: decision.headers });
}
