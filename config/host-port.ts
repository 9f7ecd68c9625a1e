/**
 * `ip:port` / `[v6]:port` / `host` values used by listeners and advertised addresses.
 */
import { ConfigIssue } from './config-error.js';
import type { Field } from './fields.js';
import { isIP } from 'node:net';

export interface HostPort {
  readonly host: string;
  /** Absent when the text carried no port (advertised addresses may omit it). */
  readonly port: number | null;
}

/** Splits `host[:port]`; IPv6 literals must be bracketed when a port follows (RFC 3261 §25.1 IPv6reference). */
export function splitHostPort(text: string): HostPort | null {
  let host: string;
  let portText: string | null = null;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return null;
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return null;
      portText = rest.slice(1);
    }
    if (isIP(host) !== 6) return null;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon >= 0 && text.indexOf(':') !== colon) return null; // unbracketed IPv6 with a port is ambiguous
    host = colon >= 0 ? text.slice(0, colon) : text;
    portText = colon >= 0 ? text.slice(colon + 1) : null;
  }
  if (host === '' || /\s/.test(host)) return null;
  if (portText === null) return { host, port: null };
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port > 65535) return null;
  return { host, port };
}

export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A bind address: an IP literal and a port (0 = kernel-chosen). */
export function bindAddress(def?: string): Field<{ host: string; port: number }> {
  const expects = 'an "ip:port" string';
  return {
    expects,
    decode(raw, path) {
      const value = raw === undefined ? def : raw;
      if (value === undefined) throw new ConfigIssue(path, `required key missing (expected ${expects})`);
      if (typeof value !== 'string') throw new ConfigIssue(path, `expected ${expects}, got ${JSON.stringify(value)}`);
      const hp = splitHostPort(value);
      if (hp === null || hp.port === null || isIP(hp.host) === 0) {
        throw new ConfigIssue(path, `expected ${expects}, got ${JSON.stringify(value)}`);
      }
      return { host: hp.host, port: hp.port };
    },
  };
}

/** An advertised `host[:port]` (host may be a DNS name or VIP). */
export function advertisedAddress(): Field<HostPort | null> {
  const expects = 'a "host[:port]" string or null';
  return {
    expects,
    decode(raw, path) {
      if (raw === undefined || raw === null) return null;
      const hp = typeof raw === 'string' ? splitHostPort(raw) : null;
      if (hp === null) throw new ConfigIssue(path, `expected ${expects}, got ${JSON.stringify(raw)}`);
      return hp;
    },
  };
}
