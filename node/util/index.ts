// Small helpers with no protocol knowledge, shared by the protocol folders.
export { flatKey } from './flat-key.js';
export { stripBrackets } from './host-literal.js';
