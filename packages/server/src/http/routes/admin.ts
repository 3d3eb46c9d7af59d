import { readdirSync, readFileSync } from 'node:fs';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Static } from 'typebox';
import { TesseraError } from '../../core/errors.js';
import { packageRoot } from '../../core/package-root.js';
import { AdminAssetParams } from '../schemas.js';

/**
 * Where the console's files are, under the package's root wherever this module runs from (`src/`,
 * `dist/`, the bundled CLI). The page, its stylesheet and icon are written by hand; the scripts are
 * compiled by `tsc -b` from `admin/src/` (its own tsconfig, with the DOM).
 */
const publicDir = () => new URL('admin/public/', packageRoot());
const scriptDir = () => new URL('dist/admin/', packageRoot());

/**
 * The page may load only its own files and talk only to this server: no inline script or style,
 * no framing, no forms posted elsewhere. Data reaches the DOM as text only (see `admin/src/`).
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

/**
 * The admin console: one static page (public: it shows nothing until given the management API key,
 * which then goes with every call as a bearer credential) and its scripts. Not CORS-enabled: the
 * page calls the management API from its own origin.
 */
export const adminRoutes: FastifyPluginAsync = async (app) => {
  const assets = loadAssets();

  app.register(async (scope) => {
    // Every /admin answer, errors included, carries the security headers.
    scope.addHook('onRequest', async (_request, reply) => {
      reply.header('content-security-policy', contentSecurityPolicy);
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('x-content-type-options', 'nosniff');
      reply.header('cross-origin-opener-policy', 'same-origin');
      reply.header('cache-control', 'no-store');
    });

    scope.get(
      '/admin',
      {
        config: {
          docs: {
            summary: 'The admin console page',
            description: 'On the management port only, when there is one.',
            tag: 'Admin console',
            answer: { status: 200, description: 'The console (HTML).', type: 'text/html' },
            errors: ['not_found'],
          },
        },
      },
      async (_request, reply) => sendAsset(reply, assets().get('index.html')),
    );

    scope.get<{ Params: Static<typeof AdminAssetParams> }>(
      '/admin/:file',
      {
        schema: { params: AdminAssetParams },
        config: {
          docs: {
            summary: 'A file of the admin console',
            tag: 'Admin console',
            answer: { status: 200, description: 'A script, stylesheet or icon of the console.', type: '*/*' },
            errors: ['not_found'],
          },
        },
      },
      async (request, reply) => {
        const { file } = request.params;
        // `/admin/` is the page too; its absolute links would work from there, but one address is clearer.
        if (file === '') return reply.redirect('/admin', 308);
        const asset = file === 'index.html' ? undefined : assets().get(file);
        if (!asset) throw new TesseraError('not_found', { details: [{ path: `/admin/${file}` }] });
        // Scripts and styles may be kept, but checked again each time: a new build is seen at once.
        reply.header('cache-control', 'no-cache');
        return sendAsset(reply, asset);
      },
    );
  });
};

function sendAsset(reply: FastifyReply, asset: Asset | undefined) {
  // Only a server run from its sources without a build lacks the console: nothing is there to serve.
  if (!asset) throw new TesseraError('not_found', { message: 'The admin console is not built into this server: run `npm run build`.' });
  return reply.type(asset.type).send(asset.body);
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Reads the console's files once, on first use: a fixed set, so no request path ever reaches the file system. */
function loadAssets(): () => ReadonlyMap<string, Asset> {
  let loaded: Map<string, Asset> | undefined;
  return () => {
    if (loaded?.has('index.html') && loaded.has('app.js')) return loaded;
    loaded = new Map([...readAssets(publicDir(), ['.html', '.css', '.svg']), ...readAssets(scriptDir(), ['.js'])]);
    return loaded;
  };
}

function readAssets(dir: URL, extensions: readonly string[]): [string, Asset][] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, extension: extensions.find((extension) => name.endsWith(extension)) }))
    .filter((entry): entry is { name: string; extension: string } => entry.extension !== undefined)
    .map(({ name, extension }) => [name, { body: readFileSync(new URL(name, dir)), type: contentTypes[extension]! }]);
}
