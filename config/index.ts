export { ConfigError } from './config-error.js';
export { configSchema, type SiphonConfig } from './schema.js';
export { loadConfig, decodeConfig, defaultConfigPath, parseOverride, type LoadOptions, type LoadedConfig } from './loader.js';
export { parseCliArgs, type CliArgs } from './cli-args.js';
export { splitHostPort, formatHostPort, type HostPort } from './host-port.js';
export type { ListenerConfig } from './sections/listen.js';
