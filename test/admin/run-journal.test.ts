/** GET /admin/runs/{id}: a run, its trigger update and its whole journal, with the Telegram messages it led to. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { messagesOfEntries } from "../../src/admin/run-detail.ts";
import type { Agent } from "../../src/runtime/context.ts";
import type { StepRow } from "../../src/runtime/runs.ts";
import type { OutboxRow } from "../../src/telegram/outbox.ts";
import { connectWebhook, serviceEnv, startEmulator, startInProcess, tempDir, waitFor, type Service } from "../helpers.ts";

const ADMIN_TOKEN = "admin-token-for-journal-tests_0123456789";
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** Over 4096 characters on many lines: sent as three messages. */
const LONG_PLAN = Array.from({ length: 300 }, (_, i) => `Line ${i + 1}: ${"-".repeat(20)}`).join("\n");

// Outside the agent: each attempt after a backoff comes from a fresh execution of it.
let calls = 0;
const agent: Agent = async (ctx) => {
  if (ctx.text === "work") {
    const weather = await ctx.step(
      "look up the weather",
      () => {
        calls++;
        if (calls < 3) throw new Error(`weather service down (try ${calls})`);
        return { forecast: "sunny", calls };
      },
      { retries: 3, backoffSeconds: 0.01 },
    );
    try {
      await ctx.step("charge the card", () => Promise.reject(new Error("card declined")), { retries: 1, backoffSeconds: 0 });
    } catch {
      // the agent goes on without the payment
    }
    await ctx.remember({ goal: "run a 10k", weather });
    await ctx.sleep(0.05);
    const level = await ctx.ask("Your level?", { choices: ["beginner", "advanced"] });
    await ctx.reply(`${LONG_PLAN}\nlevel: ${level}`);
    return;
  }
  if (ctx.text === "wait") {
    await ctx.ask("What is your goal?");
    return;
  }
  if (ctx.text !== undefined) await ctx.reply(`echo: ${ctx.text}`);
};

type Message = { outbox_id: number; text: string; status: string; message_id: number | null; last_error: string | null };
type Entry = {
  seq: number;
  kind: string;
  text: string | null;
  name: string | null;
  state: string;
  result: unknown;
  error: string | null;
  attempts: number | null;
  choices: string[] | null;
  answer: string | null;
  answer_update_id: number | null;
  deadline_at: string | null;
  created_at: string;
  finished_at: string | null;
  messages: Message[];
};
type Detail = {
  id: number;
  conversation: string;
  chat_id: number;
  status: string;
  agent: string;
  agent_version: string | null;
  trigger_update_id: number;
  ended_at: string | null;
  pending_question: { seq: number; text: string } | null;
  trigger_update: { update_id: number; message?: { text?: string } };
  journal: Entry[];
  notices: Message[];
};

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
let service: Service;

beforeAll(async () => {
  service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { ADMIN_TOKEN, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }), { agent });
  await connectWebhook(emulator, service.url);
});

afterAll(async () => {
  await service.stop();
  emulator.stop();
  dir.cleanup();
});

const admin = (method: string, path: string) => fetch(`${service.url}${path}`, { method, headers: AUTH });
const detail = async (id: number) => (await (await admin("GET", `/admin/runs/${id}`)).json()) as Detail;
const runsOf = async (conversation: string) => (await (await admin("GET", `/admin/runs?conversation=${encodeURIComponent(conversation)}`)).json()) as Detail[];

describe("GET /admin/runs/{id}", () => {
  test("shows every kind of journal entry in order, with results, errors, attempts, deadlines, answers and the message ids they led to", async () => {
    const user = { id: 6001, first_name: "Jo" };
    const trigger = emulator.sendText(user, "work");
    const [listed] = await waitFor(async () => {
      const runs = await runsOf(String(user.id));
      return runs[0]?.pending_question ? runs : undefined;
    }, "the run to wait on its question");
    const waiting = await detail(listed!.id);

    expect(waiting).toMatchObject({ id: listed!.id, conversation: String(user.id), chat_id: user.id, status: "waiting", agent: "coach", trigger_update_id: trigger.update_id, ended_at: null });
    expect(waiting.agent_version?.length).toBeGreaterThan(0);
    expect(waiting.trigger_update).toEqual(trigger as Detail["trigger_update"]);
    expect(waiting.pending_question).toMatchObject({ seq: 4, text: "Your level?" });
    expect(waiting.journal.map((e) => [e.seq, e.kind, e.state])).toEqual([
      [0, "step", "done"],
      [1, "step", "failed"],
      [2, "remember", "done"],
      [3, "sleep", "done"],
      [4, "ask", "waiting"],
    ]);
    const [weather, card, remembered, slept, question] = waiting.journal as [Entry, Entry, Entry, Entry, Entry];
    expect(weather).toMatchObject({ name: "look up the weather", text: null, result: { forecast: "sunny", calls: 3 }, error: null, attempts: 3, messages: [] });
    expect(card).toMatchObject({ name: "charge the card", result: null, error: "card declined", attempts: 2 });
    expect(remembered).toMatchObject({ name: "remember", result: { goal: "run a 10k", weather: { forecast: "sunny", calls: 3 } } });
    expect(Date.parse(slept.finished_at!)).toBeGreaterThanOrEqual(Date.parse(slept.deadline_at!));
    expect(Date.parse(slept.deadline_at!) - Date.parse(slept.created_at)).toBe(50);
    expect(question).toMatchObject({ text: "Your level?", name: null, choices: ["beginner", "advanced"], answer: null, finished_at: null });
    expect(Date.parse(question.deadline_at!)).toBeGreaterThan(Date.now() + 3_600_000);
    const asked = await waitFor(() => emulator.sentTo(user.id).find((m) => m.text === "Your level?"), "the question to reach Telegram");
    const withId = await waitFor(async () => ((await detail(listed!.id)).journal[4]!.messages[0]?.message_id ? detail(listed!.id) : undefined), "the question's message id");
    expect(withId.journal[4]!.messages).toEqual([{ outbox_id: expect.any(Number), text: "Your level?", status: "sent", message_id: asked.message_id, last_error: null }]);

    const answer = emulator.sendText(user, "beginner");
    await waitFor(() => emulator.sentTo(user.id).length === 4, "the plan, in three messages");
    const done = await waitFor(async () => {
      const run = await detail(listed!.id);
      return run.status === "done" && run.journal[5]?.messages.every((m) => m.status === "sent") ? run : undefined;
    }, "the run to end with its plan sent");
    expect(done.pending_question).toBeNull();
    expect(done.ended_at).not.toBeNull();
    expect(done.journal[4]).toMatchObject({ state: "answered", answer: "beginner", answer_update_id: answer.update_id });
    expect(done.journal[4]!.finished_at).not.toBeNull();
    const plan = done.journal[5]!;
    expect(plan).toMatchObject({ seq: 5, kind: "reply", state: "done", text: `${LONG_PLAN}\nlevel: beginner` });
    // One reply, three Telegram messages: each with its own id, in order.
    const sent = emulator.sentTo(user.id).slice(1);
    expect(plan.messages.map((m) => m.message_id)).toEqual(sent.map((m) => m.message_id));
    expect(plan.messages.map((m) => m.text).join("\n")).toBe(plan.text!);
    expect(done.notices).toEqual([]);
  });

  test("a cancelled run: its question is cancelled and timbre's notice is listed with its message id", async () => {
    const user = { id: 6002, first_name: "Ki" };
    emulator.sendText(user, "wait");
    const [run] = await waitFor(async () => ((await runsOf(String(user.id)))[0]?.status === "waiting" ? runsOf(String(user.id)) : undefined), "the run to wait");
    expect((await admin("POST", `/admin/runs/${run!.id}/cancel`)).status).toBe(200);
    await waitFor(() => emulator.sentTo(user.id).length === 2, "the cancellation notice");
    const cancelled = await waitFor(async () => {
      const d = await detail(run!.id);
      return d.notices[0]?.status === "sent" ? d : undefined;
    }, "the notice to be sent");
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.journal.map((e) => [e.kind, e.state, e.text])).toEqual([["ask", "cancelled", "What is your goal?"]]);
    expect(cancelled.journal[0]!.messages.map((m) => m.message_id)).toEqual([emulator.sentTo(user.id)[0]!.message_id]);
    const notice = emulator.sentTo(user.id)[1]!;
    expect(cancelled.notices).toEqual([{ outbox_id: expect.any(Number), text: notice.text, status: "sent", message_id: notice.message_id, last_error: null }]);
  });

  test("a reply Telegram refused shows as failed with its error and no message id", async () => {
    const user = { id: 6003, first_name: "Lu" };
    emulator.faults.blockedChats.add(user.id);
    try {
      emulator.sendText(user, "anyone?");
      const [run] = await waitFor(async () => {
        const runs = await runsOf(String(user.id));
        return runs[0] && (await detail(runs[0].id)).journal[0]?.messages[0]?.status === "failed" ? runs : undefined;
      }, "the reply to fail");
      const failed = await detail(run!.id);
      expect(failed.journal[0]).toMatchObject({ kind: "reply", text: "echo: anyone?" });
      expect(failed.journal[0]!.messages[0]).toMatchObject({ status: "failed", message_id: null });
      expect(failed.journal[0]!.messages[0]!.last_error).toContain("blocked");
    } finally {
      emulator.faults.blockedChats.delete(user.id);
    }
  });

  test("404 for an unknown id, 400 for an id that is not a whole number", async () => {
    const unknown = await admin("GET", "/admin/runs/987654");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ ok: false, error: "no run with id 987654; see GET /admin/runs" });
    for (const id of ["abc", "-1", "1.5", "1e400"]) {
      const response = await admin("GET", `/admin/runs/${id}`);
      expect(response.status, id).toBe(400);
      expect(((await response.json()) as { error: string }).error, id).toContain("id must be a whole number");
    }
  });
});

describe("GET /admin/runs?conversation=", () => {
  test("lists only that conversation's runs; a bad value is 400", async () => {
    const a = { id: 6101, first_name: "A" };
    const b = { id: 6102, first_name: "B" };
    emulator.sendText(a, "one");
    emulator.sendText(b, "two");
    emulator.sendText(a, "three");
    await waitFor(async () => (await runsOf(String(a.id))).length === 2 && (await runsOf(String(b.id))).length === 1, "three runs in two conversations");
    const ofA = await runsOf(String(a.id));
    expect(ofA.every((run) => run.conversation === String(a.id))).toBe(true);
    expect(ofA[0]!.id).toBeGreaterThan(ofA[1]!.id);
    expect(await runsOf("no-such-conversation")).toEqual([]);
    for (const bad of ["", "x".repeat(65)]) {
      const response = await admin("GET", `/admin/runs?conversation=${bad}`);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toContain("conversation must be");
    }
  });
});

describe("matching outbox rows to journal entries", () => {
  const step = (seq: number, kind: StepRow["kind"], text: string) => ({ runId: 1, seq, kind, text }) as StepRow;
  const row = (id: number, text: string) => ({ id, text }) as OutboxRow;

  test("rows go to the replies and questions in order, by text; a pruned row matches nothing; the rest are notices", () => {
    const steps = [step(0, "ask", "same"), step(1, "step", "call"), step(2, "reply", "same"), step(3, "reply", "gone")];
    const { byEntry, notices } = messagesOfEntries(steps, [row(10, "same"), row(11, "same"), row(12, "Cancelled.")]);
    expect(byEntry.get(0)!.map((r) => r.id)).toEqual([10]);
    expect(byEntry.get(2)!.map((r) => r.id)).toEqual([11]);
    expect(byEntry.get(3)).toEqual([]);
    expect(byEntry.has(1)).toBe(false);
    expect(notices.map((r) => r.id)).toEqual([12]);
  });
});
