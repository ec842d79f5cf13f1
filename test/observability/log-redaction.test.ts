// A secret a message already quotes JSON-escaped (an exception quoting a JSON request body) is
// escaped a second time in the log line: that form is redacted too (it was left readable).
import { expect, test } from "bun:test";
import { createLogger } from "../../src/observability/log.ts";

const BOT_TOKEN = "5550001:AuditTokenSecretPart_abcXYZ";

function capture(secrets: string[]) {
  const lines: string[] = [];
  const log = createLogger("debug", secrets, (line) => lines.push(line));
  return { log, lines };
}

test("an ADMIN_TOKEN inside an exception message that quotes it JSON-escaped (e.g. a JSON request body) is redacted", () => {
  const adminToken = 'admin"Tok\\en+4f9c2e7d1b';
  const { log, lines } = capture([BOT_TOKEN, "a-webhook-secret-0123456789", adminToken]);
  // An agent's exception that carries the token JSON-escaped: the message text holds `admin\"Tok\\en+...`.
  const error = new Error(`request failed: ${JSON.stringify({ authorization: adminToken })}`);
  log.error("run failed: the agent threw", { run_id: 2, error: error.message, error_name: error.name });
  const text = lines.join("");
  // What a person reading the log sees once the line is parsed: the token, JSON-escaped as the contract names.
  const parsed = lines.map((l) => JSON.parse(l) as { error: string });
  expect(parsed[0]!.error).not.toContain(JSON.stringify(adminToken).slice(1, -1));
  expect(text).toContain("[redacted]");
});
