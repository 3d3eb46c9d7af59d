import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseOptions, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The layering and the cycle rule live in .dependency-cruiser.cjs at the root, with the layers
// written down at its top; this runs them over every package's sources, so `npm test` enforces them.
// Imports between packages resolve to their dist/: built by `npm install` (prepare) and `npm test`.

const root = fileURLToPath(new URL('../../..', import.meta.url));
const sources = [
  'packages/server/src',
  'packages/server/admin/src',
  'packages/verifier/src',
  'packages/client/src',
  'packages/react/src',
  'packages/example/server',
  'packages/example/web/src',
];

let options: ICruiseOptions;

beforeAll(async () => {
  options = await extractDepcruiseOptions(join(root, '.dependency-cruiser.cjs'));
});

async function cruiseIn(baseDir: string, paths: string[]): Promise<ICruiseResult> {
  const { output } = await cruise(paths, { ...options, baseDir, validate: true, outputType: 'json' });
  return (typeof output === 'string' ? JSON.parse(output) : output) as ICruiseResult;
}

/** One line per violation: `rule: from -> to`, and the cycle for a circular one. */
function violationsOf(result: ICruiseResult): string[] {
  return result.summary.violations.map((violation) => {
    const cycle = violation.cycle?.map((step) => step.name).join(' -> ');
    return `${violation.rule.name}: ${violation.from} -> ${cycle ?? violation.to}`;
  });
}

describe('architecture: no import cycle, no upward import', () => {
  it('holds across the sources of every package', async () => {
    const result = await cruiseIn(root, sources);
    expect(violationsOf(result)).toEqual([]);
    // It saw what it judges: every package, and the imports between packages resolved.
    const seen = result.modules.map((module) => module.source);
    for (const source of sources) expect(seen.some((path) => path.startsWith(`${source}/`))).toBe(true);
    const verifierImport = result.modules
      .find((module) => module.source === 'packages/server/src/core/errors.ts')
      ?.dependencies.find((dependency) => dependency.module === '@tessera/verifier/core');
    expect(verifierImport?.couldNotResolve).toBe(false);
  });

  describe('fails where it must (on a fixture tree)', () => {
    let fixture: string;

    beforeAll(async () => {
      fixture = await mkdtemp(join(tmpdir(), 'tessera-architecture-'));
      const files: Record<string, string> = {
        // An upward import: the core reaching into an edge.
        'packages/server/src/core/store.ts': "import { app } from '../http/app.js';\nexport const store = app;\n",
        'packages/server/src/http/app.ts': 'export const app = 1;\n',
        // A sideways import between the edges.
        'packages/server/src/realtime/gateway.ts': "import { app } from '../http/app.js';\nexport const gateway = app;\n",
        // A framework in the core, and in a part below the edges (a type-only import counts); jose is the core's.
        'packages/server/src/core/clock.ts': "import Fastify from 'fastify';\nimport { jwtVerify } from 'jose';\nexport const clock = [Fastify, jwtVerify];\n",
        'packages/server/src/rate-limits/limiter.ts': "import type { FastifyRequest } from 'fastify';\nexport type Limited = FastifyRequest;\n",
        // A cycle, type-only on one side (it still counts).
        'packages/server/src/fanout/a.ts': "import type { B } from './b.js';\nexport type A = { b?: B };\n",
        'packages/server/src/fanout/b.ts': "import { type A } from './a.js';\nexport type B = { a?: A };\nexport const b = 1;\n",
        // A cycle in the client: the one realtime.ts and session-client.ts used to close.
        'packages/client/src/realtime.ts': "import { client } from './session-client.js';\nexport const realtime = client;\n",
        'packages/client/src/session-client.ts': "import { realtime } from './realtime.js';\nexport const client = realtime;\n",
        // The admin console may take the client's types, not its code.
        'packages/server/admin/src/sessions.ts': "import type { Index } from '../../../client/src/index.js';\nexport type Sessions = Index;\n",
        'packages/server/admin/src/app.ts': "import { index } from '../../../client/src/index.js';\nexport const app = index;\n",
        // A package reaching past its place: the client into the server.
        'packages/client/src/index.ts': "import { app } from '../../server/src/http/app.js';\nexport const index = app;\n",
      };
      for (const [path, text] of Object.entries(files)) {
        await mkdir(dirname(join(fixture, path)), { recursive: true });
        await writeFile(join(fixture, path), text);
      }
    });

    afterAll(async () => {
      await rm(fixture, { recursive: true, force: true });
    });

    it('reports cycles, upward and sideways imports, frameworks below the edges, and package boundaries', async () => {
      const violations = violationsOf(await cruiseIn(fixture, ['packages']));
      expect(violations).toEqual(
        expect.arrayContaining([
          'server-layer-core: packages/server/src/core/store.ts -> packages/server/src/http/app.ts',
          'server-layer-realtime: packages/server/src/realtime/gateway.ts -> packages/server/src/http/app.ts',
          expect.stringMatching(/^no-circular: packages\/server\/src\/fanout\/(a|b)\.ts -> /),
          expect.stringMatching(/^no-circular: packages\/client\/src\/(realtime|session-client)\.ts -> /),
          'client-stands-alone: packages/client/src/index.ts -> packages/server/src/http/app.ts',
          'admin-console-client-types-only: packages/server/admin/src/app.ts -> packages/client/src/index.ts',
          'core-without-packages: packages/server/src/core/clock.ts -> fastify',
          'framework-stays-in-the-edges: packages/server/src/core/clock.ts -> fastify',
          'framework-stays-in-the-edges: packages/server/src/rate-limits/limiter.ts -> fastify',
        ]),
      );
      expect(violations.filter((line) => line.endsWith('-> jose'))).toEqual([]);
      expect(violations.filter((line) => line.includes('admin/src/sessions.ts'))).toEqual([]);
    });
  });
});
