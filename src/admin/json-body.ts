import { MAX_UPDATE_DEPTH, nestsDeeperThan } from "../ingest/json-depth.ts";
import { UnusableBody } from "./validation-message.ts";

/**
 * An Elysia onParse hook for routes whose bodies are JSON objects of named fields (the admin API,
 * the sandbox's): read as JSON whatever the Content-Type (`curl -d` sends a form type); an empty
 * body is no body. A 400 (PARSE) for anything else.
 */
export async function jsonObjectBody({ request }: { request: Request }): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === "") return undefined;
  const body = JSON.parse(text) as unknown;
  // Validation errors quote the value, and a very deep one overflows the stack (a 500); refused as unparsable (400).
  if (nestsDeeperThan(text, MAX_UPDATE_DEPTH)) throw new SyntaxError(`body nests arrays/objects more than ${MAX_UPDATE_DEPTH} levels deep`);
  // Elysia would read an array, a string or a number as {}.
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new UnusableBody(`the body must be a JSON object of named fields (see /swagger), not ${Array.isArray(body) ? "an array" : body === null ? "null" : `a ${typeof body}`}`);
  }
  return body;
}
