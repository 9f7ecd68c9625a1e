export * from './routing-decision.js';
export * from './response-context.js';
