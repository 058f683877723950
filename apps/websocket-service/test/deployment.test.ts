import { existsSync, readFileSync } from 'node:fs';
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
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  profiles?: string[];
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
  it('defines redis and websocket_service, and the demo behind the demo profile', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['demo', 'redis', 'websocket_service']);
    // `docker compose up` starts Redis and the service only; `--profile demo` adds the demo.
    expect(compose.services.redis!.profiles).toBeUndefined();
    expect(compose.services.websocket_service!.profiles).toBeUndefined();
    expect(compose.services.demo!.profiles).toEqual(['demo']);
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
      args: { VERSION: `\${VERSION:-local}` },
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

describe('docker-compose.services.yml: the demo', () => {
  const demo = compose.services.demo!;
  const service = compose.services.websocket_service!;
  const demoConfig = readFileSync(join(repoRoot, 'apps', 'demo', 'src', 'config.ts'), 'utf8');
  /** The variables the demo reads (`text('X', ...)`, `env.X`, ...). */
  const demoVariables = new Set(
    [...demoConfig.matchAll(/(?:(?:text|integer|url)\('|env\.)([A-Z][A-Z0-9_]+)/g)].map(
      (m) => m[1],
    ),
  );

  it('builds the demo image and starts once Redis and the service are healthy', () => {
    expect(demo.build).toEqual({
      context: '.',
      dockerfile: 'apps/demo/Dockerfile',
      args: { VERSION: `\${VERSION:-local}` },
    });
    expect(demo.depends_on).toEqual({
      redis: { condition: 'service_healthy' },
      websocket_service: { condition: 'service_healthy' },
    });
    expect(demo.ports).toEqual(['127.0.0.1:3000:3000']);
  });

  it('sets only variables the demo reads, with the secret, channel prefix and Redis the service uses', () => {
    const env = demo.environment!;
    expect(demoVariables.size).toBeGreaterThan(5);
    expect(Object.keys(env).filter((name) => !demoVariables.has(name))).toEqual([]);
    const serviceEnv = service.environment!;
    for (const shared of ['JWT_SECRET_KEY', 'JWT_AUDIENCE', 'JWT_ISSUER', 'WEBSOCKET_REDIS_URL']) {
      expect(env[shared], shared).toBe(serviceEnv[shared]);
    }
    expect(env.WEBSOCKET_CHANNEL_PREFIX).toBe(serviceEnv.WEBSOCKET_CHANNEL_PREFIX);
    // Published on the host's 8080, where the browser finds the service.
    expect(env.WEBSOCKET_PUBLIC_URL).toBe(`ws://localhost:${service.ports![0]!.split(':')[0]}/ws`);
    expect(env.DEMO_HOST).toBe('0.0.0.0');
  });

  it("runs the demo's built entry point as the unprivileged node user", () => {
    const demoDockerfile = readFileSync(join(repoRoot, 'apps', 'demo', 'Dockerfile'), 'utf8');
    expect(demoDockerfile).toMatch(/^USER node$/m);
    expect(demoDockerfile).toContain('pnpm --filter "@huleedu/demo..." run build');
    const cmd = JSON.parse(demoDockerfile.match(/^CMD (\[.*\])$/m)![1]!) as string[];
    expect(cmd).toEqual(['node', 'apps/demo/dist/server.js']);
    // The built entry point is where the CMD looks (turbo builds the demo before its tests;
    // in this package's run it is there once the demo was built).
    const entry = join(repoRoot, cmd[1]!);
    if (existsSync(join(repoRoot, 'apps', 'demo', 'dist'))) expect(existsSync(entry)).toBe(true);
    expect(demoDockerfile).toMatch(/^EXPOSE 3000$/m);
    const ignore = readFileSync(join(repoRoot, 'apps', 'demo', 'Dockerfile.dockerignore'), 'utf8');
    for (const entry of ['**/node_modules', '**/dist', '.git']) expect(ignore).toContain(entry);
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

  it('labels the image with OCI annotations, the version from a build argument', () => {
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    const labels = runtime.slice(runtime.indexOf('LABEL '));
    // ARGs before the first FROM do not reach a stage: the runtime stage declares its own.
    for (const arg of ['VERSION', 'REVISION', 'CREATED']) {
      expect(runtime.indexOf(`ARG ${arg}=`), arg).toBeGreaterThan(-1);
      expect(runtime.indexOf(`ARG ${arg}=`), arg).toBeLessThan(runtime.indexOf('LABEL '));
    }
    expect(labels).toContain(`org.opencontainers.image.version="\${VERSION}"`);
    expect(labels).toContain(`org.opencontainers.image.revision="\${REVISION}"`);
    expect(labels).toContain(`org.opencontainers.image.created="\${CREATED}"`);
    for (const key of ['title', 'description', 'licenses', 'vendor']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
    const packageJson = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
      license: string;
    };
    expect(labels).toContain(`org.opencontainers.image.licenses="${packageJson.license}"`);
  });

  it('has a context ignore file that keeps host builds and node_modules out', () => {
    const ignore = readFileSync(join(packageDir, 'Dockerfile.dockerignore'), 'utf8');
    for (const entry of ['**/node_modules', '**/dist', '.git']) expect(ignore).toContain(entry);
  });
});
