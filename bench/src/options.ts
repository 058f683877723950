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
 * Reads options from `--name value` / `--name=value` flags, then `BENCH_NAME` environment
 * variables, then defaults. Unknown flags and bad values are errors that name the option.
 */
export function parseOptions(
  specs: readonly OptionSpec[],
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): OptionValues {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const values: OptionValues = {};
  for (const spec of specs) {
    const fromEnv = env[envName(spec.name)];
    values[spec.name] =
      fromEnv === undefined
        ? (spec.default as OptionValues[string])
        : convert(spec, fromEnv, envName(spec.name));
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      throw new BenchError('bad_option', `unexpected argument ${JSON.stringify(arg)} (see --help)`);
    }
    const eq = arg.indexOf('=');
    let name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    let negated = false;
    if (!byName.has(name) && name.startsWith('no-') && byName.get(name.slice(3))?.kind === 'flag') {
      name = name.slice(3);
      negated = true;
    }
    const spec = byName.get(name);
    if (!spec) throw new BenchError('bad_option', `unknown option --${name} (see --help)`);
    if (spec.kind === 'flag') {
      const value = eq > 0 ? convert(spec, arg.slice(eq + 1), `--${name}`) : true;
      values[name] = negated ? !value : value;
      continue;
    }
    let raw: string | undefined;
    if (eq > 0) raw = arg.slice(eq + 1);
    else {
      raw = argv[i + 1];
      i++;
    }
    if (raw === undefined) throw new BenchError('bad_option', `--${name} needs a value`);
    values[name] = convert(spec, raw, `--${name}`);
  }
  return values;
}

/** Help text listing every option with its environment variable and default. */
export function usage(command: string, specs: readonly OptionSpec[]): string {
  const lines = [`usage: ${command} [--option value ...]`, ''];
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
