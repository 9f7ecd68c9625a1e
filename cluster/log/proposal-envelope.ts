// Every client entry is wrapped with the id of the proposal that carried it:
//   [0xE1][u32 origin node][u32 incarnation][u32 sequence][payload]
// The node that accepted append() recognises its own entries when they come out committed, on any
// path (proposed locally or forwarded to the leader), without a reply from the leader. The random
// incarnation keeps a restarted node from mistaking its previous life's entries for new ones.

export const ENVELOPE_MAGIC = 0xe1;
export const ENVELOPE_BYTES = 13;

export interface ProposalId {
  origin: number;
  incarnation: number;
  seq: number;
}

export function wrap(id: ProposalId, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(ENVELOPE_BYTES + payload.length);
  out[0] = ENVELOPE_MAGIC;
  out.writeUInt32BE(id.origin >>> 0, 1);
  out.writeUInt32BE(id.incarnation >>> 0, 5);
  out.writeUInt32BE(id.seq >>> 0, 9);
  out.set(payload, ENVELOPE_BYTES);
  return out;
}

/** Returns the proposal id and payload, or undefined when `data` is not an enveloped client entry. */
export function unwrap(data: Uint8Array): { id: ProposalId; payload: Uint8Array } | undefined {
  if (data.length < ENVELOPE_BYTES || data[0] !== ENVELOPE_MAGIC) return undefined;
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return {
    id: { origin: b.readUInt32BE(1), incarnation: b.readUInt32BE(5), seq: b.readUInt32BE(9) },
    payload: data.subarray(ENVELOPE_BYTES),
  };
}
