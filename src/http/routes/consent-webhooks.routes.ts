/**
 * Consent endpoints called from outside, each with its own authentication (never the admin token):
 * - `POST /v1/consent/sms/inbound`: an SMS provider's inbound-message webhook (Twilio's form body with
 *   `From` and `Body`), authenticated by HTTP Basic with the shared secret `TESSERA_SMS_WEBHOOK_SECRET`
 *   (Twilio sends credentials written in the webhook URL). Answers TwiML with the keyword reply.
 * - `GET|POST /v1/consent/unsubscribe?token=…`: the e-mail unsubscribe link. The token is signed and
 *   encrypted. GET shows a confirmation form (mail scanners prefetch links, so GET changes nothing);
 *   POST unsubscribes (also RFC 8058 one-click `List-Unsubscribe=One-Click`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TesseraError } from '../../core/errors/catalogue.ts';
import type { ConsentService } from '../../consent/consent-service.ts';

export interface ConsentWebhookOptions {
  consent: ConsentService;
  smsWebhookSecret: string | undefined;
}

const FORM_LIMIT = 16_384;
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time check of `Authorization: Basic base64(any-user:secret)`. */
function basicSecretMatches(header: string | undefined, secret: string): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m?.[1]) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const password = decoded.slice(decoded.indexOf(':') + 1);
  return decoded.includes(':') && timingSafeEqual(sha256(password), sha256(secret));
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
const escapeHtml = escapeXml;

function formField(request: FastifyRequest, name: string): string | undefined {
  const body = request.body as Record<string, string> | undefined;
  const v = body?.[name];
  return typeof v === 'string' ? v : undefined;
}

export async function consentWebhookRoutes(app: FastifyInstance, opts: ConsentWebhookOptions): Promise<void> {
  // Providers post forms; parse them here (this scope only), size-limited.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  app.post('/sms/inbound', { schema: { hide: true }, bodyLimit: FORM_LIMIT }, async (request, reply) => {
    const secret = opts.smsWebhookSecret;
    if (secret === undefined)
      throw new TesseraError('invalid_signature', 'the inbound-SMS webhook is not configured (TESSERA_SMS_WEBHOOK_SECRET)');
    if (!basicSecretMatches(request.headers.authorization, secret))
      throw new TesseraError('invalid_signature', 'wrong or missing webhook secret');
    const from = formField(request, 'From');
    const body = formField(request, 'Body');
    if (from === undefined || body === undefined || from.length > 64)
      throw new TesseraError('validation_failed', 'the form needs `From` and `Body`');
    const messageSid = formField(request, 'MessageSid');
    const outcome = await opts.consent.inboundSms({
      from,
      body,
      ...(messageSid !== undefined ? { providerMessageId: messageSid.slice(0, 100) } : {}),
    });
    const twiml = outcome.reply === null ? '<Response/>' : `<Response><Message>${escapeXml(outcome.reply)}</Message></Response>`;
    return reply.header('content-type', 'text/xml; charset=utf-8').send(`<?xml version="1.0" encoding="UTF-8"?>${twiml}`);
  });

  app.get<{ Querystring: { token?: string } }>('/unsubscribe', { schema: { hide: true } }, async (request, reply) => {
    const token = request.query.token ?? '';
    opts.consent.verifyUnsubscribeToken(token);
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .send(
        `<!doctype html><meta charset="utf-8"><title>Unsubscribe</title><form method="post" action="?token=${escapeHtml(encodeURIComponent(token))}">` +
          `<p>Stop receiving marketing e-mail at this address?</p><button type="submit">Unsubscribe</button></form>`,
      );
  });

  app.post<{ Querystring: { token?: string } }>(
    '/unsubscribe',
    { schema: { hide: true }, bodyLimit: FORM_LIMIT },
    async (request, reply) => {
      await opts.consent.unsubscribeByToken(request.query.token ?? '', {
        ip: request.ip,
        ...(request.headers['user-agent'] !== undefined ? { userAgent: request.headers['user-agent'] } : {}),
      });
      return reply
        .header('content-type', 'text/html; charset=utf-8')
        .send('<!doctype html><meta charset="utf-8"><p>You are unsubscribed.</p>');
    },
  );
}
