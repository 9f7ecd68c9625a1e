/**
 * The one error config loading throws: names the source (file or `--set`), the dotted key path and
 * why the value was refused, so an operator can fix a bad key without reading code (DESIGN principle 8).
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly keyPath: string,
    readonly reason: string,
  ) {
    super(`${file}: ${keyPath === '' ? '(root)' : keyPath}: ${reason}`);
  }
}

/** Raised by decoders before the loader knows which file the value came from. */
export class ConfigIssue extends Error {
  constructor(
    readonly keyPath: string,
    readonly reason: string,
  ) {
    super(`${keyPath}: ${reason}`);
  }
}
