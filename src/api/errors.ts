/**
 * Maps errors to HTTP responses, once for the whole API: typed AppErrors
 * keep their status and message (they are written for the caller), request
 * validation errors name the field, everything else is a 500 whose details
 * stay in the log.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isAppError } from '../lib/errors.ts';
import type { ApiError } from './schemas.ts';

type ValidationResult = NonNullable<FastifyError['validation']>[number];

/** `body.color`, `query.limit`, `body.name` for a missing property. */
function issuePath(context: string | undefined, v: ValidationResult): string {
  const where = (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const missing = (v.params as { missingProperty?: string } | undefined)?.missingProperty;
  return [context, where, missing].filter(Boolean).join('.') || 'request';
}

export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (isAppError(err)) {
    const body: ApiError = { error: err.code, message: err.message };
    if ('issues' in err && Array.isArray(err.issues) && err.issues.length) body.issues = err.issues;
    if (err.status >= 500) request.log.error({ err }, 'request failed');
    void reply.status(err.status).send(body);
    return;
  }
  if (err.validation) {
    const issues = err.validation.map((v) => ({ path: issuePath(err.validationContext, v), message: v.message ?? 'is invalid' }));
    const first = issues[0];
    void reply.status(400).send({ error: 'Invalid', message: `invalid request: ${first ? `${first.path} ${first.message}` : err.message}`, issues });
    return;
  }
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
  if (status < 500) {
    void reply.status(status).send({ error: err.code ?? 'BadRequest', message: err.message });
    return;
  }
  request.log.error({ err }, 'request failed');
  void reply.status(500).send({ error: 'Internal', message: 'internal server error; the server log has the details' });
}
