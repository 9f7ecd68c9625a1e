/**
 * Reads a SIPp `-trace_msg` file as the wire saw it: every datagram SIPp sent or received, with
 * the fields the loss suite checks. A datagram SIPp then "lost" on purpose (`-lost`) is still
 * listed as received: it did arrive, which is what the node is judged on.
 */
import { readFileSync } from 'node:fs';

export interface TracedMessage {
  readonly direction: 'sent' | 'received';
  /** SIPp's timestamp of the event (ms since the epoch). */
  readonly at: number;
  /** 'SIP/2.0 487 Request Terminated' or 'CANCEL sip:carl@… SIP/2.0'. */
  readonly startLine: string;
  /** Response status, 0 for a request. */
  readonly status: number;
  /** Request method, or the CSeq method of a response. */
  readonly method: string;
  readonly callId: string;
  /** Branch of the topmost Via. */
  readonly topBranch: string;
}

// SIPp appends 'UDP message lost (recv).' to the message's last line, so a separator may follow
// text on its own line.
const SEPARATOR = /-{47}[^\n]*/;

function headerValue(lines: readonly string[], name: string): string {
  const prefix = `${name.toLowerCase()}:`;
  const line = lines.find((l) => l.toLowerCase().startsWith(prefix));
  return line === undefined ? '' : line.slice(prefix.length).trim();
}

export function readSippTrace(file: string): TracedMessage[] {
  const out: TracedMessage[] = [];
  const text = readFileSync(file, 'latin1');
  const separators = text.match(new RegExp(SEPARATOR.source, 'g')) ?? [];
  text.split(SEPARATOR).slice(1).forEach((block, i) => {
    const stamp = /(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}\.\d+)/.exec(separators[i] ?? '');
    const at = stamp === null ? Number.NaN : Date.parse(`${stamp[1]}T${stamp[2].slice(0, 12)}`);
    const lines = block.split(/\r?\n/);
    const kind = lines.find((l) => l.trim() !== '') ?? '';
    const direction = /message sent/.test(kind) ? 'sent' : /message received/.test(kind) ? 'received' : undefined;
    if (direction === undefined || /^(Unexpected|Dead call)/.test(kind)) return;
    const start = lines.findIndex((l) => /^(SIP\/2\.0 \d{3}|[A-Z]+ \S+ SIP\/2\.0)/.test(l));
    if (start < 0) return;
    const msg = lines.slice(start);
    const startLine = msg[0];
    const status = startLine.startsWith('SIP/2.0 ') ? Number(startLine.slice(8, 11)) : 0;
    const cseq = headerValue(msg, 'CSeq').split(/\s+/);
    const via = headerValue(msg, 'Via');
    out.push({
      direction, at, startLine, status, method: status === 0 ? startLine.split(' ')[0] : cseq[1] ?? '',
      callId: headerValue(msg, 'Call-ID'), topBranch: /branch=([^;,\s]+)/.exec(via)?.[1] ?? '',
    });
  });
  return out;
}

/** Messages grouped by Call-ID, in trace order. */
export function byCall(messages: readonly TracedMessage[]): Map<string, TracedMessage[]> {
  const calls = new Map<string, TracedMessage[]>();
  for (const m of messages) {
    const list = calls.get(m.callId);
    if (list === undefined) calls.set(m.callId, [m]);
    else list.push(m);
  }
  return calls;
}
