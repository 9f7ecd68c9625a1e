// Transaction matching keys: RFC 3261 §17.1.3 (client) and §17.2.3 (server, with the RFC 2543
// fallback for requests whose branch lacks the magic cookie).
import { flatKey } from '../util/index.js';
import type { RequestView, ResponseView, ViaView } from './message-view.js';

/** RFC 3261 §8.1.1.7: a branch beginning with this cookie was minted by an RFC 3261 element. */
export const MAGIC_COOKIE = 'z9hG4bK';

const SEP = '\u0000';

export function isRfc3261Branch(branch: string | undefined): branch is string {
  return branch !== undefined && branch.startsWith(MAGIC_COOKIE) && branch.length > MAGIC_COOKIE.length;
}

/** §17.2.3: the ACK for a non-2xx response belongs to the INVITE transaction. */
function transactionMethod(method: string): string {
  return method === 'ACK' ? 'INVITE' : method;
}

function sentBy(via: ViaView): string {
  return via.port === undefined ? via.host.toLowerCase() : `${via.host.toLowerCase()}:${via.port}`;
}

/** Client transaction key from its parts: top Via branch and method (§17.1.3). */
export function clientKey(branch: string | undefined, method: string): string {
  return `c${SEP}${branch ?? ''}${SEP}${transactionMethod(method)}`;
}

/** Client transaction key of a request we send: its top Via branch plus its method (§17.1.3). */
export function clientKeyOfRequest(request: RequestView): string {
  return flatKey(`c${SEP}${request.topVia.branch ?? ''}${SEP}${transactionMethod(request.method)}`);
}

/**
 * Client transaction key a response belongs to (§17.1.3): branch of its top Via plus the CSeq
 * method (a CANCEL and the INVITE it cancels share a branch but differ in method).
 */
export function clientKeyOfResponse(response: ResponseView): string | undefined {
  const branch = response.topVia?.branch;
  if (branch === undefined) return undefined;
  return `c${SEP}${branch}${SEP}${transactionMethod(response.cseq.method)}`;
}

/** RFC 2543 fields shared by a request and (for INVITE) its ACK: §17.2.3 minus the To tag. */
function legacyBase(request: RequestView, methodClass: string): string {
  return [
    'l',
    request.uri,
    request.fromTag ?? '',
    request.callId,
    String(request.cseq.seq),
    request.topVia.raw.trim(),
    methodClass,
  ].join(SEP);
}

/**
 * Server transaction key of an inbound request (§17.2.3). ACK maps to its INVITE. With a magic
 * cookie branch: branch + sent-by + method. Without: Request-URI, From tag, Call-ID, CSeq, top Via
 * and To tag of the request (the RFC 2543 rules).
 *
 * For an RFC 2543 ACK the To tag must be compared with the response the server sent, so this key
 * is not used for it; see `legacyAckKey`.
 */
export function serverKey(request: RequestView): string {
  return serverKeyAs(request, request.method);
}

/**
 * Key of the transaction `request` would belong to if its method were `method`. Used to find the
 * INVITE a CANCEL refers to (RFC 3261 §9.2: same matching, method not compared).
 */
export function serverKeyAs(request: RequestView, method: string): string {
  const via = request.topVia;
  const txMethod = transactionMethod(method);
  // Kept as the table key for the transaction's whole life: flattened (see flatKey).
  if (isRfc3261Branch(via.branch)) return flatKey(`s${SEP}${via.branch}${SEP}${sentBy(via)}${SEP}${txMethod}`);
  return flatKey(`${legacyBase(request, txMethod)}${SEP}${request.toTag ?? ''}`);
}

/** True when the request must be matched with the RFC 2543 rules. */
export function usesLegacyMatching(request: RequestView): boolean {
  return !isRfc3261Branch(request.topVia.branch);
}

/**
 * RFC 2543 ACK matching (§17.2.3): Request-URI, From tag, Call-ID, CSeq number and top Via equal to
 * the INVITE's; the ACK's To tag is then checked against the server's response by the caller.
 * Also the secondary key an RFC 2543 INVITE server transaction is indexed under.
 */
export function legacyAckKey(request: RequestView): string {
  return legacyBase(request, 'INVITE');
}

/**
 * Key of the ACK for a non-2xx final response an INVITE server transaction sent, from dialog fields
 * only: Call-ID, From tag, CSeq number and the response's To tag. §17.2.3 matches an ACK by the
 * INVITE's branch; a UA that mints a new branch for it (hand-written SIPp scenarios with `[branch]`
 * on the ACK do) would leave the final response retransmitting to Timer H and the ACK roaming on as a
 * stray. These four fields single out that response's ACK all the same: the To tag is the one the
 * response carried.
 */
export function nonSuccessAckKey(callId: string, fromTag: string, seq: number, toTag: string): string {
  return flatKey(`a${SEP}${callId}${SEP}${fromTag}${SEP}${seq}${SEP}${toTag}`);
}
