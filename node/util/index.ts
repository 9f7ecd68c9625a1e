// Small helpers with no protocol knowledge, shared by the protocol folders.
export { ChurnMap } from './churn-map.js';
export { flatKey } from './flat-key.js';
export { stripBrackets } from './host-literal.js';
