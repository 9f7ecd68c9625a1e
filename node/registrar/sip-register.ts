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
      viaCount: viaCount(req),
    },
  };
}

/** How many Via values the request carries; validation has usually parsed them already. */
function viaCount(req: SipRequest): number {
  const parsed = req.headers.peek('vias') as readonly unknown[] | undefined;
  return parsed !== undefined ? parsed.length : req.headers.getAll('Via').length;
}

/** Builds the final response for a decision (200 with Contacts, or the rejection with its headers). */
export function registerResponse(req: SipRequest, decision: RegisterDecision, toTag?: string): SipResponse {
  // A 400 names what was wrong (as the parser's 400s do), so a client can tell its errors apart.
  const reason = decision.kind === 'reject' && decision.status === 400 ? badRequestReason(decision.detail) : decision.reason;
  return createResponse(req, decision.status, reason, { toTag, headers: decision.headers });
}

/** "Bad Request - <detail>", restricted to printable ASCII so a copied value can never break the status line. */
export function badRequestReason(detail: string): string {
  const clean = detail.replace(/[^\x20-\x7e]/g, '?').slice(0, 120).trim();
  return clean === '' ? 'Bad Request' : `Bad Request - ${clean}`;
}
