/**
 * Who may read `/metrics`. With node.json `metrics.token` set, a caller presenting
 * `Authorization: Bearer <token>` (compared in constant time), from anywhere — for a Prometheus
 * server on another machine. Without it, only callers on this machine (a loopback peer address):
 * a node listening on a public address shows its metrics to nobody outside by default. A request
 * a proxy forwarded (Forwarded, X-Forwarded-For, X-Real-IP) is not local, even from loopback.
 * Everyone else gets the same 404 as a path that does not exist.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { FastifyRequest } from 'fastify';

/** Shortest metrics token node.json accepts (characters). */
export const MIN_METRICS_TOKEN_LENGTH = 32;

/** Whether `request` may read the metrics, given node.json `metrics.token` (if any). */
export function mayReadMetrics(request: FastifyRequest, token: string | undefined): boolean {
  if (token !== undefined) return bearerMatches(request.headers.authorization, token);
  // A reverse proxy on this machine connects from loopback on behalf of anyone: a forwarded
  // request is not a local caller.
  if (FORWARDING_HEADERS.some((header) => request.headers[header] !== undefined)) return false;
  return isLoopback(request.socket.remoteAddress);
}

/** Headers a proxy adds to a request it forwards. */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip'] as const;

function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer (\S+)$/i.exec(header ?? '')?.[1] ?? '';
  // Digests first: equal lengths for timingSafeEqual, and no length told by the time taken.
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(token)) && presented.length > 0;
}

function isLoopback(address: string | undefined): boolean {
  if (address === undefined || !ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address); // ::ffff:127.0.0.1 → 127.0.0.1
  return parsed.range() === 'loopback';
}
