// Confirmed INVITE dialogs seen by the proxy, for the `siphon_dialogs_active` gauge.
// RFC 3261 §12.1: a 2xx to INVITE carrying a To tag confirms a dialog; §15: a BYE's 2xx (or a
// 481/408 to it, meaning the peer no longer has the dialog) ends it. A dialog whose BYE never
// passed through us (a crashed UA, a route that bypasses us) is ended by an idle timeout so the
// gauge cannot grow without bound. Pure: driven by observations + `now` (ms).

import { dialogKey, type DialogKeyParts } from './dialog-id.js';

export interface DialogTrackerOptions {
  /** A confirmed dialog with no in-dialog traffic for this long is counted as ended. */
  readonly idleTimeoutMs: number;
}

export interface ResponseObservation extends DialogKeyParts {
  readonly cseqMethod: string;
  readonly status: number;
}

export type DialogChange = { readonly kind: 'confirmed' | 'ended'; readonly key: string };

export class DialogTracker {
  private readonly lastSeen = new Map<string, number>();

  constructor(private readonly opts: DialogTrackerOptions) {}

  get active(): number {
    return this.lastSeen.size;
  }

  /** Feed every response the proxy forwards upstream. */
  observeResponse(r: ResponseObservation, now: number): DialogChange | undefined {
    if (r.toTag === '' || r.fromTag === '') return undefined;
    const key = dialogKey(r);
    if (r.cseqMethod === 'INVITE') {
      if (r.status < 200 || r.status >= 300) return undefined;
      const known = this.lastSeen.has(key);
      this.lastSeen.set(key, now); // a 2xx retransmission or re-INVITE answer refreshes
      return known ? undefined : { kind: 'confirmed', key };
    }
    if (!this.lastSeen.has(key)) return undefined;
    if (r.cseqMethod === 'BYE' && ((r.status >= 200 && r.status < 300) || r.status === 481 || r.status === 408)) {
      this.lastSeen.delete(key);
      return { kind: 'ended', key };
    }
    this.lastSeen.set(key, now);
    return undefined;
  }

  /** Feed in-dialog requests (keeps a long call from being swept as idle). */
  observeRequest(p: DialogKeyParts, now: number): void {
    if (p.toTag === '' || p.fromTag === '') return;
    const key = dialogKey(p);
    if (this.lastSeen.has(key)) this.lastSeen.set(key, now);
  }

  /** Ends dialogs idle for longer than the timeout; returns what ended. */
  sweep(now: number): DialogChange[] {
    const ended: DialogChange[] = [];
    for (const [key, seen] of this.lastSeen) {
      if (now - seen >= this.opts.idleTimeoutMs) {
        this.lastSeen.delete(key);
        ended.push({ kind: 'ended', key });
      }
    }
    return ended;
  }
}
