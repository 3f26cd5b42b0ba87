/** `/docs/errors`: the error catalogue and failed-event reasons as a page, generated from the code itself. */
import type { FastifyInstance } from 'fastify';
import { ERROR_CODES } from '../../core/errors/catalogue.ts';
import { FAILURE_REASONS } from '../../core/event/event.ts';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function errorsPage(app: FastifyInstance): Promise<void> {
  const rows = Object.entries(ERROR_CODES)
    .map(
      ([code, { status, meaning }]) =>
        `<tr id="${code}"><td><code>${code}</code></td><td>${status}</td><td>${escapeHtml(meaning)}</td></tr>`,
    )
    .join('\n');
  const reasons = Object.entries(FAILURE_REASONS)
    .map(([reason, meaning]) => `<tr id="${reason}"><td><code>${reason}</code></td><td>${escapeHtml(meaning)}</td></tr>`)
    .join('\n');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Tessera errors</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}</style></head>
<body><h1>Error codes</h1><p>Every error body is <code>{"error":{"code","message","requestId","docs"}}</code>.</p>
<table><tr><th>code</th><th>status</th><th>meaning</th></tr>${rows}</table>
<h1>Failed-event reasons</h1><p>A message refused inside an accepted request goes to <code>GET /api/v1/failed-events</code> with one of these reasons.</p>
<table><tr><th>reason</th><th>meaning</th></tr>${reasons}</table></body></html>`;
  app.get('/docs/errors', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(html));
}
