/**
 * SIP adapter for digest authentication: REGISTER is challenged by the registrar with 401
 * WWW-Authenticate, anything else by the proxy with 407 Proxy-Authenticate (RFC 3261 §22.1, §22.3).
 */
import { createResponse, type SipRequest, type SipResponse } from '../sip/index.js';
import type { AuthOutcome, ChallengeKind, DigestAuthenticator } from './digest-authenticator.js';

/** RFC 3261 §22.1: ACK and CANCEL cannot be resubmitted, so they are never challenged. */
export function mayChallenge(method: string): boolean {
  return method !== 'ACK' && method !== 'CANCEL';
}

export function challengeKindFor(method: string): ChallengeKind {
  return method === 'REGISTER' ? 'www' : 'proxy';
}

/** Verifies the request's credentials for `kind` (default: by method). */
export function authenticateRequest(auth: DigestAuthenticator, req: SipRequest, nowMs: number, kind?: ChallengeKind): Promise<AuthOutcome> {
  const k = kind ?? challengeKindFor(req.method);
  const credentials = req.headers.getLines(k === 'www' ? 'Authorization' : 'Proxy-Authorization');
  return auth.verify(k, { method: req.method, credentials, body: req.body }, nowMs);
}

/** The response to send for a failed outcome (401/407 challenge, 400, 503); null when authenticated. */
export function authFailureResponse(req: SipRequest, outcome: AuthOutcome, toTag?: string): SipResponse | null {
  switch (outcome.kind) {
    case 'ok':
      return null;
    case 'challenge':
      return createResponse(req, outcome.response.status, outcome.response.reason, { toTag, headers: outcome.response.headers });
    case 'bad-request':
      // Name the fault (as the parser's 400s do): a client can tell broken credentials from a broken request.
      return createResponse(req, 400, credentialsReason(outcome.detail), { toTag });
    case 'unavailable':
      // RFC 3261 §21.5.4: tell the UA when to retry instead of failing its registration outright.
      return createResponse(req, 503, 'Service Unavailable', { toTag, headers: [['Retry-After', '5']] });
  }
}

/** "Bad Request - <detail>", printable ASCII only so input can never break the status line. */
function credentialsReason(detail: string): string {
  const clean = detail.replace(/[^\x20-\x7e]/g, '?').slice(0, 100).trim();
  return clean === '' ? 'Bad Request - Malformed credentials' : `Bad Request - ${clean}`;
}
