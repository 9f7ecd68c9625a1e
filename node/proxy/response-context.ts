// RFC 3261 §16.7: what a stateful proxy does with each response a branch returns, and which
// stored final response it sends upstream once every branch has finished. Pure: status codes in,
// decisions out, so the rules read as a table in the tests.

/** What to do with one response arriving on a client branch. */
export type ResponseDisposition =
  /** §16.7 item 3: 100 Trying is hop-by-hop and never forwarded. */
  | 'absorb'
  /** §16.7 item 5: forward at once (1xx while no final sent, every 2xx to INVITE, first 2xx otherwise). */
  | 'forward'
  /** §16.7 item 4: keep in the response context until the best-response choice. */
  | 'store'
  /** §16.7 item 5 (6xx): keep it, and CANCEL every other pending branch (§16.10). */
  | 'store-and-cancel-others';

export interface ResponseContextState {
  /** The request method being proxied ('INVITE' matters: only it has forwardable multiple 2xx). */
  readonly method: string;
  /** A final response has already been sent upstream on the server transaction. */
  readonly finalSent: boolean;
}

export function dispositionFor(status: number, state: ResponseContextState): ResponseDisposition {
  if (status === 100) return 'absorb';
  if (status < 200) return state.finalSent ? 'absorb' : 'forward';
  if (status < 300) {
    // §16.7 item 5: "a proxy MUST forward ... all 2xx responses to INVITE" even after another
    // 2xx went up (forked answers each create a dialog the UAC must ACK and may BYE).
    if (state.method === 'INVITE') return 'forward';
    return state.finalSent ? 'absorb' : 'forward';
  }
  if (state.finalSent) return 'absorb';
  if (status >= 600) return 'store-and-cancel-others';
  return 'store';
}

/** §16.7 item 6: 4xx responses that tell the UAC how to resubmit are preferred within their class. */
const RESUBMISSION_HINTS: ReadonlySet<number> = new Set([401, 407, 415, 420, 484]);

export type BestResponse =
  | { readonly kind: 'stored'; readonly index: number; readonly status: number }
  /** §16.7 item 6: "If there are no final responses in the context, the proxy MUST send a 408". */
  | { readonly kind: 'generate'; readonly status: 408 };

/**
 * §16.7 item 6: choose among the stored finals (in arrival order). A 6xx wins outright; otherwise
 * the lowest class, preferring resubmission hints inside 4xx, else the earliest received.
 */
export function selectBestResponse(stored: readonly number[], nonInvite = false): BestResponse {
  if (nonInvite && stored.some((s) => s !== 408)) {
    // RFC 4320 §4.2: no 408 ever goes up for a non-INVITE, so any answer that can beats it.
    const eligible = stored.flatMap((s, i) => (s === 408 ? [] : [i]));
    const best = selectBestResponse(eligible.map((i) => stored[i]));
    return best.kind === 'stored' ? { ...best, index: eligible[best.index] } : best;
  }
  if (stored.length === 0) return { kind: 'generate', status: 408 };
  const six = stored.findIndex((s) => s >= 600);
  if (six >= 0) return { kind: 'stored', index: six, status: stored[six] };
  let lowestClass = 10;
  for (const s of stored) lowestClass = Math.min(lowestClass, Math.floor(s / 100));
  let chosen = -1;
  for (let i = 0; i < stored.length; i++) {
    const s = stored[i];
    if (Math.floor(s / 100) !== lowestClass) continue;
    if (chosen < 0) chosen = i;
    if (lowestClass === 4 && RESUBMISSION_HINTS.has(s) && !RESUBMISSION_HINTS.has(stored[chosen])) chosen = i;
  }
  return { kind: 'stored', index: chosen, status: stored[chosen] };
}

/** §16.7 item 6: a 503 chosen as best "MUST be converted to 500" so the UAC does not retry us. */
export function upstreamStatus(status: number): number {
  return status === 503 ? 500 : status;
}

/**
 * §16.7 item 7: when the chosen response is a 401/407, every WWW-Authenticate and
 * Proxy-Authenticate from every stored 401/407 is collected into it. Returns the indexes
 * (arrival order) of the stored responses whose challenges must be merged.
 */
export function challengeSources(stored: readonly number[], chosenStatus: number): number[] {
  if (chosenStatus !== 401 && chosenStatus !== 407) return [];
  const out: number[] = [];
  stored.forEach((s, i) => { if (s === 401 || s === 407) out.push(i); });
  return out;
}
