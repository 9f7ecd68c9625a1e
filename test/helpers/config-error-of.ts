// A ConfigError thrown by `fn` (what a config test asserts on); anything else fails the test.
import { ConfigError } from '../../config/index.js';

export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
