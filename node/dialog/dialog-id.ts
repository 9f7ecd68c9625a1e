// RFC 3261 §12: a dialog is identified by Call-ID + local tag + remote tag. A proxy sees both
// directions, so the tracker keys on the unordered tag pair: a BYE from either side matches.

export interface DialogKeyParts {
  readonly callId: string;
  readonly fromTag: string;
  readonly toTag: string;
}

export function dialogKey(p: DialogKeyParts): string {
  const [a, b] = p.fromTag <= p.toTag ? [p.fromTag, p.toTag] : [p.toTag, p.fromTag];
  return `${p.callId}\u0000${a}\u0000${b}`;
}
