export { projectRoot, resultsPath, mergeResults, mergeResultsAt, measure } from './results.js';
export type { Throughput } from './results.js';
export { TYPICAL_INVITE, TYPICAL_REGISTER } from './sip-messages.js';
