// Synthetic SIP traffic for the start-up warm-up (warm-up.ts): two user agents on loopback UDP
// sockets drive a throwaway node through what production traffic does most — REGISTER (new binding,
// refresh, removal), and calls INVITE/180/200/ACK/BYE through the record-routing proxy, answering
// digest challenges when the node asks for them — so V8 has compiled those paths before real
// traffic arrives. The messages are plain text templates: the warm-up must exercise the node's
// stack, not its own.
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { computeHa1, computeResponse, parseAlgorithm, parseAuthParams } from '../auth/index.js';
import { parseMessage, type SipMessage, type SipResponse } from '../sip/index.js';

export interface WarmUpTarget {
  readonly host: string;
  readonly port: number;
}

export interface WarmUpCredentials {
  readonly username: string;
  readonly password: string;
}

export interface WarmUpCounts {
  /** Calls that ended with the BYE's 200. */
  calls: number;
  /** REGISTER transactions answered 200. */
  registrations: number;
  /** Digest challenges answered (401/407). */
  challenges: number;
  /** Flows abandoned: no answer in time, or an answer the flow did not expect. */
  abandoned: number;
}

export interface WarmUpTrafficOptions {
  readonly target: WarmUpTarget;
  /** Wall-clock budget: no new flow starts after it. */
  readonly durationMs: number;
  /** Flows of each kind kept in flight. */
  readonly concurrency?: number;
  /** Used when the node challenges (RFC 2617 / RFC 7616 digest, qop=auth). */
  readonly credentials?: WarmUpCredentials;
  /** Expires of the bindings made: inside the registrar's min/max, or they would be refused (423). */
  readonly expiresSecs?: number;
  /** Test seam. */
  readonly now?: () => number;
}

/** A flow with no answer for this long is dropped (loopback answers in well under a millisecond). */
const FLOW_TIMEOUT_MS = 1000;
const CALLEE = 'siphon-warmup-callee';
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n';

/** The node's own parser reads what the node sent; anything unparseable is ignored. */
function parsed(bytes: Buffer): SipMessage | null {
  try {
    return parseMessage(bytes);
  } catch {
    return null;
  }
}

/** The Authorization / Proxy-Authorization value answering `challenge` (qop=auth when offered), computed by node/auth. */
export function digestAnswer(challenge: string, method: string, uri: string, creds: WarmUpCredentials, cnonce: string): string {
  const { params } = parseAuthParams(challenge);
  const realm = params.get('realm') ?? '';
  const nonce = params.get('nonce') ?? '';
  const algorithm = parseAlgorithm(params.get('algorithm') ?? null) ?? 'MD5';
  const qop = (params.get('qop') ?? '').split(',').map((q) => q.trim()).includes('auth') ? 'auth' : null;
  const nc = '00000001';
  const response = computeResponse({
    algorithm, ha1: computeHa1(algorithm, creds.username, realm, creds.password), nonce, method, uri, qop,
    nc: qop === null ? null : nc, cnonce: qop === null ? null : cnonce,
  });
  const opaque = params.get('opaque');
  return `Digest username="${creds.username}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=${algorithm}` +
    (qop === null ? '' : `, qop=${qop}, nc=${nc}, cnonce="${cnonce}"`) +
    (opaque === undefined ? '' : `, opaque="${opaque}"`);
}

type Flow = { kind: 'register' | 'call'; deadline: number; onReply(reply: SipResponse): void };

/**
 * Registers the callee, runs the traffic until `durationMs` has passed from then and the flows in
 * flight have ended (or timed out), then closes its sockets. Never throws for what the node
 * answers: a flow that goes wrong is counted as abandoned and replaced.
 */
export async function runWarmUpTraffic(opts: WarmUpTrafficOptions): Promise<WarmUpCounts> {
  const now = opts.now ?? (() => performance.now());
  const concurrency = opts.concurrency ?? 64;
  const expires = opts.expiresSecs ?? 60;
  const { host, port } = opts.target;
  const counts: WarmUpCounts = { calls: 0, registrations: 0, challenges: 0, abandoned: 0 };
  const caller = await bound(host);
  const callee = await bound(host);
  const callerPort = (caller.address() as AddressInfo).port;
  const calleePort = (callee.address() as AddressInfo).port;
  const hp = `${host}:${port}`;
  const flows = new Map<string, Flow>();
  // Set once the callee is registered: the duration is traffic time, so a node slow to answer its
  // first REGISTER (a loaded box, a digest round trip) still gets its calls.
  let until = Number.POSITIVE_INFINITY;
  let seq = 0;
  let stopping = false;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const send = (socket: Socket, text: string): void => {
    socket.send(Buffer.from(text, 'latin1'), port, host);
  };
  const id = (): string => `${(++seq).toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  const request = (
    method: string, uri: string, branch: string, from: string, to: string, callId: string, cseq: number, extra: string, body = '', viaPort = callerPort,
  ): string =>
    `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP ${host}:${viaPort};branch=z9hG4bK-w${branch};rport\r\nMax-Forwards: 70\r\nFrom: ${from}\r\nTo: ${to}\r\nCall-ID: ${callId}\r\n` +
    `CSeq: ${cseq} ${method}\r\n${extra}Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`;

  const end = (callId: string, ok: boolean): void => {
    flows.delete(callId);
    if (!ok) counts.abandoned++;
    startMore();
  };

  /** REGISTER a fresh AoR, refresh it, then remove it (Expires: 0): the registrar's three paths. */
  const registerFlow = (): void => {
    const n = id();
    const aor = `sip:siphon-warmup-${n}@${hp}`;
    const callId = `warmup-reg-${n}`;
    const tag = `t${n}`;
    let cseq = 0;
    let step = 0;
    let authorization = '';
    let challenged = false;
    const expiresOf = [expires, expires, 0];
    const sendStep = (): void => {
      cseq++;
      send(caller, request('REGISTER', `sip:${hp}`, id(), `<${aor}>;tag=${tag}`, `<${aor}>`, callId, cseq,
        `Contact: <sip:siphon-warmup-${n}@${host}:${callerPort}>;expires=${expiresOf[step]}\r\n${authorization}`));
    };
    flows.set(callId, {
      kind: 'register',
      deadline: now() + FLOW_TIMEOUT_MS,
      onReply: (reply) => {
        if (reply.status < 200) return;
        const challenge = reply.headers.get('WWW-Authenticate');
        // Each step may be challenged once (a nonce's count is not replayed: answer afresh).
        if (reply.status === 401 && challenge !== undefined && opts.credentials !== undefined && !challenged) {
          counts.challenges++;
          challenged = true;
          authorization = `Authorization: ${digestAnswer(challenge, 'REGISTER', `sip:${hp}`, opts.credentials, id())}\r\n`;
          sendStep();
          return;
        }
        if (reply.status !== 200) return end(callId, false);
        challenged = false;
        counts.registrations++;
        if (++step === expiresOf.length || stopping) return end(callId, true);
        sendStep();
      },
    });
    sendStep();
  };

  /** A call through the proxy to the registered callee: INVITE, (407), 180, 200, ACK, BYE, 200. */
  const callFlow = (): void => {
    const n = id();
    const callId = `warmup-call-${n}`;
    const from = `<sip:siphon-warmup-caller@${hp}>;tag=c${n}`;
    const ruri = `sip:${CALLEE}@${hp}`;
    let cseq = 1;
    let authorization = '';
    const invite = (): void => {
      send(caller, request('INVITE', ruri, id(), from, `<${ruri}>`, callId, cseq,
        `Contact: <sip:siphon-warmup-caller@${host}:${callerPort}>\r\nContent-Type: application/sdp\r\n${authorization}`, SDP));
    };
    let answered = false;
    flows.set(callId, {
      kind: 'call',
      deadline: now() + FLOW_TIMEOUT_MS,
      onReply: (reply) => {
        const method = (reply.headers.get('CSeq') ?? '').split(/\s+/)[1];
        if (reply.status < 200) return;
        if (method === 'BYE') {
          if (reply.status === 200) counts.calls++;
          return end(callId, reply.status === 200);
        }
        if (method !== 'INVITE' || answered) return; // a retransmitted 2xx: the ACK already went
        const to = reply.headers.get('To') ?? '';
        if (reply.status >= 300) {
          // The transaction's ACK for a non-2xx (§17.1.1.3): same branch as the INVITE.
          const via = reply.headers.get('Via') ?? '';
          send(caller, `ACK ${ruri} SIP/2.0\r\nVia: ${via}\r\nMax-Forwards: 70\r\nFrom: ${from}\r\nTo: ${to}\r\nCall-ID: ${callId}\r\nCSeq: ${cseq} ACK\r\nContent-Length: 0\r\n\r\n`);
          const challenge = reply.headers.get('Proxy-Authenticate');
          if (reply.status === 407 && challenge !== undefined && opts.credentials !== undefined && authorization === '') {
            counts.challenges++;
            cseq++;
            authorization = `Proxy-Authorization: ${digestAnswer(challenge, 'INVITE', ruri, opts.credentials, id())}\r\n`;
            invite();
            return;
          }
          return end(callId, false);
        }
        answered = true;
        // §12.1.2: the route set is the Record-Route reversed; the remote target is the Contact.
        const routes = reply.headers.getAll('Record-Route').reverse();
        const contact = /<([^>]+)>/.exec(reply.headers.get('Contact') ?? '')?.[1] ?? ruri;
        const route = routes.length > 0 ? `Route: ${routes.join(', ')}\r\n` : '';
        send(caller, request('ACK', contact, id(), from, to, callId, cseq, route));
        send(caller, request('BYE', contact, id(), from, to, callId, cseq + 1, route));
      },
    });
    invite();
  };

  const startMore = (): void => {
    if (stopping || now() >= until) {
      stopping = true;
      if (flows.size === 0) finish();
      return;
    }
    let registers = 0;
    for (const f of flows.values()) if (f.kind === 'register') registers++;
    const calls = flows.size - registers;
    for (let i = registers; i < concurrency; i++) registerFlow();
    for (let i = calls; i < concurrency; i++) callFlow();
  };

  caller.on('message', (bytes: Buffer) => {
    const msg = parsed(bytes);
    if (msg === null || msg.isRequest) return; // the caller is only ever sent responses
    const callId = msg.headers.get('Call-ID') ?? '';
    const flow = flows.get(callId);
    if (flow === undefined) return;
    flow.deadline = now() + FLOW_TIMEOUT_MS; // an answer came: the flow is progressing, not stuck
    try {
      flow.onReply(msg);
    } catch {
      end(callId, false); // a challenge node/auth cannot parse: this flow is over
    }
  });

  let answeredCalls = 0;
  // The callee answers what the proxy forwards: INVITE with 180 then 200 (with SDP), BYE and
  // anything else with 200; an ACK gets nothing.
  callee.on('message', (bytes: Buffer, rinfo) => {
    const msg = parsed(bytes);
    if (msg === null || !msg.isRequest || msg.method === 'ACK') return;
    const method = msg.method;
    const h = msg.headers;
    const tag = `e${++answeredCalls}`;
    const echo = h.getAll('Via').map((v) => `Via: ${v}\r\n`).join('') +
      h.getAll('Record-Route').map((v) => `Record-Route: ${v}\r\n`).join('') +
      `From: ${h.get('From') ?? ''}\r\nTo: ${h.get('To') ?? ''}${method === 'INVITE' ? `;tag=${tag}` : ''}\r\n` +
      `Call-ID: ${h.get('Call-ID') ?? ''}\r\nCSeq: ${h.get('CSeq') ?? ''}\r\n`;
    const reply = (status: string, extra: string, body = ''): void => {
      callee.send(Buffer.from(`SIP/2.0 ${status}\r\n${echo}${extra}Content-Length: ${body.length}\r\n\r\n${body}`, 'latin1'), rinfo.port, rinfo.address);
    };
    if (method === 'INVITE') {
      const contact = `Contact: <sip:${CALLEE}@${host}:${calleePort}>\r\n`;
      reply('180 Ringing', contact);
      reply('200 OK', `${contact}Content-Type: application/sdp\r\n`, SDP);
    } else {
      reply('200 OK', '');
    }
  });

  const sweep = setInterval(() => {
    const t = now();
    for (const [callId, flow] of flows) if (flow.deadline < t) end(callId, false);
    if (stopping && flows.size === 0) finish();
  }, 50);

  try {
    // The callee's binding first: calls are routed to it by the registrar.
    const calleeAor = `sip:${CALLEE}@${hp}`;
    const registered = await new Promise<boolean>((resolve) => {
      const callId = `warmup-callee-${id()}`;
      let authorization = '';
      let cseq = 0;
      const timer = setTimeout(() => resolve(false), FLOW_TIMEOUT_MS);
      const sendRegister = (): void => {
        cseq++;
        send(callee, request('REGISTER', `sip:${hp}`, id(), `<${calleeAor}>;tag=r1`, `<${calleeAor}>`, callId, cseq,
          `Contact: <sip:${CALLEE}@${host}:${calleePort}>;expires=${expires}\r\n${authorization}`, '', calleePort));
      };
      const onResponse = (bytes: Buffer): void => {
        const msg = parsed(bytes);
        if (msg === null || msg.isRequest || msg.headers.get('Call-ID') !== callId) return;
        const status = msg.status;
        const challenge = msg.headers.get('WWW-Authenticate');
        if (status === 401 && challenge !== undefined && opts.credentials !== undefined && authorization === '') {
          try {
            authorization = `Authorization: ${digestAnswer(challenge, 'REGISTER', `sip:${hp}`, opts.credentials, id())}\r\n`;
          } catch {
            return; // unanswerable: the flow timer ends it
          }
          sendRegister();
          return;
        }
        if (status >= 200) {
          clearTimeout(timer);
          callee.off('message', onResponse);
          resolve(status === 200);
        }
      };
      callee.on('message', onResponse);
      sendRegister();
    });
    if (!registered) counts.abandoned++;
    until = now() + opts.durationMs;
    startMore();
    await finished;
  } finally {
    clearInterval(sweep);
    caller.close();
    callee.close();
  }
  return counts;
}

function bound(host: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      socket.on('error', () => {}); // ICMP errors from a closing node must not throw
      resolve(socket);
    });
  });
}
