// RFC 3261 §17.1.1.1 / Table 4: the base timer values every transaction timer is derived from.
export interface TimerConfig {
  /** RTT estimate (RFC 3261 §17.1.1.1), default 500 ms. */
  readonly t1Ms: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4 s. */
  readonly t2Ms: number;
  /** Maximum duration a message remains in the network, default 5 s. */
  readonly t4Ms: number;
  /** Timer B and Timer F (`transaction.timeout_secs`), default 64*T1. */
  readonly transactionTimeoutMs: number;
  /**
   * Overall INVITE client timer (`transaction.invite_timeout_secs`), a Timer C in the sense of
   * RFC 3261 §16.6 step 11: must be longer than 3 minutes for a proxy, reset on 101-199.
   */
  readonly inviteTimeoutMs: number;
  /**
   * Whether the INVITE client transaction runs that Timer C itself. A TU that keeps its own Timer C
   * per branch (the stateful proxy, §16.8) turns it off; `inviteTimeoutMs` still sizes the IST guard.
   */
  readonly clientTimerC: boolean;
  /** Timer D: ≥ 32 s on unreliable transports (RFC 3261 §17.1.1.2). */
  readonly timerDMs: number;
  /** RFC 3261 §17.2.1: the IST sends 100 Trying if the TU has not answered within 200 ms. */
  readonly tryingDelayMs: number;
  /**
   * RFC 3261 §17.1.1.2 doubles Timer A without bound; the deployment contract (feature matrix
   * "ICT Timer A capped at T2") caps it at T2 like Timer E/G. true keeps that cap.
   */
  readonly capTimerAAtT2: boolean;
}

export interface TimerSettings {
  readonly t1Ms?: number;
  readonly t2Ms?: number;
  readonly t4Ms?: number;
  /** `transaction.timeout_secs` */
  readonly timeoutSecs?: number;
  /** `transaction.invite_timeout_secs` */
  readonly inviteTimeoutSecs?: number;
  readonly timerDMs?: number;
  readonly tryingDelayMs?: number;
  readonly capTimerAAtT2?: boolean;
  readonly clientTimerC?: boolean;
}

export const DEFAULT_T1_MS = 500;
export const DEFAULT_T2_MS = 4000;
export const DEFAULT_T4_MS = 5000;
/** RFC 3261 §16.6 step 11: Timer C MUST be greater than 3 minutes. */
export const DEFAULT_INVITE_TIMEOUT_MS = 180_000;

function strictlyPositive(name: string, value: number): number {
  // A zero retransmit base would make Timer A/E/G fire in a loop at one instant.
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive finite number, got ${value}`);
  return value;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative finite number, got ${value}`);
  return value;
}

/** Builds a full timer configuration from the config keys; anything unset takes the RFC default. */
export function timerConfig(settings: TimerSettings = {}): TimerConfig {
  const t1Ms = strictlyPositive('t1Ms', settings.t1Ms ?? DEFAULT_T1_MS);
  const t2Ms = strictlyPositive('t2Ms', settings.t2Ms ?? DEFAULT_T2_MS);
  const t4Ms = positive('t4Ms', settings.t4Ms ?? DEFAULT_T4_MS);
  const transactionTimeoutMs = positive('timeoutSecs', settings.timeoutSecs !== undefined ? settings.timeoutSecs * 1000 : 64 * t1Ms);
  const inviteTimeoutMs = positive(
    'inviteTimeoutSecs',
    settings.inviteTimeoutSecs !== undefined ? settings.inviteTimeoutSecs * 1000 : DEFAULT_INVITE_TIMEOUT_MS,
  );
  return {
    t1Ms,
    t2Ms,
    t4Ms,
    transactionTimeoutMs,
    inviteTimeoutMs,
    clientTimerC: settings.clientTimerC ?? true,
    timerDMs: positive('timerDMs', settings.timerDMs ?? Math.max(32_000, 64 * t1Ms)),
    tryingDelayMs: positive('tryingDelayMs', settings.tryingDelayMs ?? 200),
    capTimerAAtT2: settings.capTimerAAtT2 ?? true,
  };
}

/** The `transaction:` section of the node configuration, as the config loader produces it. */
export interface TransactionConfigSection {
  readonly timeout_secs: number;
  readonly invite_timeout_secs: number;
  readonly t1_ms: number;
  readonly t2_ms: number;
  readonly t4_ms: number;
}

/** Timer configuration from the `transaction.*` config keys (other options as in `extra`). */
export function timerConfigFromSection(section: TransactionConfigSection, extra: TimerSettings = {}): TimerConfig {
  return timerConfig({
    ...extra,
    t1Ms: section.t1_ms,
    t2Ms: section.t2_ms,
    t4Ms: section.t4_ms,
    timeoutSecs: section.timeout_secs,
    inviteTimeoutSecs: section.invite_timeout_secs,
  });
}
