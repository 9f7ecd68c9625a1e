/**
 * NAT keep-alive (`nat.keepalive`; Kamailio nathelper's natping with an OPTIONS "sipping"): every
 * interval, an OPTIONS to each UDP binding registered from behind a NAT (node/proxy/nat.ts), sent
 * statelessly to the REGISTER's source, the NAT's mapping, so the traffic keeps that mapping open
 * between registrations. Any response counts (a 404 or 405 is still the UA answering). A binding
 * that left `failure_threshold` pings in a row unanswered is removed (cause `flow-failed`, RFC 5626
 * §4.4's flow failure): calls stop forking to a phone that went away without unregistering.
 *
 * Pings carry no transaction (thousands of bindings, one datagram each per interval, as Kamailio
 * does): their responses come back as stray responses, recognised by the Call-ID prefix. A round's
 * pings leave in bursts of 200 spread over the first 80 % of the interval.
 */
import { randomBytes } from 'node:crypto';
import { hostReference, natHop } from '../proxy/index.js';
import type { Binding, Registrar } from '../registrar/index.js';
import { SipRequest, Headers, type SipResponse } from '../sip/index.js';
import type { ListenerInfo, MessageSource } from '../transport/index.js';
import { sendStateless, type WireTransports } from './wire-sender.js';

export interface NatKeepaliveOptions {
  readonly intervalMs: number;
  readonly failureThreshold: number;
}

interface PingState {
  readonly aor: string;
  readonly key: string;
  /** Pings in a row without any response. */
  misses: number;
  /** The Call-ID of the ping awaiting its response, or null. */
  outstanding: string | null;
}

/** Pure bookkeeping of who was pinged and who answered; the shell (startNatKeepalive) does the I/O. */
export class NatKeepaliveBook {
  private readonly states = new Map<string, PingState>();
  private readonly byCallId = new Map<string, PingState>();
  readonly prefix = `ka-${randomBytes(4).toString('hex')}-`;
  private seq = 0;

  constructor(private readonly failureThreshold: number) {}

  /**
   * One round over the NATed bindings present now: returns the Call-ID to ping each one with, and
   * the bindings whose pings went unanswered `failureThreshold` times in a row (to remove).
   */
  round(present: Iterable<{ aor: string; key: string }>): { ping: { aor: string; key: string; callId: string }[]; failed: { aor: string; key: string }[] } {
    const ping: { aor: string; key: string; callId: string }[] = [];
    const failed: { aor: string; key: string }[] = [];
    const seen = new Set<string>();
    for (const b of present) {
      const id = `${b.aor}\n${b.key}`;
      seen.add(id);
      let st = this.states.get(id);
      if (st === undefined) {
        st = { aor: b.aor, key: b.key, misses: 0, outstanding: null };
        this.states.set(id, st);
      }
      if (st.outstanding !== null) {
        this.byCallId.delete(st.outstanding);
        st.outstanding = null;
        st.misses++;
      }
      if (st.misses >= this.failureThreshold) {
        failed.push({ aor: b.aor, key: b.key });
        this.states.delete(id);
        continue;
      }
      const callId = `${this.prefix}${++this.seq}`;
      st.outstanding = callId;
      this.byCallId.set(callId, st);
      ping.push({ aor: b.aor, key: b.key, callId });
    }
    // Bindings gone since (unregistered, expired, refreshed from elsewhere): forget them.
    for (const [id, st] of this.states) {
      if (seen.has(id)) continue;
      if (st.outstanding !== null) this.byCallId.delete(st.outstanding);
      this.states.delete(id);
    }
    return { ping, failed };
  }

  /** A response with this Call-ID: true when it answered one of our pings (then it is ours to absorb). */
  answered(callId: string): boolean {
    if (!callId.startsWith(this.prefix)) return false;
    const st = this.byCallId.get(callId);
    if (st !== undefined) {
      this.byCallId.delete(callId);
      st.outstanding = null;
      st.misses = 0;
    }
    return true;
  }

  get tracked(): number {
    return this.states.size;
  }
}

export interface NatKeepalive {
  /** A stray response: true when it answered a ping (absorbed), false to let the proxy have it. */
  onResponse(response: SipResponse): boolean;
  stop(): void;
}

/** Pings sent back to back, and the share of the interval their bursts are spread over. */
const PINGS_PER_BURST = 200;
const SPREAD_SHARE = 0.8;

function listenerFor(listeners: readonly ListenerInfo[], localAddress: string | null): ListenerInfo | undefined {
  const udp = listeners.filter((l) => l.transport === 'udp');
  return udp.find((l) => `${l.host}:${l.port}` === localAddress) ?? udp[0];
}

export function startNatKeepalive(
  host: WireTransports & { readonly listeners: readonly ListenerInfo[] },
  registrar: Registrar,
  opts: NatKeepaliveOptions,
  clock: () => number,
  onError: (err: unknown) => void,
): NatKeepalive {
  const book = new NatKeepaliveBook(opts.failureThreshold);
  // A binding object never changes (a refresh stores a new one): whether it is NATed is asked once.
  const natted = new WeakMap<Binding, boolean>();
  const isNatted = (b: Binding): boolean => {
    let v = natted.get(b);
    if (v === undefined) natted.set(b, (v = b.flow !== null && b.path.length === 0 && natHop(b.contactUri, b.flow) !== undefined));
    return v;
  };
  const send = (b: Binding, callId: string): void => {
    const flow = b.flow;
    const listener = flow === null ? undefined : listenerFor(host.listeners, flow.localAddress);
    if (flow === null || listener === undefined) return;
    const us = `${hostReference(listener.advertisedHost)}:${listener.advertisedPort}`;
    const options = new SipRequest('OPTIONS', b.contactUri, 'SIP/2.0', Headers.from([
      ['Via', `SIP/2.0/UDP ${us};branch=z9hG4bK-${callId};rport`],
      ['Max-Forwards', '70'],
      ['From', `<sip:keepalive@${us}>;tag=${callId}`],
      ['To', `<${b.contactUri}>`],
      ['Call-ID', callId],
      ['CSeq', '1 OPTIONS'],
      ['Content-Length', '0'],
    ]));
    const dest: MessageSource = { transport: 'udp', remote: { address: flow.address, port: flow.port }, listener, connectionId: null };
    try {
      sendStateless(host, options, dest);
    } catch (err) {
      onError(err);
    }
  };
  let burstTimer: NodeJS.Timeout | null = null;
  const tick = (): void => {
    if (burstTimer !== null) clearTimeout(burstTimer); // a round not yet sent out is overtaken
    burstTimer = null;
    const now = clock();
    const present: { aor: string; key: string; binding: Binding }[] = [];
    for (const [aor, bindings] of registrar.allBindings()) {
      for (const b of bindings) if (b.expiresAt > now && isNatted(b)) present.push({ aor, key: b.key, binding: b });
    }
    const byId = new Map(present.map((n) => [`${n.aor}\n${n.key}`, n.binding]));
    const { ping, failed } = book.round(present);
    for (const f of failed) registrar.bindingFailed(f.aor, f.key, now).catch(onError);
    // Spread over most of the interval: a hundred thousand pings at once would hold the event loop
    // for seconds and leave as one burst; the last part of the interval is for the last answers.
    const bursts = Math.ceil(ping.length / PINGS_PER_BURST);
    const gap = bursts > 1 ? (opts.intervalMs * SPREAD_SHARE) / bursts : 0;
    let i = 0;
    const burst = (): void => {
      burstTimer = null;
      for (const end = Math.min(ping.length, i + PINGS_PER_BURST); i < end; i++) {
        const b = byId.get(`${ping[i].aor}\n${ping[i].key}`);
        if (b !== undefined) send(b, ping[i].callId);
      }
      if (i < ping.length) {
        burstTimer = setTimeout(burst, gap);
        burstTimer.unref();
      }
    };
    burst();
  };
  const timer = setInterval(tick, opts.intervalMs);
  timer.unref();
  return {
    onResponse(response) {
      const callId = response.headers.get('Call-ID');
      return callId !== undefined && book.answered(callId.trim());
    },
    stop() {
      clearInterval(timer);
      if (burstTimer !== null) clearTimeout(burstTimer);
    },
  };
}
