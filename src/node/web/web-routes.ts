/**
 * The web app (patient portal, provider console, ledger explorer), served at `/` from the Vite
 * build in `dist/web`, with an SPA fallback for the app's own paths. The API prefixes (`/fhir`,
 * `/ledger`, `/auth`, `/vault`, `/shl/…`) are never touched: only the paths below are registered,
 * and the SMART Health Link viewer at exactly `/shl`.
 * Without a build, `/` answers a page saying to run `npm run build`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { SHL_VIEWER_PATH } from '../../wire/index.js';

/** Top-level paths of the app's screens (client-side routes): each answers index.html. */
export const WEB_APP_ROUTES = ['/patient', '/provider', '/explorer'] as const;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The page's Content-Security-Policy, with the origins its scripts may fetch from. */
function contentSecurityPolicy(connectSrc: string): string {
  return `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src ${connectSrc}; frame-ancestors 'none'`;
}

// Security headers of every page: no framing, no sniffing, scripts only from this origin.
const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': contentSecurityPolicy("'self'"),
};

/**
 * The SMART Health Link viewer's page (`/shl`) may also fetch from any https origin: a link names
 * its own server (`url`, and the manifest's `location`s), which may be another SMART Health Links
 * server than this node, and the viewer fetches its manifest and files from the browser (the key
 * never leaves it). Only this document is widened: scripts stay 'self', and the portal and
 * console pages, where a wallet is unlocked, keep `connect-src 'self'`. Plain http stays refused
 * (the spec requires https for links; this node's own origin is 'self'), except to this machine's
 * loopback addresses: a node run locally (development, tests) on another port is another origin,
 * and loopback traffic never crosses a network. The viewer's code refuses http to any other host
 * with a clear message (src/shl/manifest.ts `assertSecureUrl`) before the CSP would.
 */
const VIEWER_PAGE_HEADERS: Readonly<Record<string, string>> = {
  ...PAGE_HEADERS,
  'content-security-policy': contentSecurityPolicy("'self' https: http://127.0.0.1:* http://localhost:*"),
};

const NOT_BUILT_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Roam</title></head>
<body><h1>Roam node</h1><p>The web app is not built. Run <code>npm run build</code> and restart the node.</p>
<p>The APIs are up: <a href="/ledger/status">/ledger/status</a>, <a href="/fhir/R4/metadata">/fhir/R4/metadata</a>.</p></body></html>\n`;

/** Where the built app is: `dist/web` beside the compiled server (or the sources, under tsx). */
export function defaultWebRoot(): string {
  const candidates = [
    fileURLToPath(new URL('../../web/', import.meta.url)), // dist/node/web → dist/web
    fileURLToPath(new URL('../../../dist/web/', import.meta.url)), // src/node/web → dist/web
  ];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0]!;
}

/**
 * Registers the app's routes on `app`: `/`, the screens' paths (and below), `/assets/*`.
 *
 * @param root the folder of the built app (default {@link defaultWebRoot})
 * @example registerWebRoutes(app);
 */
export function registerWebRoutes(app: FastifyInstance, root: string = defaultWebRoot()): void {
  const base = normalize(root.endsWith(sep) ? root : root + sep);

  const sendIndex = (reply: FastifyReply, headers = PAGE_HEADERS): FastifyReply => {
    const index = join(base, 'index.html');
    void reply.headers(headers).header('cache-control', 'no-cache');
    if (!existsSync(index)) return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    return reply.type('text/html; charset=utf-8').send(readFileSync(index));
  };

  app.get('/', (_request, reply) => sendIndex(reply));
  for (const route of WEB_APP_ROUTES) {
    app.get(route, (_request, reply) => sendIndex(reply));
    app.get(`${route}/*`, (_request, reply) => sendIndex(reply));
  }
  // Only the exact path: the node's SHL API owns the paths below it (src/node/shl/routes.ts).
  app.get(SHL_VIEWER_PATH, (_request, reply) => sendIndex(reply, VIEWER_PAGE_HEADERS));
  const sendFile = (relative: string, reply: FastifyReply): FastifyReply => {
    const path = normalize(join(base, relative));
    // No way out of the build folder (`..`, encoded or not, is resolved by normalize first).
    if (!path.startsWith(base) || !existsSync(path) || !statSync(path).isFile()) {
      return reply
        .code(404)
        .send({ error: { code: 'NOT_FOUND', message: `no file ${relative.slice(0, 200)}` } });
    }
    const type = CONTENT_TYPES[extname(path)] ?? 'application/octet-stream';
    // Vite names assets by content hash: they never change.
    return reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .type(type)
      .send(readFileSync(path));
  };
  app.get('/assets/*', (request, reply) => {
    const rest = (request.params as { '*': string })['*'];
    return sendFile(join('assets', rest), reply);
  });
  app.get('/favicon.svg', (_request, reply) => sendFile('favicon.svg', reply));
}
