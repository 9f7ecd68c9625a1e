/**
 * DSCP marking of signalling (RFC 2474 DS field; RFC 4594 §4.2 puts SIP in CS3 = 24): the field
 * is the code point shifted past the two ECN bits. Node 20 has no IP_TOS API, so the `sockopt`
 * package (N-API setsockopt, an optional dependency built at install) sets it on the socket's fd.
 * Without it, or when the kernel refuses, the socket runs unmarked: `markDscp` reports why and the
 * caller warns once. Sockets a listener accepts inherit its marking (Linux copies IP_TOS into the
 * accepted socket); outbound connections are marked once connected.
 */
import { createRequire } from 'node:module';

const IPPROTO_IP = 0;
const IP_TOS = 1;
const IPPROTO_IPV6 = 41;
const IPV6_TCLASS = 67;

interface SockoptBinding {
  setsockopt(fd: number, level: number, name: number, value: number): void;
  getsockopt(fd: number, level: number, name: number): number;
}

let binding: SockoptBinding | null | undefined;
let unavailable = '';

function isBinding(v: unknown): v is SockoptBinding {
  return typeof v === 'object' && v !== null && typeof (v as SockoptBinding).setsockopt === 'function' && typeof (v as SockoptBinding).getsockopt === 'function';
}

/** The native setsockopt, loaded once; null when the optional dependency is missing or did not build. */
function native(): SockoptBinding | null {
  if (binding !== undefined) return binding;
  try {
    // The fd-level binding itself: the package's wrapper reads a dgram socket's deprecated `_handle`.
    const require = createRequire(import.meta.url);
    const pkg = require.resolve('sockopt/package.json');
    const load = createRequire(pkg)('node-gyp-build') as (dir: string) => unknown;
    const b = load(pkg.slice(0, -'/package.json'.length));
    binding = isBinding(b) ? b : null;
    if (binding === null) unavailable = 'the sockopt binding has no setsockopt';
  } catch (err) {
    binding = null;
    unavailable = `sockopt is not installed or did not build (${(err as Error).message.split('\n')[0]})`;
  }
  return binding;
}

interface FdHandle {
  readonly fd?: number;
  /** A TLS socket's handle wraps the TCP handle that owns the fd. */
  readonly _parent?: FdHandle | null;
}

function fdOfHandle(h: FdHandle | null | undefined): number | null {
  if (h === null || h === undefined) return null;
  if (typeof h.fd === 'number' && h.fd >= 0) return h.fd;
  return fdOfHandle(h._parent);
}

/**
 * The file descriptor behind a Node socket or server: net and tls sockets and servers keep their
 * handle in `_handle`; a dgram socket keeps it in its state object (its `_handle` getter is deprecated).
 */
export function fdOf(socket: object): number | null {
  for (const sym of Object.getOwnPropertySymbols(socket)) {
    if (sym.description !== 'state symbol') continue;
    const state = (socket as Record<symbol, { handle?: FdHandle } | undefined>)[sym];
    const fd = fdOfHandle(state?.handle);
    if (fd !== null) return fd;
  }
  return fdOfHandle((socket as { _handle?: FdHandle | null })._handle);
}

/**
 * Marks what `socket` sends with `dscp` (0-63): IP_TOS, and IPV6_TCLASS on IPv6 sockets (a
 * dual-stack one sends both kinds). Returns null when marked, else why not.
 */
export function markDscp(socket: object, dscp: number, family: 'IPv4' | 'IPv6'): string | null {
  if (!Number.isInteger(dscp) || dscp < 0 || dscp > 63) return `DSCP ${dscp} is not 0-63`;
  const b = native();
  if (b === null) return unavailable;
  const fd = fdOf(socket);
  if (fd === null) return 'the socket has no file descriptor';
  const tos = dscp << 2;
  try {
    if (family === 'IPv6') {
      b.setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, tos);
      // IPv4-mapped traffic of a dual-stack socket: best effort (an IPv6-only socket refuses it).
      try {
        b.setsockopt(fd, IPPROTO_IP, IP_TOS, tos);
      } catch {
        /* v6-only */
      }
    } else {
      b.setsockopt(fd, IPPROTO_IP, IP_TOS, tos);
    }
  } catch (err) {
    return `setsockopt failed: ${(err as Error).message}`;
  }
  return null;
}

/** Why sockets cannot be marked on this install (null: they can): sip-node warns once at start. */
export function signallingDscpUnavailable(): string | null {
  return native() === null ? unavailable : null;
}

/** The DSCP a socket marks with (IPv4 TOS or IPv6 traffic class), or null when it cannot be read. */
export function dscpOf(socket: object, family: 'IPv4' | 'IPv6'): number | null {
  const b = native();
  const fd = fdOf(socket);
  if (b === null || fd === null) return null;
  try {
    return (family === 'IPv6' ? b.getsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS) : b.getsockopt(fd, IPPROTO_IP, IP_TOS)) >> 2;
  } catch {
    return null;
  }
}
