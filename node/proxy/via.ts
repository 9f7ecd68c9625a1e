// Just enough of a Via value (§20.42) for the proxy: sent-by host/port and the branch.
export interface ViaParts {
  readonly transport: string;
  readonly host: string;
  readonly port: number | undefined;
  readonly branch: string | undefined;
}

export function parseViaValue(value: string): ViaParts | undefined {
  const m = /^\s*SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9-]+)\s+(\[[^\]]+\]|[^\s;:]+)(?:\s*:\s*(\d{1,5}))?\s*(.*)$/i.exec(value);
  if (!m) return undefined;
  const branch = /;\s*branch\s*=\s*([^;\s,]+)/i.exec(m[4]);
  return {
    transport: m[1].toUpperCase(), host: m[2].toLowerCase(),
    port: m[3] !== undefined ? Number(m[3]) : undefined, branch: branch ? branch[1] : undefined,
  };
}

export function formatVia(transport: string, host: string, port: number, branch: string): string {
  return `SIP/2.0/${transport.toUpperCase()} ${host}:${port};branch=${branch}`;
}
