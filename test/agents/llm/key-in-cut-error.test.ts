// README "Errors": "`LLM_API_KEY` is sent only as `Authorization: Bearer ...` and is redacted from every
// log line and error", also from an error the server words as a long plain text, which timbre cuts:
// the key goes before the cut, so not even its first half shows.
import { afterAll, expect, test } from "bun:test";
import { runtimeText } from "../../../src/runtime/messages.ts";
import { crashRig, serviceEnv, waitFor, type SpawnedService } from "../../helpers.ts";
import { newUser, Person, readDb } from "../../runtime/support.ts";
import { FakeModelServer } from "./fake-model.ts";

const model = new FakeModelServer();
const { emulator, apiUrl, dbPath, spawn } = crashRig();
const API_KEY = "sk-audit-prefix-0123456789abcdefghijklmnopqrstuvwxyz";
let service: SpawnedService | undefined;
afterAll(async () => {
  await service?.terminate();
  model.stop();
});

test("a key echoed in a long plain-text error is not shown, not even its first half", async () => {
  service = await spawn(serviceEnv(emulator, apiUrl, dbPath, { AGENT: "llm", LLM_MODEL: "fake-model", LLM_BASE_URL: model.baseUrl, LLM_API_KEY: API_KEY, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }));
  const person = new Person(emulator, newUser("Echo"));
  // A proxy's plain-text 401 that quotes the key it refused, the key straddling character 300.
  const before = "Unauthorized: the gateway refused this request because the bearer token is not valid. ".repeat(3);
  const padding = "x".repeat(300 - before.length - 1 - 20);
  model.answer({ status: 401, headers: { "content-type": "text/plain" }, body: `${before}${padding} ${API_KEY} was refused` });
  expect(await person.say("hello")).toBe(runtimeText("failed", "en"));
  const [run] = await waitFor(() => {
    const rows = readDb<{ status: string; error: string | null }>(dbPath, "SELECT status, error FROM runs WHERE chat_id = ?", person.chatId);
    return rows[0]?.status === "failed" ? rows : undefined;
  }, "the run to fail");
  await waitFor(() => service!.output().includes('"msg":"run failed: the agent threw"'), "the failure to be logged");
  const prefix = API_KEY.slice(0, 20);
  expect(run!.error).toContain("the model API answered 401");
  expect(run!.error).not.toContain(prefix);
  expect(service.output()).not.toContain(prefix);
}, 60_000);
