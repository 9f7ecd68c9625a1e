/**
 * The REGISTER decision (RFC 3261 §10.3), pure: request + authenticated identity + the AoR's
 * current bindings + `now` → either a rejection or the binding changes and the 200 OK contents.
 * No I/O and no clock; the caller commits the changes (BindingStore.apply) before answering.
 *
 * Decisions where implementations differ (documented):
 * - §10.3 step 7, same Call-ID with CSeq ≤ the stored one: the stale update is ignored and the
 *   200 OK lists the bindings as they are (Kamailio's R_OOO/R_RETRANS behaviour). A delayed
 *   retransmission of an older REGISTER can then never roll a binding back, and the UA is not told
 *   its (already newer) registration failed.
 * - Too many contacts: 503 "Too many registered contacts" (Kamailio `max_contacts`; the text is
 *   repeated in P-Registrar-Error), only when the request would add bindings; refreshes and
 *   removals always go through.
 * - A non-numeric `expires` / Expires / q / reg-id is a 400, not silently defaulted.
 */
import { aorOfParts, parseSipUri, uriOfNameAddr, type SipUriParts } from './aor.js';
import { compareForFork, indexOfKey, remainingSeconds, type Binding, type BindingChange, type FlowInfo } from './binding.js';
import {
  ContactParseError,
  formatParams,
  parseContacts,
  parseDeltaSeconds,
  splitHeaderLists,
  type ContactSpec,
} from './contact-header.js';
import { MAX_TEMP_GRUUS, publicGruu, tempGruu } from './gruu.js';
import type { RegistrarSettings } from './registrar-settings.js';

const ONE_HOUR = 3600;

/** Option tags this registrar implements (RFC 3261 §8.2.2.3 Require processing). */
export const SUPPORTED_OPTION_TAGS: readonly string[] = ['path', 'gruu', 'outbound'];
/** The Supported header value of every 200 OK, built once. */
const SUPPORTED_VALUE = SUPPORTED_OPTION_TAGS.join(', ');

export interface RegisterRequest {
  /** To header value or its URI: the AoR being registered. */
  readonly to: string;
  readonly callId: string;
  readonly cseq: number;
  /** Raw Contact header values (each may hold a comma-separated list). */
  readonly contacts: readonly string[];
  /** Raw Expires header value, null when absent. */
  readonly expires: string | null;
  /** Raw Path header values (RFC 3327). */
  readonly path: readonly string[];
  /** Raw Supported / Require header values. */
  readonly supported: readonly string[];
  readonly require: readonly string[];
  readonly userAgent: string | null;
  readonly source: FlowInfo | null;
  /** Number of Via entries; 1 means the UA is our direct neighbour (RFC 5626 §6). Default 1. */
  readonly viaCount?: number;
}

export interface RegisterContext {
  readonly settings: RegistrarSettings;
  /** ms since epoch. */
  readonly now: number;
  /** Digest-authenticated username, null when the request was not authenticated. */
  readonly authUser: string | null;
  /** Unguessable token source for temporary GRUUs (injected for determinism). */
  readonly newToken: () => string;
}

export type Header = readonly [name: string, value: string];

export interface RegisterReject {
  readonly kind: 'reject';
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly Header[];
  /** Human-readable cause, for logs; a 400 also sends it in the reason phrase (sip-register.ts). */
  readonly detail: string;
}

export interface RegisterAccept {
  readonly kind: 'accept';
  readonly aor: string;
  /** Commands to commit, deletes first; empty for a query or an ignored out-of-order request. */
  readonly changes: readonly BindingChange[];
  /** Bindings of the AoR after the changes, in fork order. */
  readonly bindings: readonly Binding[];
  readonly status: 200;
  readonly reason: 'OK';
  readonly headers: readonly Header[];
}

export type RegisterDecision = RegisterReject | RegisterAccept;

function reject(status: number, reason: string, detail: string, headers: readonly Header[] = []): RegisterReject {
  return { kind: 'reject', status, reason, headers, detail };
}

const NONE: readonly string[] = [];

function optionTags(values: readonly string[]): readonly string[] {
  // Most REGISTERs carry no Require (and many no Supported): nothing to split then.
  if (values.length === 0) return NONE;
  return values.flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase()).filter((t) => t !== '');
}

/** RFC 7231 IMF-fixdate, the SIP-date of RFC 3261 §20.17. */
let dateCacheSecond = -1;
let dateCacheText = '';
export function sipDate(now: number): string {
  // Formatting a Date costs microseconds; at thousands of REGISTER/s most share the same second.
  const second = Math.floor(now / 1000);
  if (second !== dateCacheSecond) {
    dateCacheSecond = second;
    dateCacheText = new Date(second * 1000).toUTCString();
  }
  return dateCacheText;
}

/**
 * Past this many entries a lookup by key goes through a Map. An AoR holds a binding or two and a
 * REGISTER a contact or two: scanning those is cheaper than building a Map per request, while a
 * long (hostile) list still costs linear time.
 */
const SCAN_LIMIT = 8;

/** The bindings by key when there are too many to scan; null when scanning is cheaper. */
function bindingIndex(bindings: readonly Binding[]): ReadonlyMap<string, Binding> | null {
  if (bindings.length <= SCAN_LIMIT) return null;
  const index = new Map<string, Binding>();
  for (const b of bindings) index.set(b.key, b);
  return index;
}

function bindingWithKey(bindings: readonly Binding[], index: ReadonlyMap<string, Binding> | null, key: string): Binding | undefined {
  if (index !== null) return index.get(key);
  const at = indexOfKey(bindings, key);
  return at < 0 ? undefined : bindings[at];
}

function keyOfChange(ch: BindingChange): string {
  return ch.op === 'insert' || ch.op === 'refresh' ? ch.binding.key : ch.key;
}

/**
 * The changes a REGISTER makes, at most one per binding key, in the order the keys were first
 * written (a later write of the same key replaces the earlier one in place). A request carries at
 * most 256 contacts (contact-header.ts), so even the worst case is a few ten thousand comparisons.
 */
class PlannedChanges {
  readonly list: BindingChange[] = [];

  set(key: string, ch: BindingChange): void {
    const at = this.indexOf(key);
    if (at < 0) this.list.push(ch);
    else this.list[at] = ch;
  }

  delete(key: string): void {
    const at = this.indexOf(key);
    if (at >= 0) this.list.splice(at, 1);
  }

  private indexOf(key: string): number {
    const list = this.list;
    for (let i = 0; i < list.length; i++) if (keyOfChange(list[i]) === key) return i;
    return -1;
  }
}

/** The AoR's bindings once `changes` are applied: kept ones in place, replaced ones where they were, new ones last. */
function applyChanges(live: readonly Binding[], changes: readonly BindingChange[]): Binding[] {
  if (live.length + changes.length > SCAN_LIMIT) return applyChangesIndexed(live, changes);
  const result = live.slice();
  for (const ch of changes) {
    const at = indexOfKey(result, keyOfChange(ch));
    if (ch.op === 'delete' || ch.op === 'expire') {
      if (at >= 0) result.splice(at, 1);
    } else if (at >= 0) result[at] = ch.binding;
    else result.push(ch.binding);
  }
  return result;
}

/** applyChanges for long lists, through a Map (which keeps the same order). */
function applyChangesIndexed(live: readonly Binding[], changes: readonly BindingChange[]): Binding[] {
  const byKey = new Map<string, Binding>();
  for (const b of live) byKey.set(b.key, b);
  for (const ch of changes) {
    if (ch.op === 'delete' || ch.op === 'expire') byKey.delete(ch.key);
    else byKey.set(ch.binding.key, ch.binding);
  }
  return [...byKey.values()];
}

/** The key that identifies a contact's binding within its AoR (RFC 5626 §6, RFC 5627 §5.2). */
function keyOf(c: ContactSpec, outbound: boolean): string {
  if (c.instance !== null && outbound && c.regId !== null) return `instance:${c.instance};reg-id=${c.regId}`;
  if (c.instance !== null) return `instance:${c.instance}`;
  return `uri:${c.uriKey}`;
}

function hasObParam(pathEntry: string): boolean {
  const p = parseSipUri(uriOfNameAddr(pathEntry));
  return p !== null && p.params.some(([n]) => n === 'ob');
}

/** Contact header value for a binding in the 200 OK (RFC 3261 §10.3 step 8). */
export function formatBindingContact(b: Binding, now: number, withGruu: boolean): string {
  let v = `<${b.contactUri}>${formatParams(b.params)}`;
  if (b.q !== null) v += `;q=${b.q}`;
  v += `;expires=${remainingSeconds(b, now)}`;
  if (withGruu && b.instance !== null) {
    // RFC 5627 §5.2: pub-gruu and the most recent temp-gruu, as quoted strings.
    v += `;pub-gruu="${publicGruu(b.aor, b.instance)}"`;
    const t = b.tempGruus[b.tempGruus.length - 1];
    if (t !== undefined) v += `;temp-gruu="${t}"`;
  }
  return v;
}

/** The AoR a REGISTER is for (§10.3 step 5): its To URI canonicalised; null when not a SIP or SIPS URI. */
export interface RegisterTarget {
  readonly to: SipUriParts;
  readonly aor: string;
}

export function registerTarget(to: string): RegisterTarget | null {
  const parts = parseSipUri(uriOfNameAddr(to));
  return parts === null ? null : { to: parts, aor: aorOfParts(parts) };
}

/** `target`: registerTarget(req.to), when the caller has already computed it (to key its queue). */
export function processRegister(req: RegisterRequest, current: readonly Binding[], ctx: RegisterContext,
  target: RegisterTarget | null = registerTarget(req.to)): RegisterDecision {
  const { settings, now } = ctx;

  // §10.3 step 5: the AoR is the To URI, canonicalised; it MUST be a SIP or SIPS URI.
  if (target === null) return reject(400, 'Bad Request', 'To is not a SIP or SIPS URI');
  const { to: toParts, aor } = target;

  // §10.3 step 3 / matrix "Bind AoR to authenticated user": checked before anything that could
  // modify bindings, so a spoofed AoR can never clear the victim's registrations (incl. `*`).
  if (settings.enforceAuthAorMatch && (ctx.authUser === null || toParts.user !== ctx.authUser)) {
    return reject(403, 'Forbidden', `authenticated user ${ctx.authUser ?? '(none)'} does not own ${aor}`);
  }

  // §10.3 step 2 / §8.2.2.3: unknown Require option tags → 420 listing them in Unsupported.
  const unsupported = req.require.length === 0 ? NONE : optionTags(req.require).filter((t) => !SUPPORTED_OPTION_TAGS.includes(t));
  if (unsupported.length > 0) {
    return reject(420, 'Bad Extension', `unsupported: ${unsupported.join(',')}`, [['Unsupported', unsupported.join(', ')]]);
  }
  const supported = optionTags(req.supported);

  let headerExpires: number | null = null;
  let contactList: ReturnType<typeof parseContacts>;
  let path: readonly string[];
  try {
    if (req.expires !== null) headerExpires = parseDeltaSeconds(req.expires, 'Expires');
    contactList = parseContacts(req.contacts);
    path = req.path.length === 0 ? NONE : splitHeaderLists(req.path);
  } catch (err) {
    if (err instanceof ContactParseError) return reject(400, 'Bad Request', err.message);
    throw err;
  }

  // Ignore bindings that have expired but were not swept yet: they no longer exist (§10.3).
  const live = current.length === 0 ? current : current.filter((b) => b.expiresAt > now);
  const liveIndex = bindingIndex(live);

  /** §10.3 step 7: may this request change a binding last written by (callId, cseq)? */
  const inOrder = (b: Binding): boolean => b.callId !== req.callId || req.cseq > b.cseq;

  const changes: BindingChange[] = [];
  let outboundAccepted = false;

  if (contactList.wildcard) {
    // §10.3 step 6: `*` only with Expires: 0 and no other Contact.
    if (headerExpires !== 0) return reject(400, 'Bad Request', '"*" Contact requires Expires: 0');
    for (const b of live) {
      if (inOrder(b)) changes.push({ op: 'delete', aor, key: b.key, cause: 'wildcard' });
    }
  } else {
    const contacts = contactList.contacts;
    // RFC 5626 §6: outbound applies when we are the first hop (a single Via) or the first hop put
    // `ob` in its Path URI. Otherwise a UA that asked for outbound gets 439, and reg-id is ignored
    // for one that did not (Kamailio's reg_regid_mode "outbound" behaves the same way).
    const direct = (req.viaCount ?? 1) <= 1;
    const firstHopSupportsOutbound = direct || (path.length > 0 && hasObParam(path[0]));
    const wantsOutbound = contacts.some((c) => c.instance !== null && c.regId !== null);
    if (wantsOutbound && !firstHopSupportsOutbound && supported.includes('outbound')) {
      return reject(439, 'First Hop Lacks Outbound Support', 'reg-id over a Path without ;ob');
    }
    const outbound = wantsOutbound && firstHopSupportsOutbound;

    // First pass: compute each contact's lifetime; any 423 aborts the whole request (atomicity).
    const planned: Array<{ c: ContactSpec; key: string; expires: number }> = [];
    // Keys of the outbound flows seen so far: only those can collide (their key names instance and reg-id).
    let flowKeys: Set<string> | null = null;
    for (const c of contacts) {
      let expires = c.expires ?? headerExpires ?? settings.defaultExpires;
      if (expires > 0 && expires < settings.minExpires) {
        // §10.3 step 7: 423 only if the interval is also under one hour; a longer one that is still
        // below a (very high) configured minimum is raised to it instead, as Kamailio does.
        if (expires >= ONE_HOUR) expires = settings.minExpires;
        else {
          // §21.4.17: the 423 carries the minimum we accept.
          return reject(423, 'Interval Too Brief', `expires ${expires} < ${settings.minExpires}`, [
            ['Min-Expires', String(settings.minExpires)],
          ]);
        }
      }
      if (settings.maxExpires > 0 && expires > settings.maxExpires) expires = settings.maxExpires;
      const key = keyOf(c, outbound);
      if (c.instance !== null && c.regId !== null && outbound) {
        flowKeys ??= new Set<string>();
        if (flowKeys.has(key)) return reject(400, 'Bad Request', `two Contacts for the same flow ${key}`);
        flowKeys.add(key);
      }
      planned.push({ c, key, expires });
    }

    // Second pass: §10.3 step 7 add / refresh / remove, honouring Call-ID/CSeq order.
    const written = new PlannedChanges();
    for (const { c, key, expires } of planned) {
      const existing = bindingWithKey(live, liveIndex, key);
      if (existing !== undefined && !inOrder(existing)) continue;
      if (expires === 0) {
        if (existing !== undefined) written.set(key, { op: 'delete', aor, key, cause: 'unregistered' });
        else written.delete(key);
        continue;
      }
      const isOutbound = outbound && c.instance !== null && c.regId !== null;
      if (isOutbound) outboundAccepted = true;
      // The binding's list is never changed once stored: a new one only when a GRUU is minted.
      let gruus: readonly string[] = existing?.tempGruus ?? NONE;
      if (c.instance !== null && supported.includes('gruu')) {
        const minted = [...gruus, tempGruu(aor, ctx.newToken())];
        if (minted.length > MAX_TEMP_GRUUS) minted.splice(0, minted.length - MAX_TEMP_GRUUS);
        gruus = minted;
      }
      const binding: Binding = {
        aor,
        key,
        contactUri: c.uri,
        params: c.params,
        q: c.q,
        expires,
        expiresAt: now + expires * 1000,
        callId: req.callId,
        cseq: req.cseq,
        instance: c.instance,
        regId: isOutbound ? c.regId : null,
        outbound: isOutbound,
        path,
        flow: req.source,
        userAgent: req.userAgent,
        registeredAt: existing?.registeredAt ?? now,
        updatedAt: now,
        tempGruus: gruus,
      };
      written.set(key, { op: existing === undefined ? 'insert' : 'refresh', binding });
    }
    for (const ch of written.list) if (ch.op === 'delete') changes.push(ch);
    for (const ch of written.list) if (ch.op !== 'delete') changes.push(ch);
  }

  // Resulting binding set.
  const bindings = changes.length === 0 ? live.slice() : applyChanges(live, changes);
  const inserts = changes.some((ch) => ch.op === 'insert');
  if (inserts && settings.maxContacts > 0 && bindings.length > settings.maxContacts) {
    return reject(503, 'Too many registered contacts', `more than ${settings.maxContacts} bindings`, [
      ['P-Registrar-Error', 'Too many registered contacts'],
    ]);
  }
  bindings.sort(compareForFork);

  const withGruu = supported.includes('gruu');
  const headers: Header[] = bindings.map((b) => ['Contact', formatBindingContact(b, now, withGruu)] as const);
  // §10.3 step 8: the response SHOULD carry a Date header.
  headers.push(['Date', sipDate(now)]);
  // RFC 3327 §5.3: the Path values are echoed so the UA learns them.
  for (const p of path) headers.push(['Path', p]);
  // RFC 3608 §6.3: the Service-Route for this registration.
  for (const r of settings.serviceRoute) headers.push(['Service-Route', r]);
  // RFC 5626 §6: a registrar that accepted an outbound flow says so with Require: outbound.
  if (outboundAccepted) headers.push(['Require', 'outbound']);
  headers.push(['Supported', SUPPORTED_VALUE]);
  return { kind: 'accept', aor, changes, bindings, status: 200, reason: 'OK', headers };
}
