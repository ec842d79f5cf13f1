import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import { runtimeText } from "../../../src/runtime/messages.ts";
import { serviceRig, waitFor, type Service } from "../../helpers.ts";
import { parsePrometheusText, sampleValue } from "../../observability/prom-text.ts";
import { capturingLogger, newUser, Person } from "../../runtime/support.ts";
import { errorAnswer, FakeModelServer, textAnswer } from "./fake-model.ts";

const model = new FakeModelServer();
const rig = serviceRig();
const { emulator } = rig;
const API_KEY = "sk-test-errors-abcdefghijklmnop";
const ADMIN_TOKEN = "admin-token-for-llm-errors";
const log = capturingLogger();
let service: Service;

beforeAll(async () => {
  service = await rig.start(
    {
      AGENT: "llm",
      LLM_MODEL: "fake-model",
      LLM_BASE_URL: model.baseUrl,
      LLM_API_KEY: API_KEY,
      LLM_TIMEOUT_SECONDS: "0.5",
      ADMIN_TOKEN,
      SEND_RATE_PER_CHAT: "1000",
      SEND_RATE_GLOBAL: "1000",
    },
    { logger: log },
  );
});
afterAll(() => model.stop());
beforeEach(() => model.reset());

const FAILED = runtimeText("failed", "en");

interface AdminRun {
  id: number;
  chat_id: number;
  status: string;
  error: string | null;
}
async function failedRunOf(chatId: number): Promise<AdminRun> {
  return waitFor(async () => {
    const response = await fetch(`${service.url}/admin/runs?status=failed`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const runs = (await response.json()) as AdminRun[];
    return runs.find((run) => run.chat_id === chatId);
  }, `a failed run of chat ${chatId} in /admin/runs`);
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  return sampleValue(parsePrometheusText(text), name, labels) ?? 0;
}

/** The user says something, the model answers `answer` once: the run fails, the user gets one message, the error is in /admin/runs and the log. */
async function failsWith(answer: Parameters<FakeModelServer["answer"]>[0], name: string): Promise<string> {
  const person = new Person(emulator, newUser(name));
  model.reset();
  model.answer(answer);
  expect(await person.say("hello")).toBe(FAILED);
  const run = await failedRunOf(person.chatId);
  expect(model.requests).toHaveLength(1);
  expect(emulator.sentTo(person.chatId).map((message) => message.text)).toEqual([FAILED]);
  const logged = log.lines.find((line) => line.msg === "run failed: the agent threw" && line.run_id === run.id);
  expect(logged?.error).toBe(run.error!.replace(/^StepFailedError: /, ""));
  return run.error!;
}

test("a 400 fails the run at once: the user gets one message, the model's error is in /admin/runs and the log", async () => {
  const error = await failsWith(errorAnswer(400, "Invalid schema for function 'ask_user'"), "Bad");
  expect(error).toBe("StepFailedError: the model API answered 400: Invalid schema for function 'ask_user'");
});

test("a 401 fails at once, and a key the server echoes back is never shown or logged", async () => {
  const error = await failsWith(errorAnswer(401, `Incorrect API key provided: ${API_KEY}.`), "Unauthorised");
  expect(error).toBe("StepFailedError: the model API answered 401: Incorrect API key provided: [redacted].");
  expect(JSON.stringify(log.lines)).not.toContain(API_KEY);
});

test("a 404 (an unknown model) fails at once with the server's message", async () => {
  const error = await failsWith({ status: 404, body: { error: "model 'fake-model' not found, try pulling it first" } }, "Missing");
  expect(error).toBe("StepFailedError: the model API answered 404: model 'fake-model' not found, try pulling it first");
});

test("an answer that is not JSON is a clear error, not a crash", async () => {
  const error = await failsWith({ body: "<html>Bad gateway</html>" }, "Html");
  expect(error).toStartWith('StepFailedError: the model API\'s answer from http://127.0.0.1:');
  expect(error).toEndWith('cannot be used: the answer is not JSON (it starts "<html>Bad gateway</html>")');
});

test("JSON that is not a chat completion is a clear error naming what is wrong", async () => {
  const error = await failsWith({ body: { choices: [{ message: { content: 42 } }] } }, "Shape");
  expect(error).toContain("cannot be used: the answer is not a chat completion: /choices/0/message/content:");
  const none = await failsWith({ body: { choices: [] } }, "Empty");
  expect(none).toContain("cannot be used: the answer is not a chat completion: /choices:");
});

test("a call over LLM_TIMEOUT_SECONDS is aborted and fails the run", async () => {
  const before = await metric("timbre_llm_calls_total", { outcome: "timeout" });
  const error = await failsWith({ ...textAnswer("too late"), delayMs: 3_000 }, "Slow");
  expect(error).toBe(`StepFailedError: the model did not answer within LLM_TIMEOUT_SECONDS=0.5; the call to ${model.baseUrl}/chat/completions was aborted`);
  expect(await metric("timbre_llm_calls_total", { outcome: "timeout" })).toBe(before + 1);
});

test("calls and the tokens of usage are counted in /metrics", async () => {
  const before = {
    ok: await metric("timbre_llm_calls_total", { outcome: "ok" }),
    error: await metric("timbre_llm_calls_total", { outcome: "error" }),
    prompt: await metric("timbre_llm_tokens_total", { kind: "prompt" }),
    completion: await metric("timbre_llm_tokens_total", { kind: "completion" }),
  };
  const person = new Person(emulator, newUser("Counted"));
  model.answer(textAnswer("counted"));
  expect(await person.say("count me")).toBe("counted");
  await failsWith(errorAnswer(400, "nope"), "Counted error");
  expect(await metric("timbre_llm_calls_total", { outcome: "ok" })).toBe(before.ok + 1);
  expect(await metric("timbre_llm_calls_total", { outcome: "error" })).toBe(before.error + 1);
  // textAnswer reports 11 prompt and 7 completion tokens.
  expect(await metric("timbre_llm_tokens_total", { kind: "prompt" })).toBe(before.prompt + 11);
  expect(await metric("timbre_llm_tokens_total", { kind: "completion" })).toBe(before.completion + 7);
});
