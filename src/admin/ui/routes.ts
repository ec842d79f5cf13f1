import { Elysia } from "elysia";
import pageImport from "./page.html" with { type: "text" };
import style from "./page.css" with { type: "text" };
import apiClient from "./page-api.js" with { type: "text" };
import detail from "./page-detail.js" with { type: "text" };
import dom from "./page-dom.js" with { type: "text" };
import journal from "./page-journal.js" with { type: "text" };
import lists from "./page-lists.js" with { type: "text" };
import script from "./page.js" with { type: "text" };

export const DASHBOARD_PATH = "/admin/ui";

// bun-types declares every "*.html" import an HTMLBundle; the "text" attribute makes it the file's text.
const page = pageImport as unknown as string;

const FILES: Record<string, { body: string; type: string }> = {
  [DASHBOARD_PATH]: { body: page, type: "text/html" },
  [`${DASHBOARD_PATH}/page.css`]: { body: style, type: "text/css" },
  [`${DASHBOARD_PATH}/page.js`]: { body: script, type: "text/javascript" },
  [`${DASHBOARD_PATH}/page-api.js`]: { body: apiClient, type: "text/javascript" },
  [`${DASHBOARD_PATH}/page-detail.js`]: { body: detail, type: "text/javascript" },
  [`${DASHBOARD_PATH}/page-dom.js`]: { body: dom, type: "text/javascript" },
  [`${DASHBOARD_PATH}/page-journal.js`]: { body: journal, type: "text/javascript" },
  [`${DASHBOARD_PATH}/page-lists.js`]: { body: lists, type: "text/javascript" },
};

/**
 * The paths served without the admin token: the page and its files hold no data (every datum
 * comes from the admin API, with the token), so the admin routes' bearer check skips exactly these.
 */
export const DASHBOARD_FILES: ReadonlySet<string> = new Set(Object.keys(FILES));

/**
 * What the browser may do with the page: its own scripts and styles only (no inline code, so an
 * injected chat text could not run even if it reached the markup), calls to this origin only,
 * never framed, never leaking the URL in a Referer.
 */
const HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

/** /admin/ui: the operator's dashboard, plain HTML, CSS and JavaScript embedded in the binary. */
export function dashboardRoutes() {
  const app = new Elysia({ name: "dashboard", detail: { hide: true } });
  for (const [path, file] of Object.entries(FILES)) {
    app.get(path, () => new Response(file.body, { headers: { "content-type": `${file.type}; charset=utf-8`, ...HEADERS } }));
  }
  return app;
}
