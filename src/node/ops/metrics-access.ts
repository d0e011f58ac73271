/**
 * Who may read `/metrics`. With node.json `metrics.token` set, a caller presenting
 * `Authorization: Bearer <token>` (compared in constant time), from anywhere — for a Prometheus
 * server on another machine. Without it, only callers on this machine (a loopback peer address):
 * a node listening on a public address shows its metrics to nobody outside by default. Everyone
 * else gets the same 404 as a path that does not exist.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { FastifyRequest } from 'fastify';

/** Shortest metrics token node.json accepts (characters). */
export const MIN_METRICS_TOKEN_LENGTH = 32;

/** Whether `request` may read the metrics, given node.json `metrics.token` (if any). */
export function mayReadMetrics(request: FastifyRequest, token: string | undefined): boolean {
  if (token !== undefined) return bearerMatches(request.headers.authorization, token);
  return isLoopback(request.socket.remoteAddress);
}

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
