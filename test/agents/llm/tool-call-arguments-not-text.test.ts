/**
 * README (An LLM bot in one command): "a call to an unknown tool or with bad arguments goes back
 * to the model as a tool error (`Error: ...`) so it can correct itself."
 *
 * A tool call whose `arguments` is JSON null or an array (not the string the API defines), or one
 * with a null id and no function name, is such a call: the model hears of it and goes on. timbre
 * used to refuse the whole completion, fail the run and tell the user something went wrong.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import { serviceRig, waitFor, type Service } from "../../helpers.ts";
import { newUser, Person, readDb } from "../../runtime/support.ts";
import { FakeModelServer, textAnswer, toolCallAnswer, type ScriptedAnswer } from "./fake-model.ts";

const model = new FakeModelServer();
const rig = serviceRig();
const { emulator } = rig;
let service: Service;

beforeAll(async () => {
  service = await rig.start({
    AGENT: "llm",
    LLM_MODEL: "fake-model",
    LLM_BASE_URL: model.baseUrl,
    LLM_MAX_TURNS: "3",
    SEND_RATE_PER_CHAT: "1000",
    SEND_RATE_GLOBAL: "1000",
  });
});
afterAll(() => model.stop());
beforeEach(() => model.reset());

const runsOf = (chatId: number) => readDb<{ status: string; error: string | null }>(service.config.databasePath, "SELECT status, error FROM runs WHERE chat_id = ? ORDER BY id", chatId);

/** toolCallAnswer's completion with its one tool call exactly as given (fields the API types otherwise, as some servers send them). */
function answerCalling(call: Record<string, unknown>): ScriptedAnswer {
  const answer = toolCallAnswer({ name: "ask_user", args: {} });
  (answer.body as { choices: { message: { tool_calls: unknown[] } }[] }).choices[0]!.message.tool_calls = [call];
  return answer;
}

/** A completion calling ask_user with `arguments` as given (not a JSON string). */
const callWithArguments = (args: unknown) => answerCalling({ id: "call_bad", type: "function", function: { name: "ask_user", arguments: args } });

for (const [what, args] of [
  ["null", null],
  ["a JSON array", ["Where to?"]],
] as const) {
  test(`a tool call whose arguments are ${what} goes back to the model as a tool error, and the run goes on`, async () => {
    const person = new Person(emulator, newUser(`Args ${what}`));
    model.answer(callWithArguments(args), textAnswer("Let me just answer: Lisbon."));
    const said = await person.say("plan a trip");
    await waitFor(() => runsOf(person.chatId).length === 1 && runsOf(person.chatId)[0]!.status !== "running", "the run to end");
    expect({ said, runs: runsOf(person.chatId), calls: model.requests.length }).toEqual({
      said: "Let me just answer: Lisbon.",
      runs: [{ status: "done", error: null }],
      calls: 2,
    });
    const toolResult = model.requests[1]!.body.messages.at(-1)!;
    expect(toolResult).toMatchObject({ role: "tool", tool_call_id: "call_bad" });
    expect(String((toolResult as { content: string }).content)).toStartWith("Error:");
  });
}

test("a tool call with a null id and no function name goes back to the model as a call to no such tool", async () => {
  const person = new Person(emulator, newUser("Nameless"));
  const call = answerCalling({ id: null, type: "function", function: { arguments: "{}" } });
  model.answer(call, textAnswer("Fine."));
  expect(await person.say("hello")).toBe("Fine.");
  const toolResult = model.requests[1]!.body.messages.at(-1)! as { role: string; tool_call_id: string; content: string };
  expect(toolResult.content).toStartWith("Error: there is no tool named");

  // The next run's id-less call gets an id of its own: the history holds both calls.
  model.answer(call, textAnswer("Fine again."));
  expect(await person.say("hello again")).toBe("Fine again.");
  const history = model.requests[3]!.body.messages as { role: string; tool_call_id?: string }[];
  const ids = history.filter((m) => m.role === "tool").map((m) => m.tool_call_id);
  expect(ids.length).toBe(2);
  expect(new Set(ids).size).toBe(2);
});
