/**
 * RFC 6761 special-use names answered without a query: `localhost` (§6.3: resolvers return the
 * loopback address and should not send the query) and `invalid` (§6.4: always NXDOMAIN).
 */
export type SpecialAnswer = { readonly addresses: readonly string[] } | { readonly failure: string } | null;

const LOOPBACK: readonly string[] = ['127.0.0.1'];

export function specialNameAnswer(name: string): SpecialAnswer {
  if (name === 'localhost' || name.endsWith('.localhost')) return { addresses: LOOPBACK };
  if (name === 'invalid' || name.endsWith('.invalid')) return { failure: 'ENOTFOUND' };
  return null;
}
