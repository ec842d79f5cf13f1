// The admin API as the dashboard calls it: with the bearer token kept in this tab's sessionStorage,
// and a refused token (401) or address (429) as Refused, after which the page shows nothing.

export const TOKEN_KEY = "timbre.admin.token";

/** The admin API refused the token (401) or this address (429): nothing may be shown. */
export class Refused extends Error {}

function refusal(status, error = "") {
  if (status === 429) return error ? error[0].toUpperCase() + error.slice(1) : "Too many wrong tokens; wait a minute.";
  if (error.includes("disabled")) return "The admin API is disabled: set ADMIN_TOKEN (a long random string) in timbre's environment, restart timbre, then sign in with it.";
  if (error.startsWith("wrong bearer token")) return "Wrong token: it must be exactly the value of ADMIN_TOKEN that timbre runs with. Check it and try again.";
  return error || "The admin API refused the token.";
}

/** One call with this token (signing in tries a token before keeping it). */
export async function request(path, token, init = {}) {
  const response = await fetch(path, { method: init.method ?? "GET", headers: { authorization: `Bearer ${token}` }, cache: "no-store" });
  const body = await response.json().catch(() => undefined);
  if (response.status === 401 || response.status === 429) throw new Refused(refusal(response.status, body?.error));
  if (!response.ok) throw new Error(body?.error ?? `timbre answered ${response.status}`);
  return body;
}

/** One call with the kept token. */
export function api(path, init) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? request(path, token, init) : Promise.reject(new Refused("Sign in with the admin token."));
}

/** The newest `count` items of a list route (`path` with its query, newest first), in pages of at most 500 (the API's most). */
export async function newest(path, count, cursor) {
  const items = [];
  while (items.length < count) {
    const limit = Math.min(500, count - items.length);
    const before = items.length ? `&before=${items.at(-1)[cursor]}` : "";
    const page = await api(`${path}&limit=${limit}${before}`);
    items.push(...page);
    if (page.length < limit) break;
  }
  return items;
}
