import { fileURLToPath } from 'node:url';

/** The example package's folder, whether this runs compiled (dist/server) or from source (server). */
export const packageRoot = fileURLToPath(new URL(import.meta.url.includes('/dist/server/') ? '../../' : '../', import.meta.url));

/** The page as `vite build` wrote it. */
export const builtPage = `${packageRoot}dist/web/`;
