/** Registrar (RFC 3261 §10.3, RFC 3327, RFC 3608, RFC 5626, RFC 5627): public face of node/registrar. */
export { aorOfHeader, canonicalAor, parseSipUri, uriOfNameAddr, type SipUriParts } from './aor.js';
export {
  compareForFork,
  remainingSeconds,
  type Binding,
  type BindingChange,
  type BindingEvent,
  type BindingListener,
  type DeleteCause,
  type FlowInfo,
} from './binding.js';
export { MemoryBindingStore, StaleBindingsError, expiredChanges, type BindingStore, type ExpectedVersion } from './binding-store.js';
export { ContactParseError, parseContacts, type ContactSpec } from './contact-header.js';
export { classifyGruu, publicGruu, tempGruu, type GruuRef } from './gruu.js';
export {
  processRegister,
  formatBindingContact,
  sipDate,
  SUPPORTED_OPTION_TAGS,
  type Header,
  type RegisterAccept,
  type RegisterContext,
  type RegisterDecision,
  type RegisterReject,
  type RegisterRequest,
} from './register-processor.js';
export { Registrar, type ForkTarget, type RegistrarOptions } from './registrar.js';
export {
  DEFAULT_REGISTRAR_SETTINGS,
  registrarSettingsFrom,
  type RegistrarSection,
  type RegistrarSettings,
} from './registrar-settings.js';
export { handleRegistrationsAdmin, type AdminResponse } from './registrations-admin.js';
export { createRegistrarFullCounter, createRegistrationsGauge } from './registrations-gauge.js';
export { registerRequestFrom, registerResponse, type RegisterExtraction } from './sip-register.js';
export { handleRegister, startExpirySweep, type RegisterHandling, type RegisterHandlingOptions } from './register-handler.js';
