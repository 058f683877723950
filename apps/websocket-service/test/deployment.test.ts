import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { defaults } from '../src/config.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..');
const repoRoot = join(packageDir, '..', '..');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  command?: string[];
}

const compose = parse(readFileSync(join(repoRoot, 'docker-compose.services.yml'), 'utf8')) as {
  services: Record<string, ComposeService>;
};
const dockerfile = readFileSync(join(packageDir, 'Dockerfile'), 'utf8');

describe('docker-compose.services.yml', () => {
  it('defines redis and websocket_service', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['redis', 'websocket_service']);
  });

  it('runs redis:7-alpine with a redis-cli ping healthcheck', () => {
    const redis = compose.services.redis!;
    expect(redis.image).toBe('redis:7-alpine');
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('builds the service from the repo root with its Dockerfile and waits for a healthy redis', () => {
    const service = compose.services.websocket_service!;
    expect(service.build).toEqual({
      context: '.',
      dockerfile: 'apps/websocket-service/Dockerfile',
    });
    expect(service.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
    expect(service.ports).toEqual(['8080:8080']);
    expect(service.healthcheck?.test.join(' ')).toContain('http://127.0.0.1:8080/readyz');
  });

  it('passes every configuration variable the service reads, pointing at the redis service', () => {
    const env = compose.services.websocket_service!.environment!;
    const documented = [...Object.keys(defaults), 'JWT_SECRET_KEY'];
    for (const variable of documented) expect(env, variable).toHaveProperty(variable);
    expect(env.WEBSOCKET_REDIS_URL).toBe('redis://redis:6379');
    expect(env.WEBSOCKET_SERVICE_PORT).toBe('8080');
    // Required, never a baked-in default.
    expect(env.JWT_SECRET_KEY).toMatch(/^\$\{JWT_SECRET_KEY:\?/);
  });
});

describe('Dockerfile', () => {
  const stages = [...dockerfile.matchAll(/^FROM (\S+) AS (\w+)/gm)].map((m) => m[2]);

  it('is multi-stage on a current Node LTS slim image', () => {
    expect(stages).toEqual(['build', 'runtime']);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
  });

  it('installs pnpm 10 with npm and builds with the script the replay test runs', () => {
    expect(dockerfile).toContain('npm install -g pnpm@10');
    expect(dockerfile).toContain('sh /usr/local/bin/container-build.sh fetch');
    expect(dockerfile).toContain('sh /usr/local/bin/container-build.sh build /out');
    const script = readFileSync(join(packageDir, 'scripts', 'container-build.sh'), 'utf8');
    expect(script).toContain('pnpm install --frozen-lockfile --offline');
    expect(script).toMatch(/pnpm --filter @huleedu\/websocket-service deploy --prod /);
  });

  it('runs as a non-root user with a Node-based healthcheck on /healthz', () => {
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^EXPOSE 8080$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n\s+CMD \["node", "-e", ".*\/healthz/m);
    const instructions = runtime.split('\n').filter((l) => !l.trimStart().startsWith('#'));
    expect(instructions.join('\n')).not.toContain('curl');
    // With the service's V8 flags (src/v8-flags.ts; test/v8-flags.test.ts checks the list).
    expect(runtime).toMatch(/^CMD \["node", ("--[^"]+", )*"dist\/main.js"\]$/m);
    // Exec-form healthcheck: check that its JSON array parses.
    const line = runtime.match(/CMD (\["node", "-e".*\])$/m)?.[1];
    expect(JSON.parse(line!)).toHaveLength(3);
  });

  it('has a context ignore file that keeps host builds and node_modules out', () => {
    const ignore = readFileSync(join(packageDir, 'Dockerfile.dockerignore'), 'utf8');
    for (const entry of ['**/node_modules', '**/dist', '.git']) expect(ignore).toContain(entry);
  });
});
