import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import { turnLimitNotice } from "../../../src/agents/llm/agent.ts";
import type { HistoryMessage } from "../../../src/agents/llm/wire.ts";
import { serviceRig, waitFor, type Service } from "../../helpers.ts";
import { newUser, Person, readDb } from "../../runtime/support.ts";
import { FakeModelServer, textAnswer, toolCallAnswer } from "./fake-model.ts";

const model = new FakeModelServer();
const rig = serviceRig();
const { emulator } = rig;
const API_KEY = "sk-test-conversation-0123456789";
let service: Service;

beforeAll(async () => {
  service = await rig.start({
    AGENT: "llm",
    LLM_MODEL: "fake-model",
    LLM_BASE_URL: model.baseUrl,
    LLM_API_KEY: API_KEY,
    LLM_SYSTEM_PROMPT: "You are a test assistant.",
    LLM_MAX_TURNS: "3",
    LLM_HISTORY_MESSAGES: "6",
    SEND_RATE_PER_CHAT: "1000",
    SEND_RATE_GLOBAL: "1000",
  });
});
afterAll(() => model.stop());
beforeEach(() => model.reset());

const runsOf = (chatId: number) => readDb<{ status: string; error: string | null }>(service.config.databasePath, "SELECT status, error FROM runs WHERE chat_id = ? ORDER BY id", chatId);
const ended = (chatId: number, count = 1) => waitFor(() => runsOf(chatId).length >= count && runsOf(chatId).every((run) => run.status === "done" || run.status === "failed"), `${count} runs of chat ${chatId} to end`);
const sentTexts = (chatId: number) => emulator.sentTo(chatId).map((message) => message.text);

test("a text goes to the model with the system prompt, the model's name, the ask_user tool and the key; the final message is the reply", async () => {
  const person = new Person(emulator, newUser("Ana"));
  model.answer(textAnswer("Hello, Ana!"));
  expect(await person.say("hi")).toBe("Hello, Ana!");
  expect(model.requests).toHaveLength(1);
  const [request] = model.requests;
  expect(request!.path).toBe("/v1/chat/completions");
  expect(request!.authorization).toBe(`Bearer ${API_KEY}`);
  expect(request!.body.model).toBe("fake-model");
  expect(request!.body.messages).toEqual([
    { role: "system", content: "You are a test assistant." },
    { role: "user", content: "hi" },
  ]);
  expect(request!.body.tools).toEqual([
    expect.objectContaining({ type: "function", function: expect.objectContaining({ name: "ask_user", parameters: expect.objectContaining({ required: ["question"] }) }) }),
  ]);
  await ended(person.chatId);
  expect(runsOf(person.chatId)).toEqual([{ status: "done", error: null }]);
  const journal = readDb<{ kind: string; text: string }>(service.config.databasePath, "SELECT s.kind, s.text FROM run_steps s JOIN runs r ON r.id = s.run_id WHERE r.chat_id = ? ORDER BY s.seq", person.chatId);
  expect(journal).toEqual([
    { kind: "step", text: "model call 1" },
    { kind: "reply", text: "Hello, Ana!" },
    { kind: "remember", text: "remember" },
  ]);
});

test("ask_user asks the user; the answer goes back to the model as a tool message carrying the call's id", async () => {
  const person = new Person(emulator, newUser("Traveller"));
  model.answer(toolCallAnswer({ id: "call_where", name: "ask_user", args: { question: "Where do you want to go?" } }), textAnswer("Lisbon is lovely in May."));
  expect(await person.say("plan a trip")).toBe("Where do you want to go?");
  expect(emulator.sentTo(person.chatId).at(-1)!.params.reply_markup).toBeUndefined();
  expect(await person.say("Lisbon")).toBe("Lisbon is lovely in May.");
  expect(model.requests).toHaveLength(2);
  expect(model.requests[1]!.body.messages.slice(1)).toEqual([
    { role: "user", content: "plan a trip" },
    { role: "assistant", content: null, tool_calls: [{ id: "call_where", type: "function", function: { name: "ask_user", arguments: '{"question":"Where do you want to go?"}' } }] },
    { role: "tool", tool_call_id: "call_where", content: "Lisbon" },
  ]);
});

test("ask_user with choices shows them as buttons; a typed answer still answers", async () => {
  const person = new Person(emulator, newUser("Chooser"));
  model.answer(toolCallAnswer({ name: "ask_user", args: { question: "Which level?", choices: ["beginner", " advanced "] } }), textAnswer("Advanced it is."));
  expect(await person.say("train me")).toBe("Which level?");
  const markup = emulator.sentTo(person.chatId).at(-1)!.params.reply_markup as { inline_keyboard: { text: string }[][] };
  expect(markup.inline_keyboard.flat().map((button) => button.text)).toEqual(["beginner", "advanced"]);
  expect(await person.say("advanced")).toBe("Advanced it is.");
  expect(model.requests[1]!.body.messages.at(-1)).toEqual({ role: "tool", tool_call_id: "call_1", content: "advanced" });
});

test("several tool calls in one answer are handled in order, each answer in its own tool message", async () => {
  const person = new Person(emulator, newUser("Twice"));
  model.answer(
    toolCallAnswer({ id: "call_name", name: "ask_user", args: { question: "Your name?" } }, { id: "call_age", name: "ask_user", args: { question: "Your age?" } }),
    textAnswer("Thanks, Ana (30)."),
  );
  expect(await person.say("sign me up")).toBe("Your name?");
  expect(await person.say("Ana")).toBe("Your age?");
  expect(await person.say("30")).toBe("Thanks, Ana (30).");
  expect(model.requests).toHaveLength(2);
  expect(model.requests[1]!.body.messages.slice(-2)).toEqual([
    { role: "tool", tool_call_id: "call_name", content: "Ana" },
    { role: "tool", tool_call_id: "call_age", content: "30" },
  ]);
});

test("an unknown tool and bad arguments are reported back to the model as tool errors, and the run goes on", async () => {
  const person = new Person(emulator, newUser("Broken"));
  model.answer(
    toolCallAnswer(
      { id: "c1", name: "search_web", args: { q: "weather" } },
      { id: "c2", name: "ask_user", args: "{not json" },
      { id: "c3", name: "ask_user", args: { choices: ["a"] } },
      { id: "c4", name: "ask_user", args: { question: "Pick", choices: ["x".repeat(65)] } },
    ),
    textAnswer("Sorry, let me just answer: sunny."),
  );
  expect(await person.say("weather?")).toBe("Sorry, let me just answer: sunny.");
  const results = model.requests[1]!.body.messages.filter((message) => message.role === "tool");
  expect(results.map((message) => (message.role === "tool" ? message.tool_call_id : ""))).toEqual(["c1", "c2", "c3", "c4"]);
  expect(results[0]!.content).toStartWith('Error: there is no tool named "search_web"; the only tool is ask_user.');
  expect(results[1]!.content).toStartWith("Error: the arguments are not valid JSON");
  expect(results[2]!.content).toStartWith('Error: "question" must be a non-empty string');
  expect(results[3]!.content).toStartWith("Error: each choice must be a string of 1 to 64 characters");
  await ended(person.chatId);
  expect(runsOf(person.chatId)).toEqual([{ status: "done", error: null }]);
  expect(sentTexts(person.chatId)).toEqual(["Sorry, let me just answer: sunny."]);
});

test("a model that keeps calling tools is stopped after LLM_MAX_TURNS calls, and the user is told plainly", async () => {
  const person = new Person(emulator, newUser("Looper"));
  for (let i = 0; i < 4; i++) model.answer(toolCallAnswer({ name: "think_more", args: {} }));
  expect(await person.say("loop")).toBe(turnLimitNotice(3));
  await ended(person.chatId);
  expect(model.requests).toHaveLength(3);
  expect(model.unused).toBe(1);
  expect(runsOf(person.chatId)).toEqual([{ status: "done", error: null }]);
  expect(sentTexts(person.chatId)).toEqual([turnLimitNotice(3)]);
});

test("the history is remembered across runs and trimmed to LLM_HISTORY_MESSAGES without ever starting with a tool result", async () => {
  const person = new Person(emulator, newUser("Memory"));
  // Run 1: four messages (user, assistant calling ask_user, the tool result, the final answer).
  model.answer(toolCallAnswer({ id: "call_name", name: "ask_user", args: { question: "Your name?" } }), textAnswer("Nice to meet you, Ana."));
  expect(await person.say("hello")).toBe("Your name?");
  expect(await person.say("Ana")).toBe("Nice to meet you, Ana.");
  // Run 2 sees run 1 whole.
  model.answer(textAnswer("You are Ana."));
  expect(await person.say("who am I?")).toBe("You are Ana.");
  const run1: HistoryMessage[] = [
    { role: "user", content: "hello" },
    { role: "assistant", content: null, tool_calls: [{ id: "call_name", type: "function", function: { name: "ask_user", arguments: '{"question":"Your name?"}' } }] },
    { role: "tool", tool_call_id: "call_name", content: "Ana" },
    { role: "assistant", content: "Nice to meet you, Ana." },
  ];
  expect(model.requests[2]!.body.messages.slice(1)).toEqual([...run1, { role: "user", content: "who am I?" }]);
  // Run 3: history is run 1 and run 2, six messages, LLM_HISTORY_MESSAGES.
  model.answer(textAnswer("Still Ana."));
  expect(await person.say("and now?")).toBe("Still Ana.");
  const run2: HistoryMessage[] = [
    { role: "user", content: "who am I?" },
    { role: "assistant", content: "You are Ana." },
  ];
  expect(model.requests[3]!.body.messages.slice(1, -1)).toEqual([...run1, ...run2]);
  // Run 4: eight messages would be too many. The last six would start with the tool result
  // (a 400 from real servers); the call and its result go together, and the answer left without
  // its question goes too: the history starts at the user's "who am I?".
  model.answer(textAnswer("Yes."));
  expect(await person.say("sure?")).toBe("Yes.");
  expect(model.requests[4]!.body.messages.slice(1, -1)).toEqual([...run2, { role: "user", content: "and now?" }, { role: "assistant", content: "Still Ana." }]);
  await ended(person.chatId, 4);
  const [memory] = readDb<{ value: string }>(service.config.databasePath, "SELECT value FROM memories WHERE conversation = ?", `${person.chatId}`);
  expect(JSON.parse(memory!.value).messages).toHaveLength(6);
});

test("updates without text send nothing and call no model", async () => {
  const user = newUser("Photo");
  emulator.pushUpdate({ message: { message_id: 10, chat: { id: user.id, type: "private" }, from: user, date: 1, photo: [{ file_id: "p", width: 1, height: 1 }] } });
  emulator.pushUpdate({ edited_message: { message_id: 9, chat: { id: user.id, type: "private" }, from: user, date: 1, text: "edited" } });
  model.answer(textAnswer("Only this."));
  // The text is routed after both (one chat, update_id order), so by its reply they are handled.
  expect(await new Person(emulator, user).say("hi")).toBe("Only this.");
  expect(model.requests).toHaveLength(1);
  expect(model.requests[0]!.body.messages.at(-1)).toEqual({ role: "user", content: "hi" });
  expect(sentTexts(user.id)).toEqual(["Only this."]);
});
