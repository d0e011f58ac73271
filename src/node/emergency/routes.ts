/**
 * `GET /emergency/accesses/:id/keys`: where the keys of a break-glass stand on this node —
 * waiting for releases, ready, invalid (the released shares do not reconstruct the committed
 * key) or ended — so that the practitioner's CLI or console knows when it can read and why not.
 * Only the practitioner who broke the glass, signed in at a node of the access's organization,
 * is answered; anyone else gets the 404 an unknown id gets (no access, no patient is disclosed).
 * The answer carries counts and times only, never a share or a key.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { StateReader } from '../../contracts/index.js';
import { EMERGENCY_KEYS_PATH, type EmergencyKeysResponse } from '../../wire/emergency-keys.js';
import { requireAuth, requirePrincipal, type AuthService } from '../auth/index.js';
import { HttpError } from '../http/errors.js';
import { emergencyAccessOf } from './access-record.js';
import type { NodeEmergency } from './node-emergency.js';

const paramsSchema = z.strictObject({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/),
});

/**
 * Registers the route on `app`.
 *
 * @example registerEmergencyRoutes(app, { emergency: node.emergency, state, orgDid }, auth);
 */
export function registerEmergencyRoutes(
  app: FastifyInstance,
  parts: { readonly emergency: NodeEmergency; readonly state: StateReader; readonly orgDid: string },
  auth: AuthService,
): void {
  app.get(EMERGENCY_KEYS_PATH, { preHandler: requireAuth(auth) }, (request): EmergencyKeysResponse => {
    const principal = requirePrincipal(request);
    const params = paramsSchema.safeParse(request.params);
    const notFound = new HttpError('NOT_FOUND', 'no such emergency access of yours at this node');
    if (!params.success) throw notFound;
    const access = emergencyAccessOf(parts.state, params.data.id);
    if (
      access === undefined ||
      principal.kind !== 'practitioner' ||
      principal.org !== parts.orgDid ||
      access.requester !== principal.did ||
      access.org !== parts.orgDid
    )
      throw notFound;
    const status = parts.emergency.statusOf(access.id);
    if (status === undefined) throw notFound;
    return {
      id: access.id,
      patient: access.patient,
      start: access.start,
      end: access.end,
      threshold: access.threshold,
      trustees: access.trustees.length,
      releases: access.releases.length,
      keys: status.state,
      ...(status.state === 'invalid' ? { code: status.code } : {}),
    };
  });
}
