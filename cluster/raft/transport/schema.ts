// Loads schemas/raft.proto once at runtime (protobufjs reflection). The file is found by walking up
// from this module, so the same code works from sources (tests) and from dist/.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

function findProto(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = path.join(dir, 'schemas', 'raft.proto');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('schemas/raft.proto not found above ' + fileURLToPath(import.meta.url));
}

const root = protobuf.loadSync(findProto());

export const PeerFrameType = root.lookupType('siphon.raft.PeerFrame');
export const ClientRequestType = root.lookupType('siphon.raft.ClientRequest');
export const ClientResponseType = root.lookupType('siphon.raft.ClientResponse');

/** uint64 fields decode as Long (long.js) or number; Raft indexes stay below 2^53. */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === undefined || v === null) return 0;
  return (v as { toNumber(): number }).toNumber();
}
