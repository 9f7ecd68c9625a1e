export { Changer, ConfChangeError, restoreConfState } from './changer.js';
export { encodeConfChange, decodeConfChange } from './codec.js';
