/** Digest authentication (RFC 2617 / RFC 7616 / RFC 8760): public face of node/auth. */
export {
  DigestAuthenticator,
  type AuthOutcome,
  type ChallengeCause,
  type ChallengeKind,
  type ChallengeResponse,
  type DigestAuthenticatorOptions,
  type DigestRequest,
} from './digest-authenticator.js';
export {
  computeHa1,
  computeResponse,
  parseAlgorithm,
  type DigestAlgorithm,
  type ResponseInput,
} from './digest-algorithm.js';
export { DigestHeaderError, parseDigestCredentials, parseAuthParams, type DigestCredentials } from './digest-header.js';
export { NonceService, type NonceOptions, type NonceVerdict } from './nonce.js';
export { CredentialBackendError, type CredentialBackend } from './credential-backend.js';
export { StaticCredentialBackend, type StaticUserEntry } from './static-backend.js';
export { HttpCredentialBackend, type HttpBackendOptions } from './http-backend.js';
export { authUserMatchesUri, sipUserOf } from './anti-spoof.js';
export { createAuthenticator, createCredentialBackend, type AuthSection } from './auth-settings.js';
export { authenticateRequest, authFailureResponse, challengeKindFor, mayChallenge } from './sip-auth.js';
