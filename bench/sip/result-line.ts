/** Parses one `RESULT key=value ...` line of ../shared/bench/run-peer.sh. */
export interface StepResult {
  readonly line: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly rate: number;
  readonly clean: boolean;
}

export function parseResultLine(line: string): StepResult | null {
  const at = line.indexOf('RESULT ');
  if (at < 0) return null;
  const fields: Record<string, string> = {};
  for (const tok of line.slice(at + 7).trim().split(/\s+/)) {
    const eq = tok.indexOf('=');
    if (eq > 0) fields[tok.slice(0, eq)] = tok.slice(eq + 1);
  }
  const num = (k: string): number => (fields[k] === undefined || fields[k] === 'NA' ? NaN : Number(fields[k]));
  // Clean = every call completed with zero failures, timeouts and retransmissions (UAC and UAS).
  const clean =
    fields.rc === '0' &&
    num('failed') === 0 &&
    num('retrans') === 0 &&
    num('attempted') > 0 &&
    num('succeeded') === num('attempted') &&
    (fields.uas_failed === undefined || num('uas_failed') === 0);
  return { line: line.slice(at).trim(), fields, rate: num('rate'), clean };
}
