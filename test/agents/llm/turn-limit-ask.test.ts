/**
 * LLM_MAX_TURNS: when the last allowed model call asks the user something (ask_user), the answer
 * could never reach the model, so the run tells the user the limit was reached and ends at once
 * (it used to ask, wait up to ASK_TIMEOUT_SECONDS, throw the answer away, then say so).
 */
import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import { turnLimitNotice } from "../../../src/agents/llm/agent.ts";
import { serviceRig, waitFor, type Service } from "../../helpers.ts";
import { newUser, Person, readDb } from "../../runtime/support.ts";
import { FakeModelServer, toolCallAnswer } from "./fake-model.ts";

const model = new FakeModelServer();
const rig = serviceRig();
const { emulator } = rig;
let service: Service;

beforeAll(async () => {
  service = await rig.start({
    AGENT: "llm",
    LLM_MODEL: "fake-model",
    LLM_BASE_URL: model.baseUrl,
    LLM_MAX_TURNS: "1",
    SEND_RATE_PER_CHAT: "1000",
    SEND_RATE_GLOBAL: "1000",
  });
});
afterAll(() => model.stop());
beforeEach(() => model.reset());

const runsOf = (chatId: number) => readDb<{ status: string }>(service.config.databasePath, "SELECT status FROM runs WHERE chat_id = ? ORDER BY id", chatId);

test("LLM_MAX_TURNS=1 and the one call asks the user: the user is told the limit was reached, not asked a question whose answer goes nowhere", async () => {
  const person = new Person(emulator, newUser("LastTurn"));
  model.answer(toolCallAnswer({ id: "call_q", name: "ask_user", args: { question: "Which city?" } }));
  const first = await person.say("plan a trip");
  // The run has made its one model call: it should end now with the plain notice.
  expect(first).toBe(turnLimitNotice(1));
  await waitFor(() => runsOf(person.chatId)[0]?.status === "done", "the run to end");
  expect(model.requests).toHaveLength(1);
  expect(emulator.sentTo(person.chatId).map((message) => message.text)).toEqual([turnLimitNotice(1)]);
});
