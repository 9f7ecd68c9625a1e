#!/usr/bin/env node
// Closed-loop replicated-append load generator (Node 20, no npm deps).
// C concurrent writers issue N total writes of S-byte values; each writer waits for the
// acknowledgement before issuing its next write. Prints ONE JSON line on stdout:
//   {target, writes, concurrency, valueBytes, seconds, opsPerSec, p50ms, p90ms, p99ms, errors, ...extras}
// writes = acknowledged writes (errors excluded), seconds = first measured send -> last ack,
// percentiles are over acknowledged writes only (nearest-rank). Diagnostics go to stderr.
//
//   node append-load.mjs --target etcd --endpoints http://127.0.0.1:22379,... [--pick leader|all]
//        --writes 20000 --concurrency 16 --value-bytes 256 [--max-seconds 60] [--timeout-ms 10000]
//        [--warmup N] [--label text]
//   node append-load.mjs --target http --url http://127.0.0.1:8080/append ...
//   node append-load.mjs --target null ...           (harness overhead only)
//   node append-load.mjs --target ourlog --endpoints 127.0.0.1:27002,127.0.0.1:27004,... (SIPhon-TS log client ports;
//        needs dist/ built: one pre-connected TCP LogClient per writer, writes go to the leader)
//
// Copied from ../shared/bench/raft/append-load.mjs (the etcd baseline harness) with the `ourlog` target
// added, so both systems are driven by the same closed-loop driver and the same percentile code.
//
// Every run is bounded: at most --writes sends, and no new sends after --max-seconds
// (in-flight requests are still bounded by --timeout-ms).
import http from 'node:http';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';

const { values: a } = parseArgs({
  options: {
    target: { type: 'string', default: 'etcd' },
    writes: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '1' },
    'value-bytes': { type: 'string', default: '256' },
    'max-seconds': { type: 'string', default: '60' },
    'timeout-ms': { type: 'string', default: '10000' },
    warmup: { type: 'string' }, // unmeasured writes before the run; default 2*concurrency (opens the keep-alive sockets)
    endpoints: { type: 'string', default: 'http://127.0.0.1:22379,http://127.0.0.1:22381,http://127.0.0.1:22383' },
    pick: { type: 'string', default: 'leader' }, // etcd: 'leader' = leader only, 'all' = writers spread round-robin over endpoints
    url: { type: 'string' }, // http target
    'key-prefix': { type: 'string', default: `bench/${process.pid}-${Date.now()}` },
    label: { type: 'string' },
  },
});
const opts = {
  target: a.target,
  writes: int(a.writes), concurrency: int(a.concurrency), valueBytes: int(a['value-bytes']),
  maxSeconds: Number(a['max-seconds']), timeoutMs: int(a['timeout-ms']),
  warmup: a.warmup === undefined ? 2 * int(a.concurrency) : int(a.warmup),
  endpoints: a.endpoints.split(',').map((s) => s.trim()).filter(Boolean),
  pick: a.pick, url: a.url, keyPrefix: a['key-prefix'], label: a.label,
};
function int(s) { const n = Number.parseInt(s, 10); if (!Number.isFinite(n) || n < 0) throw new Error(`bad integer: ${s}`); return n; }

// ---------------------------------------------------------------- shared HTTP helper
// One keep-alive agent for the whole run, so TCP setup is paid during warmup, not measured.
const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(1, opts.concurrency), maxFreeSockets: Math.max(1, opts.concurrency), scheduling: 'fifo' });

/** POST body to url over the keep-alive agent; resolves {status, body: Buffer}; rejects on socket error/timeout. */
function httpPost(url, body, contentType = 'application/json') {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST', agent,
      headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`timeout after ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

// ---------------------------------------------------------------- targets (adapters)
// A target factory receives opts and returns
//   { info: {...extra JSON fields}, write(seq, value: Buffer, writer: number) => Promise, close() => Promise }
// write() must resolve only once the append is acknowledged as committed, and throw on failure.
const TARGETS = {
  // etcd v3 HTTP/JSON gateway (grpc-gateway). etcd 3.4 serves /v3/... (and deprecated /v3beta/...).
  async etcd(o) {
    let eps = o.endpoints;
    if (o.pick === 'leader') {
      const st = await Promise.all(eps.map(async (ep) => {
        try { return { ep, s: JSON.parse((await httpPost(`${ep}/v3/maintenance/status`, '{}')).body) }; } catch { return { ep, s: null }; }
      }));
      const leader = st.find((x) => x.s && x.s.leader && x.s.leader === x.s.header?.member_id);
      if (!leader) throw new Error('etcd: no leader found among ' + eps.join(','));
      eps = [leader.ep];
    }
    const urls = eps.map((ep) => `${ep}/v3/kv/put`);
    let lastValue = null, lastB64 = ''; // the harness reuses one value buffer: encode it once
    return {
      info: { endpoints: eps, pick: o.pick },
      async write(seq, value, writer) {
        const key = Buffer.from(`${o.keyPrefix}/${String(seq).padStart(10, '0')}`).toString('base64');
        if (value !== lastValue) { lastValue = value; lastB64 = value.toString('base64'); }
        const r = await httpPost(urls[writer % urls.length], `{"key":"${key}","value":"${lastB64}"}`);
        if (r.status !== 200) throw new Error(`etcd HTTP ${r.status}: ${r.body.toString().slice(0, 200)}`);
        if (!JSON.parse(r.body).header?.revision) throw new Error(`etcd: no revision in ${r.body.toString().slice(0, 200)}`);
      },
      async close() {},
    };
  },

  // Generic HTTP append: POST raw value bytes to --url, expect 2xx once the entry is committed.
  async http(o) {
    if (!o.url) throw new Error('--url required for target http');
    return {
      info: { url: o.url },
      async write(seq, value) {
        const r = await httpPost(o.url, value, 'application/octet-stream');
        if (r.status < 200 || r.status > 299) throw new Error(`HTTP ${r.status}: ${r.body.toString().slice(0, 200)}`);
      },
      async close() {},
    };
  },

  // SIPhon-TS replicated log over its framed-protobuf client port (cluster/log/client-server.ts).
  async ourlog(o) {
    const { LogClient } = await import(new URL('../../dist/cluster/log/index.js', import.meta.url).href);
    const eps = o.endpoints.map((ep) => { const u = ep.replace(/^[a-z]+:\/\//, ''); const i = u.lastIndexOf(':'); return { host: u.slice(0, i), port: Number(u.slice(i + 1)) }; });
    let leader = eps[0];
    if (o.pick === 'leader') {
      let found;
      for (const ep of eps) {
        try {
          const c = await LogClient.connect(ep.host, ep.port);
          const st = JSON.parse((await c.status()).statusJson);
          c.close();
          if (st.role === 'leader') found = ep;
        } catch {}
      }
      if (!found) throw new Error('ourlog: no leader among ' + o.endpoints.join(','));
      leader = found;
    }
    const targets = o.pick === 'leader' ? [leader] : eps;
    const clients = await Promise.all(Array.from({ length: o.concurrency }, (_, w) => { const t = targets[w % targets.length]; return LogClient.connect(t.host, t.port); }));
    return {
      info: { endpoints: targets.map((t) => `${t.host}:${t.port}`), pick: o.pick },
      async write(seq, value, writer) {
        await clients[writer].append([value], o.timeoutMs);
      },
      async close() { for (const c of clients) c.close(); },
    };
  },

  // No I/O: measures the harness's own per-op overhead.
  async null() {
    return { info: {}, write: () => new Promise((r) => setImmediate(r)), async close() {} };
  },
};

// ---------------------------------------------------------------- driver
async function main() {
  const factory = TARGETS[opts.target];
  if (!factory) throw new Error(`unknown target ${opts.target}; known: ${Object.keys(TARGETS).join(', ')}`);
  if (opts.concurrency < 1 || opts.writes < 1) throw new Error('--writes and --concurrency must be >= 1');
  const target = await factory(opts);
  const value = randomBytes(opts.valueBytes);

  // Warmup (unmeasured): opens `concurrency` keep-alive connections and warms JIT paths.
  const warmupDeadline = Date.now() + Math.min(10_000, opts.maxSeconds * 1000);
  let wseq = 0;
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, Math.max(opts.warmup, 0)) }, async (_, w) => {
    while (wseq < opts.warmup && Date.now() < warmupDeadline) await target.write(1e9 + wseq++, value, w);
  }));

  const lat = new Float64Array(opts.writes);
  let next = 0, ok = 0, errors = 0, stoppedBy = 'count';
  const errSamples = [];
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const deadline = t0 + BigInt(Math.round(opts.maxSeconds * 1e9));
  let tLast = t0;

  async function writer(w) {
    for (;;) {
      if (next >= opts.writes) return;
      const start = process.hrtime.bigint();
      if (start >= deadline) { stoppedBy = 'time'; return; }
      const seq = next++;
      try {
        await target.write(seq, value, w);
        const end = process.hrtime.bigint();
        lat[ok++] = Number(end - start) / 1e6;
        if (end > tLast) tLast = end;
      } catch (e) {
        errors++;
        if (errSamples.length < 5) errSamples.push(String(e?.message ?? e));
        const end = process.hrtime.bigint();
        if (end > tLast) tLast = end;
      }
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => writer(w)));
  const cpu = process.cpuUsage(cpu0);
  await target.close();
  agent.destroy();

  const seconds = Number(tLast - t0) / 1e9;
  const sorted = lat.subarray(0, ok).sort();
  const pct = (p) => (ok ? round(sorted[Math.min(ok - 1, Math.ceil((p / 100) * ok) - 1)]) : null);
  let sum = 0; for (let i = 0; i < ok; i++) sum += sorted[i];
  const out = {
    target: opts.target, writes: ok, concurrency: opts.concurrency, valueBytes: opts.valueBytes,
    seconds: round(seconds), opsPerSec: round(seconds > 0 ? ok / seconds : 0, 1),
    p50ms: pct(50), p90ms: pct(90), p99ms: pct(99), errors,
    requested: opts.writes, stoppedBy, meanMs: ok ? round(sum / ok) : null, maxMs: ok ? round(sorted[ok - 1]) : null,
    clientCpuPct: round(((cpu.user + cpu.system) / 1e6 / Math.max(seconds, 1e-9)) * 100, 1),
    ...target.info, ...(opts.label ? { label: opts.label } : {}),
  };
  if (errSamples.length) console.error('error samples:', errSamples);
  console.log(JSON.stringify(out));
}
function round(x, d = 3) { const m = 10 ** d; return Math.round(x * m) / m; }

main().catch((e) => { console.error(e?.stack ?? e); agent.destroy(); process.exit(1); });
