/**
 * Registrar service: runs the pure REGISTER decision against the store, commits the changes,
 * and answers lookups for the proxy. REGISTERs for one AoR are processed one at a time, in
 * arrival order (RFC 3261 §10.3: "processed in the order that they are received", atomically).
 */
import { randomBytes } from 'node:crypto';
import { ChurnMap } from '../util/index.js';
import { canonicalAor } from './aor.js';
import type { Binding, BindingChange, BindingListener, FlowInfo } from './binding.js';
import { StaleBindingsError, type BindingStore } from './binding-store.js';
import { classifyGruu } from './gruu.js';
import { processRegister, registerTarget, type RegisterAccept, type RegisterDecision, type RegisterReject, type RegisterRequest } from './register-processor.js';
import type { RegistrarSettings } from './registrar-settings.js';

/** One place the proxy may fork a request to (RFC 3261 §16.5/§16.6). */
export interface ForkTarget {
  readonly aor: string;
  /** Request-URI for the branch: the registered Contact URI. */
  readonly uri: string;
  /** Route header values to push (the stored Path, RFC 3327 §5.4), topmost first. */
  readonly route: readonly string[];
  readonly q: number | null;
  /** Where the REGISTER came from; the proxy sends over this flow when the contact is unreachable directly (RFC 5626 §5.3). */
  readonly flow: FlowInfo | null;
  readonly instance: string | null;
  readonly outbound: boolean;
  readonly binding: Binding;
}

const SIP_SCHEME = /^sips?:/i;

/** Re-decisions after a concurrent change before the REGISTER fails (→ 500 by the caller). */
const MAX_STALE_RETRIES = 3;

/** Retry-After of a 503 for a full registrar: long enough for expiries to free room. */
const FULL_RETRY_AFTER_SECS = 60;

export interface RegistrarOptions {
  readonly newToken?: () => string;
  /** Called for each REGISTER refused because registrar.max_bindings was reached (metrics). */
  readonly onFull?: () => void;
}

export class Registrar {
  private readonly queues = new ChurnMap<string, Promise<unknown>>();
  private readonly newToken: () => string;
  private readonly onFull: () => void;

  constructor(
    readonly store: BindingStore,
    readonly settings: RegistrarSettings,
    opts: RegistrarOptions = {},
  ) {
    this.newToken = opts.newToken ?? (() => randomBytes(12).toString('hex'));
    this.onFull = opts.onFull ?? (() => undefined);
  }

  /** Decides and commits one REGISTER; the caller turns the decision into the SIP response. */
  register(req: RegisterRequest, now: number, authUser: string | null): Promise<RegisterDecision> {
    const target = registerTarget(req.to);
    const aorKey = target?.aor ?? '';
    const run = async (): Promise<RegisterDecision> => {
      for (let attempt = 1; ; attempt++) {
        const version = this.store.version(aorKey);
        const decision = processRegister(req, this.store.lookup(aorKey), {
          settings: this.settings,
          now,
          authUser,
          newToken: this.newToken,
        }, target);
        if (decision.kind !== 'accept' || decision.changes.length === 0) return decision;
        const full = this.capacityRefusal(decision);
        if (full !== undefined) return full;
        try {
          await this.store.apply(decision.changes, now, { aor: aorKey, version });
          return decision;
        } catch (err) {
          // Another node changed this AoR first: decide again on the fresh state (bounded).
          if (!(err instanceof StaleBindingsError) || attempt >= MAX_STALE_RETRIES) throw err;
        }
      }
    };
    // Nothing pending for this AoR (the usual case): decide now instead of one microtask later.
    const prev = this.queues.get(aorKey);
    const next = prev === undefined ? run() : prev.then(run, run);
    this.queues.set(aorKey, next);
    void next.then(
      () => this.releaseQueue(aorKey, next),
      () => this.releaseQueue(aorKey, next),
    );
    return next;
  }

  /**
   * registrar.max_bindings: a REGISTER that would grow the node past its binding budget is
   * refused whole (§10.3: all or nothing) with 503 and Retry-After (§21.5.4), so a flood of new AoRs
   * cannot exhaust memory. Refreshes and removals never grow the set, so they always pass.
   */
  private capacityRefusal(decision: RegisterAccept): RegisterReject | undefined {
    const max = this.settings.maxBindings;
    if (max <= 0) return undefined;
    let growth = 0;
    for (const ch of decision.changes) {
      if (ch.op === 'insert') growth++;
      else if (ch.op === 'delete' || ch.op === 'expire') growth--;
    }
    if (growth <= 0 || this.store.count() + growth <= max) return undefined;
    this.onFull();
    return {
      kind: 'reject',
      status: 503,
      reason: 'Registrar Full',
      headers: [['Retry-After', String(FULL_RETRY_AFTER_SECS)]],
      detail: `registrar.max_bindings (${max}) reached`,
    };
  }

  private releaseQueue(aor: string, p: Promise<unknown>): void {
    if (this.queues.get(aor) === p) this.queues.delete(aor);
  }

  /** Live bindings of an AoR (any SIP URI form accepted), fork order. */
  lookup(aorOrUri: string, now: number): Binding[] {
    const aor = canonicalAor(aorOrUri);
    return aor === null ? [] : this.store.lookup(aor, now);
  }

  /**
   * Fork targets for a Request-URI: an AoR gives all its contacts by q; a public GRUU only the
   * instance's contacts; a temporary GRUU the one binding that minted it (RFC 5627 §5.4).
   */
  targets(requestUri: string, now: number): ForkTarget[] {
    const g = classifyGruu(requestUri);
    let bindings: Binding[];
    if (g.kind === 'public') bindings = this.store.lookup(g.aor, now).filter((b) => b.instance === g.instance);
    else if (g.kind === 'temporary') {
      const b = this.store.findByTempGruu(g.canonical);
      const sameInstance = b === undefined || b.instance === null ? [] : this.store.lookup(b.aor, now).filter((x) => x.instance === b.instance);
      bindings = sameInstance;
    } else bindings = this.lookup(requestUri, now);
    // A proxy can only fork to SIP/SIPS contacts; other registered schemes (mailto:, …) stay
    // visible through lookup() and the 200 OK but are not routing targets.
    return bindings.filter((b) => SIP_SCHEME.test(b.contactUri)).map((b) => ({
      aor: b.aor,
      uri: b.contactUri,
      route: b.path,
      q: b.q,
      flow: b.flow,
      instance: b.instance,
      outbound: b.outbound,
      binding: b,
    }));
  }

  /** Expiry sweep (the shell calls it on a timer); fires `expire` hooks. Returns what expired. */
  async sweep(now: number): Promise<BindingChange[]> {
    const changes = this.store.expiring(now);
    if (changes.length > 0) await this.store.apply(changes, now);
    return changes;
  }

  /** Admin force-removal of every binding of an AoR; returns how many were removed. */
  async removeAor(aorOrUri: string, now: number): Promise<number> {
    const aor = canonicalAor(aorOrUri);
    if (aor === null) return 0;
    const changes: BindingChange[] = this.store.lookup(aor).map((b) => ({ op: 'delete', aor, key: b.key, cause: 'admin' }));
    if (changes.length > 0) await this.store.apply(changes, now);
    return changes.length;
  }

  /**
   * A TCP/TLS/WS connection closed: remove the bindings registered over it (RFC 5626 §4.2.2 flow
   * failure; matrix `registrar.liveness`). The transport shell calls this when liveness is enabled.
   */
  async flowClosed(connectionId: string, now: number): Promise<number> {
    const changes: BindingChange[] = this.store
      .findByConnection(connectionId)
      .map((b) => ({ op: 'delete', aor: b.aor, key: b.key, cause: 'flow-failed' }));
    if (changes.length > 0) await this.store.apply(changes, now);
    return changes.length;
  }

  /**
   * One binding's flow failed (a NAT keep-alive went unanswered, RFC 5626 §4.4): it is removed
   * (cause `flow-failed`). False when it was already gone.
   */
  async bindingFailed(aor: string, key: string, now: number): Promise<boolean> {
    if (!this.store.lookup(aor).some((b) => b.key === key)) return false;
    await this.store.apply([{ op: 'delete', aor, key, cause: 'flow-failed' }], now);
    return true;
  }

  /** Every binding, by AoR (keep-alives, admin). */
  allBindings(): Iterable<[string, Binding[]]> {
    return this.store.all();
  }

  /** registrar.onChange: insert / refresh / delete / expire. */
  onChange(listener: BindingListener): () => void {
    return this.store.onChange(listener);
  }
}
