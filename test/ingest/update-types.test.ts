/** The one list of update types is the Bot API's, as the installed @gramio/types declares it. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { UPDATE_TYPES } from "../../src/ingest/update-types.ts";
import { ROOT } from "../helpers.ts";

/** The optional fields of `interface TelegramUpdate` in @gramio/types' declarations, in order. */
function declaredUpdateTypes(): string[] {
  const source = readFileSync(join(ROOT, "node_modules/@gramio/types/out/objects.d.ts"), "utf8");
  const body = /export interface TelegramUpdate \{([\s\S]*?)\n\}/.exec(source)?.[1];
  if (!body) throw new Error("interface TelegramUpdate not found in @gramio/types");
  return [...body.matchAll(/^\s{4}(\w+)\?:/gm)].map((match) => match[1]!);
}

test("UPDATE_TYPES is exactly the Update object's fields in @gramio/types, in the Bot API's order", () => {
  const declared = declaredUpdateTypes();
  expect(declared.length).toBeGreaterThan(20);
  expect([...UPDATE_TYPES] as string[]).toEqual(declared);
});
