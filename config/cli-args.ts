/** `siphon [--config FILE] [--set key.path=value ...]` argument parsing. */
import { ConfigError } from './config-error.js';

export interface CliArgs {
  readonly configFile: string | null;
  readonly sets: string[];
  readonly help: boolean;
}

export function parseCliArgs(argv: readonly string[]): CliArgs {
  let configFile: string | null = null;
  const sets: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const takeValue = (name: string): string => {
      const eq = arg.indexOf('=');
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new ConfigError('command line', name, 'missing value');
      return v;
    };
    if (arg === '--config' || arg === '-c' || arg.startsWith('--config=')) configFile = takeValue('--config');
    else if (arg === '--set' || arg.startsWith('--set=')) sets.push(takeValue('--set'));
    else if (arg === '--help' || arg === '-h') help = true;
    else throw new ConfigError('command line', arg, 'unknown argument (usage: siphon [--config FILE] [--set key.path=value ...])');
  }
  return { configFile, sets, help };
}
