/** Registrar policy, from the `registrar.*` config section (config/sections/registrar.ts). */

/** Structural copy of the config section so this module does not depend on the loader. */
export interface RegistrarSection {
  readonly default_expires: number;
  readonly min_expires: number;
  readonly max_expires: number;
  readonly max_contacts: number;
  readonly max_bindings: number;
  readonly enforce_auth_aor_match: boolean;
  readonly service_route: readonly string[];
}

export interface RegistrarSettings {
  readonly defaultExpires: number;
  /** 0 disables the 423 check. */
  readonly minExpires: number;
  /** 0 disables clamping. */
  readonly maxExpires: number;
  /** 0 = unlimited. */
  readonly maxContacts: number;
  /** Bindings over all AoRs; 0 = unlimited. */
  readonly maxBindings: number;
  readonly enforceAuthAorMatch: boolean;
  /** RFC 3608 Service-Route values returned in the 200 OK. */
  readonly serviceRoute: readonly string[];
}

export const DEFAULT_REGISTRAR_SETTINGS: RegistrarSettings = {
  defaultExpires: 3600,
  minExpires: 60,
  maxExpires: 86_400,
  maxContacts: 10,
  maxBindings: 1_000_000,
  enforceAuthAorMatch: false,
  serviceRoute: [],
};

export function registrarSettingsFrom(section: RegistrarSection): RegistrarSettings {
  return {
    defaultExpires: section.default_expires,
    minExpires: section.min_expires,
    maxExpires: section.max_expires,
    maxContacts: section.max_contacts,
    maxBindings: section.max_bindings,
    enforceAuthAorMatch: section.enforce_auth_aor_match,
    serviceRoute: section.service_route,
  };
}
