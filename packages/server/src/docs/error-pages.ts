import { type ErrorCode, type ErrorDefinition, errorCatalogue, errorDefinition } from '../core/error-catalogue.js';

const codes = Object.keys(errorCatalogue) as ErrorCode[];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Inline `code` spans from the catalogue's backticks. */
function inline(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Tessera</title>
<style>
body{font:16px/1.55 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
code,pre{font-family:ui-monospace,monospace;font-size:.9em;background:#f2f4f8;border-radius:4px}
code{padding:.1em .3em}pre{padding:1rem;overflow:auto}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.4rem;border-bottom:1px solid #dde}
.status{color:#8a5a00;font-weight:600}a{color:#2446b3}
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** An example envelope for `code`, as the server would send it. */
export function exampleEnvelope(code: ErrorCode, baseUrl: string) {
  const definition = errorDefinition(code);
  return {
    success: false,
    error: code,
    message: definition.message,
    details: definition.exampleDetails,
    retry_after: code === 'rate_limited' || code === 'service_unavailable' ? 1 : null,
    doc_url: `${baseUrl}/docs/errors/${code}`,
    request_id: 'req_01HXYZABCDEFGHJKMNPQRSTVWX',
    timestamp: '2026-05-25T12:34:56.000Z',
  };
}

/** The code's other faces: the socket close code and the OAuth `error`, where it has them. */
function otherChannels(definition: ErrorDefinition): string {
  const items = [
    definition.endsSession ? '<li>It ends the session: a realtime socket sends <code>session_ended</code> before it closes.</li>' : '',
    definition.closeCode !== undefined ? `<li>WebSocket close code <code>${definition.closeCode}</code> on <code>/v1/realtime</code>.</li>` : '',
    definition.oauthError !== undefined ? `<li>OAuth <code>error</code> <code>${definition.oauthError}</code> on <code>/oauth/*</code> routes.</li>` : '',
  ].filter((item) => item !== '');
  return items.length === 0 ? '' : `<h2>On sockets and OAuth routes</h2>\n<ul>\n${items.join('\n')}\n</ul>\n`;
}

/** The HTML page that documents one error code. */
export function errorPage(code: ErrorCode, baseUrl: string): string {
  const definition = errorDefinition(code);
  const status = definition.clientOnly ? 'client SDK only' : `HTTP ${definition.status}`;
  const when = definition.when.map((item) => `<li>${inline(item)}</li>`).join('\n');
  const example = definition.clientOnly
    ? '<p>Never sent by the server: the SDK raises it as a <code>TesseraError</code> with this <code>code</code>.</p>'
    : `<h2>Example response</h2>\n<pre>${escapeHtml(JSON.stringify(exampleEnvelope(code, baseUrl), null, 2))}</pre>`;
  return page(
    code,
    `<p><a href="${escapeHtml(baseUrl)}/docs/errors">All error codes</a> · <a href="${escapeHtml(baseUrl)}/openapi.json">OpenAPI 3.1 description of the API</a></p>
<h1><code>${code}</code> <span class="status">${status}</span></h1>
<p><strong>${inline(definition.message)}</strong></p>
<h2>What this means</h2>
<p>${inline(definition.meaning)}</p>
<h2>When you'll see it</h2>
<ul>
${when}
</ul>
<h2>What the client should do</h2>
<p>${inline(definition.clientAction)}</p>
${otherChannels(definition)}${example}`,
  );
}

/** The index of every error code. */
export function errorIndexPage(baseUrl: string): string {
  const rows = codes
    .map((code) => {
      const definition = errorDefinition(code);
      const status = definition.clientOnly ? 'SDK' : String(definition.status);
      return `<tr><td><a href="${escapeHtml(baseUrl)}/docs/errors/${code}"><code>${code}</code></a></td><td>${status}</td><td>${inline(definition.message)}</td><td>${inline(definition.clientAction)}</td></tr>`;
    })
    .join('\n');
  return page(
    'Error codes',
    `<h1>Tessera error codes</h1>
<p>Every error response is one JSON envelope: <code>{ success: false, error, message, details, retry_after, doc_url, request_id, timestamp }</code>. Branch on <code>error</code>; it never changes.</p>
<p>Which routes send which codes, and every route's requests and answers: the <a href="${escapeHtml(baseUrl)}/openapi.json">OpenAPI 3.1 description</a> (<code>/openapi.json</code>).</p>
<table>
<thead><tr><th>code</th><th>status</th><th>message</th><th>the client should</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`,
  );
}

/** The Markdown table of every code, kept in the README between markers. */
export function errorTableMarkdown(): string {
  const lines = ['| code | status | message | the client should |', '|---|---|---|---|'];
  for (const code of codes) {
    const definition = errorDefinition(code);
    const status = definition.clientOnly ? 'SDK only' : String(definition.status);
    lines.push(`| \`${code}\` | ${status} | ${definition.message} | ${definition.clientAction.replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n');
}
