/**
 * One call for the node's REGISTER path: extract → (optional) digest auth → registrar decision and
 * commit → SIP response. The transaction layer sends the returned response; the decision and auth
 * outcome come back for logging, metrics and failed-auth accounting.
 */
import { authenticateRequest, authFailureResponse, type AuthOutcome, type DigestAuthenticator } from '../auth/index.js';
import { createResponse, type SipRequest, type SipResponse } from '../sip/index.js';
import type { FlowInfo } from './binding.js';
import type { RegisterDecision } from './register-processor.js';
import type { Registrar } from './registrar.js';
import { badRequestReason, registerRequestFrom, registerResponse } from './sip-register.js';

export interface RegisterHandling {
  readonly response: SipResponse;
  readonly auth: AuthOutcome | null;
  readonly decision: RegisterDecision | null;
}

export interface RegisterHandlingOptions {
  /** Null when REGISTER is not authenticated (open registrar). */
  readonly auth: DigestAuthenticator | null;
  /** To tag for the response (RFC 3261 §8.2.6.2). */
  readonly toTag?: string;
}

export async function handleRegister(
  registrar: Registrar,
  req: SipRequest,
  source: FlowInfo | null,
  now: number,
  opts: RegisterHandlingOptions,
): Promise<RegisterHandling> {
  const extracted = registerRequestFrom(req, source);
  if (!extracted.ok) return { response: createResponse(req, 400, badRequestReason(extracted.reason), { toTag: opts.toTag }), auth: null, decision: null };
  let authOutcome: AuthOutcome | null = null;
  let authUser: string | null = null;
  if (opts.auth !== null) {
    authOutcome = await authenticateRequest(opts.auth, req, now, 'www');
    const failure = authFailureResponse(req, authOutcome, opts.toTag);
    if (failure !== null) return { response: failure, auth: authOutcome, decision: null };
    if (authOutcome.kind === 'ok') authUser = authOutcome.username;
  }
  let decision: RegisterDecision;
  try {
    decision = await registrar.register(extracted.request, now, authUser);
  } catch {
    // RFC 3261 §10.3 step 7: if the binding commit fails the request MUST fail with 500.
    return {
      response: createResponse(req, 500, 'Server Internal Error', { toTag: opts.toTag, headers: [['Retry-After', '5']] }),
      auth: authOutcome,
      decision: null,
    };
  }
  return { response: registerResponse(req, decision, opts.toTag), auth: authOutcome, decision };
}

/** Runs `registrar.sweep` every `intervalMs` on the real clock; returns the stop function. */
export function startExpirySweep(registrar: Registrar, intervalMs: number, now: () => number = Date.now): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    // A failed sweep (e.g. the log is between leaders) is simply retried on the next tick.
    registrar.sweep(now()).then(
      () => {
        running = false;
      },
      () => {
        running = false;
      },
    );
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
