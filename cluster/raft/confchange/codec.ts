import { ConfChangeType, type ConfChange, type ConfChangeSingle } from '../types.js';

/**
 * Binary form of a ConfChange as stored in an EntryType.ConfChange entry:
 * u8 version(1) | u8 transition | u16 count | count × (u8 type, u32 nodeId) | u32 ctxLen | ctx.
 * Fixed-width big-endian so every member decodes the same bytes the same way.
 */
const VERSION = 1;

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const ctx = cc.context ?? new Uint8Array(0);
  const buf = new Uint8Array(4 + cc.changes.length * 5 + 4 + ctx.byteLength);
  const dv = new DataView(buf.buffer);
  dv.setUint8(0, VERSION);
  dv.setUint8(1, cc.transition ?? 0);
  dv.setUint16(2, cc.changes.length);
  let o = 4;
  for (const c of cc.changes) {
    dv.setUint8(o, c.type);
    dv.setUint32(o + 1, c.nodeId);
    o += 5;
  }
  dv.setUint32(o, ctx.byteLength);
  buf.set(ctx, o + 4);
  return buf;
}

/** Decodes; throws RangeError/Error on malformed input (never returns a half-read change). */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.byteLength < 8 || dv.getUint8(0) !== VERSION) throw new Error('confchange: bad header');
  const transition = dv.getUint8(1);
  if (transition > 2) throw new Error('confchange: bad transition');
  const n = dv.getUint16(2);
  let o = 4;
  const changes: ConfChangeSingle[] = [];
  for (let i = 0; i < n; i++) {
    const type = dv.getUint8(o);
    if (type > ConfChangeType.AddLearner) throw new Error('confchange: bad change type');
    changes.push({ type, nodeId: dv.getUint32(o + 1) });
    o += 5;
  }
  const len = dv.getUint32(o);
  if (o + 4 + len !== data.byteLength) throw new Error('confchange: bad length');
  const cc: ConfChange = { changes, transition };
  if (len > 0) cc.context = data.slice(o + 4, o + 4 + len);
  return cc;
}
