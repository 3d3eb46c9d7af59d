// Which module may import which, across the packages' sources. Enforced by
// packages/server/test/architecture.test.ts (so `npm test` fails on a cycle or an upward import);
// by hand: `npx depcruise --config .dependency-cruiser.cjs packages/*/src packages/server/admin/src packages/example/server
// packages/example/web/src`.
//
// @tessera/server (packages/server/src), lowest layer first. A module imports from its own folder and
// from the layers below it; never from a layer above, never sideways into another part of its layer.
//
//   core/                            the rules, no framework; nothing of the server outside core/
//   fanout/ rate-limits/ docs/       parts below both edges: the fan-out channels; the limiters and the
//     verifier/ webhooks/            subjects they count; the error pages; the verifier's re-export; the
//                                    webhook sender (signing with standardwebhooks, the HTTP request)
//   stores/                          the databases (PostgreSQL opens its LISTEN/NOTIFY channel: fanout/)
//   config.ts                        the operator's config file, parsed into the types of the layers below
//   shared-redis.ts                  the Redis client the config names
//   tessera.ts                       one node's core, wired together: what the edges are built from
//                                    (http/app.ts takes it; the route modules in http/routes/ are Fastify
//                                    plugins handed only what they use, and may not import it)
//   http/  realtime/                 the edges; neither imports the other: what they share sits below
//                                    (core/error-envelope.ts, rate-limits/subjects.ts, and the
//                                    RealtimeSocketCounts that http/metrics.ts names for the gateway)
//   serve.ts                         a node with its edges and its ports
//   cli/                             the `tessera` command
//   index.ts                         the package's entry point
//
// Against the first sketch (core ← stores, fanout, rate-limits ← realtime, http ← tessera.ts, serve.ts,
// cli/) this records what is there: the stores use a fan-out channel, so they sit above fanout/; the
// config parser knows every part's options, so it sits above the parts; and tessera.ts is what the edges
// are built on (app.ts takes a Tessera), so it sits below them, with serve.ts above.
//
// Frameworks: the core imports no npm package but jose (and @tessera/verifier, which holds the catalogue);
// Fastify and ws stay in the edges and what assembles them (serve.ts, cli/, index.ts).
//
// Between packages: the verifier imports none of the others; the client none (Web standards only); the
// react bindings only the client; the server only the verifier (its admin console may also take the
// client's wire types, type-only); the example anything.

const server = 'packages/server/src/';

/** @type {{ name: string, path: string }[][]} Lowest first; groups in one row are one layer. */
const serverLayers = [
  [{ name: 'core', path: `^${server}core/` }],
  [
    { name: 'fanout', path: `^${server}fanout/` },
    { name: 'rate-limits', path: `^${server}rate-limits/` },
    { name: 'docs', path: `^${server}docs/` },
    { name: 'verifier', path: `^${server}verifier/` },
    { name: 'webhooks', path: `^${server}webhooks/` },
  ],
  [{ name: 'stores', path: `^${server}stores/` }],
  [{ name: 'config', path: `^${server}config\\.ts$` }],
  [{ name: 'shared-redis', path: `^${server}shared-redis\\.ts$` }],
  [{ name: 'tessera', path: `^${server}tessera\\.ts$` }],
  [
    { name: 'http', path: `^${server}http/` },
    { name: 'realtime', path: `^${server}realtime/` },
  ],
  [{ name: 'serve', path: `^${server}serve\\.ts$` }],
  [{ name: 'cli', path: `^${server}cli/` }],
  [{ name: 'index', path: `^${server}index\\.ts$` }],
];

/** Each group may not import its own layer's other groups, nor any layer above. */
const layerRules = serverLayers.flatMap((layer, rank) =>
  layer.flatMap((group) => {
    const above = serverLayers
      .slice(rank)
      .flat()
      .filter((other) => other !== group);
    if (above.length === 0) return [];
    return [
      {
        name: `server-layer-${group.name}`,
        comment: `${group.name} imports only from itself and the layers below it (see the top of .dependency-cruiser.cjs)`,
        severity: 'error',
        from: { path: group.path },
        to: { path: `(${above.map((other) => other.path).join('|')})` },
      },
    ];
  }),
);

/** A workspace package, as its sources and as what `@tessera/NAME` resolves to. */
const pkg = (names) => `^(packages/(${names})/|@tessera/(${names})(/|$))`;

const packageRules = [
  { name: 'verifier-stands-alone', from: '^packages/verifier/', to: pkg('server|client|react|example') },
  { name: 'client-stands-alone', from: '^packages/client/', to: pkg('server|react|example|verifier') },
  { name: 'react-only-over-client', from: '^packages/react/', to: pkg('server|example|verifier') },
  { name: 'server-only-over-verifier', from: '^packages/server/(?!admin/)', to: pkg('client|react|example') },
  { name: 'admin-console-not-over-react', from: '^packages/server/admin/', to: pkg('react|example') },
].map(({ name, from, to }) => ({ name, severity: 'error', from: { path: from }, to: { path: to } }));

/** The admin console is a browser app of the API: it shares the client's wire types, never its code. */
packageRules.push({
  name: 'admin-console-client-types-only',
  severity: 'error',
  from: { path: '^packages/server/admin/' },
  to: { path: pkg('client'), dependencyTypesNot: ['type-only'] },
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A module must not reach itself through its imports, type-only imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'core-without-packages',
      comment: 'The core holds the rules: besides itself and Node, only jose (its tokens) and @tessera/verifier; no framework, driver or client.',
      severity: 'error',
      from: { path: `^${server}core/` },
      to: {
        dependencyTypesNot: ['core'],
        pathNot: [`^${server}core/`, '(^|node_modules/)jose(/|$)', '^packages/verifier/', '^@tessera/verifier(/|$)'],
      },
    },
    {
      name: 'framework-stays-in-the-edges',
      comment: 'Fastify and ws belong to the edges (http/, realtime/) and what assembles them; the layers below are framework-free.',
      severity: 'error',
      from: { path: `^${server}(core|fanout|rate-limits|docs|verifier|webhooks|stores)/|^${server}(config|shared-redis|tessera)\\.ts$` },
      to: { path: '(^|node_modules/)(fastify|@fastify/[^/]+|ws)(/|$)' },
    },
    {
      name: 'routes-take-narrow-options',
      comment: 'A route module is a Fastify plugin handed only what it uses, not the whole Tessera node.',
      severity: 'error',
      from: { path: `^${server}http/routes/` },
      to: { path: `^${server}tessera\\.ts$` },
    },
    ...packageRules,
  ],
  options: {
    // The workspace packages are symlinks to packages/*: resolved to their dist/, not followed into it.
    doNotFollow: { path: ['node_modules', '^packages/[^/]+/dist/'] },
    // `import type` counts: a type-only cycle is still a cycle in the design.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'types', 'default'],
      extensions: ['.ts', '.tsx', '.js', '.d.ts'],
    },
  },
};
