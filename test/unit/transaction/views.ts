// Test-side message views: built from header lists, so the transaction layer's recipes (ACK,
// CANCEL, 100 Trying) round-trip through the same field extraction.
import type {
  HeaderSpec,
  MessageFactory,
  RequestView,
  ResponseView,
  TxAction,
  ViaView,
} from '../../../node/transaction/index.js';

function tagOf(value: string | undefined): string | undefined {
  const m = value === undefined ? null : /;\s*tag=([^;>\s,]+)/i.exec(value);
  return m === null ? undefined : m[1];
}

function viaOf(raw: string): ViaView {
  const m = /^SIP\/2\.0\/(\w+)\s+([^;:\s]+)(?::(\d+))?/i.exec(raw.trim());
  if (m === null) throw new Error(`bad Via ${raw}`);
  const branch = /;\s*branch=([^;\s,]+)/i.exec(raw);
  return {
    transport: m[1].toUpperCase(),
    host: m[2],
    port: m[3] === undefined ? undefined : Number(m[3]),
    branch: branch === null ? undefined : branch[1],
    raw,
  };
}

function common(headers: readonly HeaderSpec[]) {
  const values = (name: string) => headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
  const cseq = (values('CSeq')[0] ?? '0 X').trim().split(/\s+/);
  return {
    callId: values('Call-ID')[0] ?? '',
    cseq: { seq: Number(cseq[0]), method: cseq[1] },
    fromTag: tagOf(values('From')[0]),
    toTag: tagOf(values('To')[0]),
    headerValues: values,
    vias: values('Via'),
  };
}

export function requestView(method: string, uri: string, headers: readonly HeaderSpec[]): RequestView & { headers: readonly HeaderSpec[] } {
  const c = common(headers);
  return { kind: 'request', method, uri, topVia: viaOf(c.vias[0]), callId: c.callId, cseq: c.cseq, fromTag: c.fromTag, toTag: c.toTag, headerValues: c.headerValues, headers };
}

export function responseView(status: number, reason: string, headers: readonly HeaderSpec[]): ResponseView & { headers: readonly HeaderSpec[] } {
  const c = common(headers);
  return {
    kind: 'response', status, reason,
    topVia: c.vias.length > 0 ? viaOf(c.vias[0]) : undefined,
    callId: c.callId, cseq: c.cseq, fromTag: c.fromTag, toTag: c.toTag, headerValues: c.headerValues, headers,
  };
}

export const factory: MessageFactory = {
  request: (spec) => requestView(spec.method, spec.uri, spec.headers),
  response: (spec) => responseView(spec.status, spec.reason, spec.headers),
};

export interface RequestOptions {
  branch?: string;
  sentBy?: string;
  transport?: string;
  callId?: string;
  cseq?: number;
  fromTag?: string;
  toTag?: string;
  uri?: string;
  routes?: string[];
  extraVias?: string[];
}

export function request(method: string, o: RequestOptions = {}): RequestView & { headers: readonly HeaderSpec[] } {
  const branch = o.branch ?? 'z9hG4bK-1';
  const headers: HeaderSpec[] = [
    ['Via', `SIP/2.0/${o.transport ?? 'UDP'} ${o.sentBy ?? 'client.example.com:5060'};branch=${branch}`],
    ...(o.extraVias ?? []).map((v): HeaderSpec => ['Via', v]),
    ...(o.routes ?? []).map((r): HeaderSpec => ['Route', r]),
    ['Max-Forwards', '70'],
    ['From', `"Alice" <sip:alice@example.com>;tag=${o.fromTag ?? 'from1'}`],
    ['To', `<sip:bob@example.com>${o.toTag !== undefined ? `;tag=${o.toTag}` : ''}`],
    ['Call-ID', o.callId ?? 'call-1@client'],
    ['CSeq', `${o.cseq ?? 1} ${method === 'ACK' || method === 'CANCEL' ? method : method}`],
    ['Content-Length', '0'],
  ];
  return requestView(method, o.uri ?? 'sip:bob@example.com', headers);
}

/** A response to `req` (Via list, From, Call-ID, CSeq copied; To tag added when given). */
export function response(req: RequestView, status: number, toTag?: string, reason = 'Reason'): ResponseView & { headers: readonly HeaderSpec[] } {
  const to = req.headerValues('To')[0];
  const headers: HeaderSpec[] = [
    ...req.headerValues('Via').map((v): HeaderSpec => ['Via', v]),
    ['From', req.headerValues('From')[0]],
    ['To', toTag !== undefined && req.toTag === undefined ? `${to};tag=${toTag}` : to],
    ['Call-ID', req.callId],
    ['CSeq', `${req.cseq.seq} ${req.cseq.method}`],
    ['Content-Length', '0'],
  ];
  return responseView(status, reason, headers);
}

function label(m: RequestView | ResponseView): string {
  return m.kind === 'request' ? m.method : String(m.status);
}

/** One action as a trace word: "send INVITE", "retransmit 486", "TU 180", "timeout B", ... */
export function describe(actions: readonly TxAction[]): string[] {
  return actions.map((a) => {
    switch (a.kind) {
      case 'send':
      case 'retransmit':
        return `${a.kind} ${label(a.message)}`;
      case 'response':
        return `TU ${a.response.status}`;
      case 'ack':
        return 'TU ACK';
      case 'timeout':
        return `timeout ${a.timer}`;
      case 'transport-error':
        return 'transport-error';
      case 'terminated':
        return 'terminated';
    }
  });
}

interface Steppable {
  advance(now: number): TxAction[];
  nextDeadline(): number | undefined;
}

/**
 * Runs a machine's timers from `from` to `until`, jumping straight to each deadline as a real
 * clock would, and returns "t=<ms> <action>" lines.
 */
export function runTimers(machine: Steppable, until: number): string[] {
  const lines: string[] = [];
  for (let at = machine.nextDeadline(); at !== undefined && at <= until; at = machine.nextDeadline()) {
    for (const word of describe(machine.advance(at))) lines.push(`t=${at} ${word}`);
  }
  return lines;
}

export function at(t: number, actions: readonly TxAction[]): string[] {
  return describe(actions).map((w) => `t=${t} ${w}`);
}
