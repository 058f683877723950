import { type ParseArgsConfig, parseArgs } from 'node:util';
import { BenchError } from './errors.js';

/** One command-line option; `--users 5000` or the environment variable `BENCH_USERS=5000`. */
export interface OptionSpec {
  readonly name: string;
  readonly kind: 'int' | 'number' | 'string' | 'list' | 'flag';
  readonly default: number | string | readonly string[] | boolean;
  readonly description: string;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
}

/** Parsed option values by name. */
export type OptionValues = Record<string, number | string | string[] | boolean>;

/** `users` -> `BENCH_USERS`, `drain-timeout` -> `BENCH_DRAIN_TIMEOUT`. */
export function envName(option: string): string {
  return `BENCH_${option.toUpperCase().replaceAll('-', '_')}`;
}

function convert(
  spec: OptionSpec,
  raw: string,
  source: string,
): number | string | string[] | boolean {
  const where = `${source} (${spec.description})`;
  switch (spec.kind) {
    case 'flag': {
      if (['1', 'true', 'yes', ''].includes(raw)) return true;
      if (['0', 'false', 'no'].includes(raw)) return false;
      throw new BenchError(
        'bad_option',
        `${where}: expected true or false, got ${JSON.stringify(raw)}`,
      );
    }
    case 'int':
    case 'number': {
      const value = Number(raw);
      const integral = spec.kind === 'int';
      if (raw.trim() === '' || !Number.isFinite(value) || (integral && !Number.isInteger(value))) {
        throw new BenchError(
          'bad_option',
          `${where}: expected ${integral ? 'an integer' : 'a number'}, got ${JSON.stringify(raw)}`,
        );
      }
      if (spec.min !== undefined && value < spec.min) {
        throw new BenchError('bad_option', `${where}: must be >= ${spec.min}, got ${value}`);
      }
      if (spec.max !== undefined && value > spec.max) {
        throw new BenchError('bad_option', `${where}: must be <= ${spec.max}, got ${value}`);
      }
      return value;
    }
    case 'list': {
      const items = raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      for (const item of items) {
        if (spec.choices && !spec.choices.includes(item)) {
          throw new BenchError(
            'bad_option',
            `${where}: unknown value ${JSON.stringify(item)}, expected some of ${spec.choices.join(', ')}`,
          );
        }
      }
      return items;
    }
    case 'string': {
      if (spec.choices && !spec.choices.includes(raw)) {
        throw new BenchError(
          'bad_option',
          `${where}: expected one of ${spec.choices.join(', ')}, got ${JSON.stringify(raw)}`,
        );
      }
      return raw;
    }
  }
}

/**
 * Reads options from `--name value` / `--name=value` flags (`--flag`, `--no-flag` for a flag),
 * parsed by `node:util` `parseArgs`, then `BENCH_NAME` environment variables, then defaults.
 * Unknown flags, stray arguments and bad values are errors that name the option.
 */
export function parseOptions(
  specs: readonly OptionSpec[],
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): OptionValues {
  const config: ParseArgsConfig['options'] = {};
  for (const spec of specs) {
    if (spec.kind === 'flag') {
      config[spec.name] = { type: 'boolean' };
      config[`no-${spec.name}`] = { type: 'boolean' };
    } else {
      config[spec.name] = { type: 'string' };
    }
  }
  let parsed: ReturnType<typeof parseArgs>['values'];
  try {
    parsed = parseArgs({ args: [...argv], options: config, strict: true }).values;
  } catch (error) {
    const message = (error as Error).message.split('. ')[0];
    throw new BenchError('bad_option', `${message} (see --help)`);
  }
  const values: OptionValues = {};
  for (const spec of specs) {
    const fromFlag = parsed[spec.name];
    const fromEnv = env[envName(spec.name)];
    if (spec.kind === 'flag' && parsed[`no-${spec.name}`] === true) values[spec.name] = false;
    else if (fromFlag !== undefined) {
      values[spec.name] =
        typeof fromFlag === 'boolean'
          ? fromFlag
          : convert(spec, String(fromFlag), `--${spec.name}`);
    } else if (fromEnv !== undefined)
      values[spec.name] = convert(spec, fromEnv, envName(spec.name));
    else values[spec.name] = spec.default as OptionValues[string];
  }
  return values;
}

/** Help text listing every option with its environment variable and default. */
export function usage(command: string, specs: readonly OptionSpec[]): string {
  const lines = [`usage: ${command} [--option value ...] [--flag | --no-flag ...]`, ''];
  for (const spec of specs) {
    const shown = Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default);
    lines.push(
      `  --${spec.name.padEnd(20)} ${spec.description} (default ${shown || '""'}; env ${envName(spec.name)})`,
    );
  }
  return lines.join('\n');
}

/** A command line as a person would retype it: empty or spaced arguments quoted. */
export function commandLine(command: string, argv: readonly string[]): string {
  const quoted = argv.map((arg) => (arg === '' || /[\s'"$]/.test(arg) ? JSON.stringify(arg) : arg));
  return [command, ...quoted].join(' ');
}
