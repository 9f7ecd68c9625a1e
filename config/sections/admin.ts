/** `admin.*`: the admin HTTP API (health, stats, and routes other modules mount). */
import { bool, obj } from '../fields.js';
import { bindAddress } from '../host-port.js';

export const adminSection = obj({
  enabled: bool(true),
  listen: bindAddress('127.0.0.1:8080'),
});
