/** A host as a URI or Via writes it: an IPv6 reference keeps its brackets there (RFC 3261 §25.1); the address without them. */
export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
