/**
 * README, Sandbox, "The hint": "The hint of an empty chat says what the running agent does: the
 * coach's questions for the coach, "the echo agent repeats each message" for `AGENT=echo`, the
 * model for `AGENT=llm`, and your module's file name for an agent module."
 *
 * With AGENT=llm and LLM_MODEL=llama3.2 the empty chat's hint should name the model (as it names
 * an agent module's file). The page only ever learns the agent's name ("llm") from the snapshot
 * (event-stream.ts sent `agent` only), so page-strings.js printed the literal placeholder
 * "the configured model (LLM_MODEL)" and never the model that answers.
 */
import { expect, test } from "bun:test";
import { hasChromium } from "./launch.ts";
import { openChatWithNewUser, sandboxWithPage } from "./sandbox-support.ts";

// LLM_BASE_URL is never called: the test only opens an empty chat.
const sandbox = sandboxWithPage({ AGENT: "llm", LLM_MODEL: "llama3.2", LLM_BASE_URL: "http://127.0.0.1:9/v1" });

test.skipIf(!hasChromium)("with AGENT=llm the empty chat's hint names the model that answers", async () => {
  await openChatWithNewUser(sandbox, "Ana");
  const hint = (await sandbox.page.locator("#messages .hint").textContent())!;
  expect(hint).toContain("llm agent");
  expect(hint).toContain("llama3.2");
}, 60_000);
