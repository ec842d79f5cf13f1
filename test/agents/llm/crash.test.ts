import { afterAll, beforeEach, expect, test } from "bun:test";
import { crashRig, serviceEnv, waitFor, type SpawnedService } from "../../helpers.ts";
import { newUser, Person, readDb } from "../../runtime/support.ts";
import { errorAnswer, FakeModelServer, textAnswer, toolCallAnswer } from "./fake-model.ts";

const model = new FakeModelServer();
const { emulator, apiUrl, dbPath, spawn } = crashRig();
const API_KEY = "sk-test-crash-0123456789abcdef";
const env = serviceEnv(emulator, apiUrl, dbPath, {
  AGENT: "llm",
  LLM_MODEL: "fake-model",
  LLM_BASE_URL: model.baseUrl,
  LLM_API_KEY: API_KEY,
  SEND_RATE_PER_CHAT: "1000",
  SEND_RATE_GLOBAL: "1000",
});
const services: SpawnedService[] = [];
const start = async () => {
  const service = await spawn(env);
  services.push(service);
  return service;
};

afterAll(() => model.stop());
beforeEach(() => model.reset());

const unsent = () => readDb<{ n: number }>(dbPath, "SELECT count(*) AS n FROM outbox WHERE status != 'sent'")[0]!.n;
const waiting = (chatId: number) => readDb(dbPath, "SELECT id FROM runs WHERE chat_id = ? AND status = 'waiting'", chatId).length === 1;
const lastMessage = (index: number) => model.requests[index]!.body.messages.at(-1);

test("kill -9 while a run waits on ask_user, twice: after each restart the answer carries on, every finished model call was made once, no message came twice", async () => {
  const person = new Person(emulator, newUser("Crashy"));
  model.answer(
    toolCallAnswer({ id: "call_where", name: "ask_user", args: { question: "Where to?", choices: ["Lisbon", "Porto"] } }),
    errorAnswer(429, `Rate limit reached for key ${API_KEY}`, { "retry-after": "0" }),
    toolCallAnswer({ id: "call_days", name: "ask_user", args: { question: "How many days?" } }),
    textAnswer("Three days in Lisbon: Alfama, Belém, Sintra."),
  );

  const first = await start();
  expect(await person.say("plan a trip")).toBe("Where to?");
  await waitFor(() => unsent() === 0 && waiting(person.chatId), "the question to be sent and the run to wait");
  await first.kill9();

  const second = await start();
  // A waiting run is only its journal: the restart itself calls nothing.
  expect(model.requests).toHaveLength(1);
  expect(await person.say("Lisbon")).toBe("How many days?");
  await waitFor(() => unsent() === 0 && waiting(person.chatId), "the second question to be sent and the run to wait");
  await second.kill9();

  const third = await start();
  expect(await person.say("3")).toBe("Three days in Lisbon: Alfama, Belém, Sintra.");
  expect(await third.terminate()).toBe(0);

  // Calls 1 and 3 once each; call 2 once more after its 429 (the retry inside the step).
  expect(model.requests.map((_, i) => lastMessage(i))).toEqual([
    { role: "user", content: "plan a trip" },
    { role: "tool", tool_call_id: "call_where", content: "Lisbon" },
    { role: "tool", tool_call_id: "call_where", content: "Lisbon" },
    { role: "tool", tool_call_id: "call_days", content: "3" },
  ]);
  expect(model.unused).toBe(0);
  expect(emulator.sentTo(person.chatId).map((message) => message.text)).toEqual(["Where to?", "How many days?", "Three days in Lisbon: Alfama, Belém, Sintra."]);
  expect(readDb(dbPath, "SELECT status FROM runs WHERE chat_id = ?", person.chatId)).toEqual([{ status: "done" }]);
  for (const service of services) expect(service.output()).not.toContain(API_KEY);
  expect(services.some((service) => service.output().includes('"msg":"llm: model call failed; trying again"'))).toBe(true);
  expect(model.requests.every((request) => request.authorization === `Bearer ${API_KEY}`)).toBe(true);
}, 60_000);

test("kill -9 during a model call: the unfinished call is made again after the restart, and the user gets one answer", async () => {
  const person = new Person(emulator, newUser("Midcall"));
  model.answer({ ...textAnswer("never delivered"), delayMs: 30_000 }, textAnswer("answered after the restart"));
  const first = await start();
  emulator.sendText(person.user, "slow question");
  await waitFor(() => model.requests.length === 1, "the model call to be in flight");
  await first.kill9();

  await start();
  expect(await person.hear()).toBe("answered after the restart");
  expect(model.requests.map((_, i) => lastMessage(i))).toEqual([
    { role: "user", content: "slow question" },
    { role: "user", content: "slow question" },
  ]);
  expect(emulator.sentTo(person.chatId).map((message) => message.text)).toEqual(["answered after the restart"]);
}, 60_000);
