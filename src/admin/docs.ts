import { swagger } from "@elysiajs/swagger";
import { Elysia } from "elysia";
// Imported as files so `bun build --compile` embeds them: the UI works on a server without internet.
import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import swaggerBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import favicon from "swagger-ui-dist/favicon-32x32.png" with { type: "file" };
import pkg from "../../package.json";
import { tidyOpenApi } from "./openapi-tidy.ts";

export const DOCS_PATH = "/swagger";
export const SPEC_PATH = "/swagger/json";
const ASSETS_PATH = "/swagger/assets";

const ASSETS: Record<string, { body: () => BodyInit; type: string }> = {
  "swagger-ui.css": { body: () => Bun.file(swaggerCss), type: "text/css; charset=utf-8" },
  "swagger-ui-bundle.js": { body: () => Bun.file(swaggerBundle), type: "text/javascript; charset=utf-8" },
  "favicon-32x32.png": { body: () => Bun.file(favicon), type: "image/png" },
  // Kept out of the HTML so a strict Content-Security-Policy (no inline scripts) still works.
  "init.js": { body: () => INIT_JS, type: "text/javascript; charset=utf-8" },
};

const INIT_JS = `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(SPEC_PATH)},
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  // The default validator badge fetches validator.swagger.io: nothing may leave the server.
  validatorUrl: null,
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>timbre admin API</title>
  <link rel="icon" type="image/png" href="${ASSETS_PATH}/favicon-32x32.png">
  <link rel="stylesheet" href="${ASSETS_PATH}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script src="${ASSETS_PATH}/init.js"></script>
</body>
</html>
`;

const DESCRIPTION = `Manage timbre's Telegram webhook and see what is queued, waiting or failed.

Every route needs \`Authorization: Bearer <ADMIN_TOKEN>\` (press **Authorize** and paste the token). Without ADMIN_TOKEN set, the admin API answers 401.
Errors are JSON \`{"ok": false, "error": "..."}\`; a bad parameter, query or body is 400, and a call Telegram refuses or cannot be reached for is 502 with the cause.

Not listed on purpose: \`POST /telegram/webhook\` (Telegram's, authenticated by the webhook secret), \`GET /healthz\`, \`GET /metrics\` (Prometheus), the sandbox routes and \`GET /admin/ui\` (the operator's dashboard, a page that calls these routes with the token).`;

/** /swagger (Swagger UI served from the app itself) and /swagger/json (OpenAPI 3 of every admin route). */
export function apiDocs() {
  return (
    new Elysia({ name: "api-docs" })
      // Registered before the plugin so it applies to the plugin's /swagger/json route.
      .onAfterHandle(({ path, response }) => (path === SPEC_PATH ? tidyOpenApi(response) : undefined))
      .use(
        swagger({
          provider: "swagger-ui",
          path: DOCS_PATH,
          specPath: SPEC_PATH,
          documentation: {
            info: { title: "timbre admin API", version: pkg.version, description: DESCRIPTION },
            tags: [
              { name: "webhook", description: "The webhook Telegram delivers updates to (also manageable with `timbre webhook ...`)." },
              { name: "monitoring", description: "Counts, mode and uptime." },
              { name: "runs", description: "Agent runs, their journals and their pending questions." },
              { name: "updates", description: "The durable inbox of Telegram updates, dead letters included." },
              { name: "outbox", description: "Replies queued, sent or failed." },
              { name: "maintenance", description: "Backups of the SQLite database (also `timbre backup PATH`)." },
            ],
            components: {
              securitySchemes: {
                bearerAuth: { type: "http", scheme: "bearer", description: "The value of the ADMIN_TOKEN environment variable." },
              },
            },
          },
        }),
      )
      // Replaces the plugin's page, which loads Swagger UI from a CDN, with one that loads it from here.
      .get(DOCS_PATH, () => new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } }), { detail: { hide: true } })
      .get(
        `${ASSETS_PATH}/:name`,
        ({ params }) => {
          const asset = ASSETS[params.name];
          if (!asset) return Response.json({ ok: false, error: `no such asset ${params.name}` }, { status: 404 });
          return new Response(asset.body(), { headers: { "content-type": asset.type, "cache-control": "public, max-age=86400" } });
        },
        { detail: { hide: true } },
      )
  );
}
