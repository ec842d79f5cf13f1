import { beforeAll, expect, test } from "bun:test";
import { coachText } from "../../src/agents/coach.ts";
import type { EmulatedUser } from "../../src/sandbox/emulator.ts";
import { serviceRig, waitFor, type Service } from "../helpers.ts";
import { newUser, Person } from "../runtime/support.ts";

const rig = serviceRig();
const { emulator } = rig;
let service: Service;

beforeAll(async () => {
  service = await rig.start({ AGENT: "coach", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "10000" });
});

/** Lines of the plan that start with the day label, as the user sees them. */
function dayLines(plan: string, label: "Day " | "Día "): string[] {
  return plan.split("\n").filter((line) => line.startsWith(label));
}

/** Waits until these chats have nothing left to do: their runs ended and the outbox is empty. */
async function settled(...chatIds: number[]): Promise<void> {
  await waitFor(() => {
    const active = service.runtime.list({ limit: 10_000 }).filter((run) => chatIds.includes(run.chatId) && (run.status === "running" || run.status === "waiting"));
    const outbox = service.outbox.counts();
    return active.length === 0 && outbox.queued + outbox.sending === 0;
  }, `the runs of chats ${chatIds.join(", ")} to end and the outbox to drain`);
  await service.outbox.whenIdle();
}

interface Script {
  user: EmulatedUser;
  goal: string;
  days: string[];
  levels: string[];
  expectedDays: number;
}

/** Plays one user's conversation like a person, checking each message; returns the plan. */
async function play(script: Script): Promise<string> {
  const person = new Person(emulator, script.user);
  const t = coachText[script.user.language_code!.startsWith("es") ? "es" : "en"];
  expect(await person.say("hi")).toBe(t.goal);
  expect(await person.say(script.goal)).toBe(t.days);
  let reply = "";
  for (const [i, days] of script.days.entries()) {
    reply = await person.say(days);
    expect(reply).toBe(i < script.days.length - 1 ? t.daysAgain : t.level);
  }
  for (const [i, level] of script.levels.entries()) {
    reply = await person.say(level);
    if (i < script.levels.length - 1) expect(reply).toBe(t.levelAgain);
  }
  return reply;
}

test("12 users in parallel, half in Spanish: exact questions, exact counts, one plan each, nothing leaked", async () => {
  const goals = ["run a 10k ✓", "Get STRONGER  for climbing", "lose 5 kg", "feel better", "swim 2 km without stopping", "do 10 pull-ups"];
  const objetivos = ["correr una maratón 🏃", "ganar fuerza para escalar", "perder peso antes del verano", "estar en forma", "nadar 1 km", "hacer 5 dominadas"];
  const scripts: Script[] = Array.from({ length: 12 }, (_, i) => {
    const spanish = i % 2 === 1;
    const user = newUser(spanish ? `Lucía${i}` : `Sam${i}`, spanish ? (i % 4 === 1 ? "es" : "es-MX") : i % 4 === 0 ? "en" : "de");
    const days = (i % 7) + 1;
    const level = spanish ? ["principiante", "Intermedio", " AVANZADO "][i % 3]! : ["beginner", "Intermediate", " ADVANCED "][i % 3]!;
    // A third re-asks the days once, another third the level once.
    return {
      user,
      goal: spanish ? objetivos[Math.floor(i / 2)]! : goals[Math.floor(i / 2)]!,
      days: i % 3 === 0 ? ["many", spanish ? `${days} días` : `${days} days`] : [`${days}`],
      levels: i % 3 === 1 ? ["pro", level] : [level],
      expectedDays: days,
    };
  });

  const plans = await Promise.all(scripts.map(play));
  await settled(...scripts.map((s) => s.user.id));

  for (const [i, script] of scripts.entries()) {
    const spanish = script.user.language_code!.startsWith("es");
    const sent = emulator.sentTo(script.user.id);
    const reasks = script.days.length - 1 + script.levels.length - 1;
    expect(sent.length).toBe(4 + reasks);
    const plan = plans[i]!;
    expect(sent.at(-1)!.text).toBe(plan);
    expect(plan).toContain(script.goal);
    expect(dayLines(plan, spanish ? "Día " : "Day ")).toHaveLength(script.expectedDays);
    expect(dayLines(plan, spanish ? "Day " : "Día ")).toHaveLength(0);
    // Nothing from another conversation: no other user's goal in this chat.
    for (const other of scripts) if (other !== script) expect(sent.some((m) => m.text.includes(other.goal))).toBe(false);
  }
  // One run per user, all done.
  const runs = service.runtime.list({ limit: 100 }).filter((run) => scripts.some((s) => s.user.id === run.chatId));
  expect(runs).toHaveLength(12);
  expect(runs.every((run) => run.status === "done")).toBe(true);
}, 30_000);

test("days: 3.5, 0, -2, 10 days and three are asked again; 3 days is accepted", async () => {
  const user = newUser("Rea");
  const person = new Person(emulator, user);
  const t = coachText.en;
  expect(await person.say("make me a plan")).toBe(t.goal);
  expect(await person.say("  run a half marathon  ")).toBe(t.days);
  for (const bad of ["3.5", "0", "-2", "10 days", "three"]) expect(await person.say(bad)).toBe(t.daysAgain);
  expect(await person.say("3 days")).toBe(t.level);
  const plan = await person.say("beginner");
  expect(plan).toContain("run a half marathon");
  expect(plan).not.toContain("  run a half marathon");
  expect(dayLines(plan, "Day ")).toEqual([expect.stringMatching(/^Day 1: /), expect.stringMatching(/^Day 2: /), expect.stringMatching(/^Day 3: /)]);
  await settled(user.id);
  expect(emulator.sentTo(user.id)).toHaveLength(4 + 5);
});

test("Spanish: 3 días is accepted and the level is accepted in either language, any case, trimmed", async () => {
  const t = coachText.es;
  const ana = new Person(emulator, newUser("Ana", "es"));
  expect(await ana.say("hola")).toBe(t.goal);
  expect(await ana.say("correr 5 km")).toBe(t.days);
  expect(await ana.say("3 días")).toBe(t.level);
  const plan = await ana.say("  Intermediate ");
  expect(plan).toContain("correr 5 km");
  expect(dayLines(plan, "Día ")).toHaveLength(3);
  expect(plan).toContain("intermedio");

  // An English speaker answering in Spanish, and a level that is not one is asked again.
  const en = coachText.en;
  const bob = new Person(emulator, newUser("Bob", "en-GB"));
  expect(await bob.say("hello")).toBe(en.goal);
  expect(await bob.say("get fit")).toBe(en.days);
  expect(await bob.say("7")).toBe(en.level);
  expect(await bob.say("expert")).toBe(en.levelAgain);
  expect(await bob.say("I am a beginner")).toBe(en.levelAgain);
  const bobPlan = await bob.say("AVANZADO!");
  expect(dayLines(bobPlan, "Day ")).toHaveLength(7);
  expect(bobPlan).toContain("(advanced)");
});

test("/start greets with one message: no question, no run; mid-conversation it leaves the question pending", async () => {
  const user = newUser("Sol", "es");
  const person = new Person(emulator, user);
  const before = service.runtime.counts();
  expect(await person.say("/start")).toBe(coachText.es.welcome);
  await settled(user.id);
  expect(emulator.sentTo(user.id)).toHaveLength(1);
  expect(service.runtime.counts()).toEqual(before);

  // While a question waits, /start greets again and the question is still the one to answer.
  expect(await person.say("empezar")).toBe(coachText.es.goal);
  expect(await person.say("/start")).toBe(coachText.es.welcome);
  expect(await person.say("ganar músculo")).toBe(coachText.es.days);
  expect(await person.say("2")).toBe(coachText.es.level);
  const plan = await person.say("principiante");
  expect(plan).toContain("ganar músculo");
  expect(dayLines(plan, "Día ")).toHaveLength(2);
  await settled(user.id);
  expect(emulator.sentTo(user.id)).toHaveLength(1 + 1 + 1 + 3);
});

test("updates without text start nothing and send nothing", async () => {
  const user = newUser("Nia");
  const edited = emulator.pushUpdate({ edited_message: { message_id: 9, chat: { id: user.id, type: "private" }, from: user, date: 1, text: "edited" } });
  const photo = emulator.pushUpdate({ message: { message_id: 10, chat: { id: user.id, type: "private" }, from: user, date: 1, photo: [{ file_id: "p", width: 1, height: 1 }] } });
  await waitFor(() => [edited, photo].every((u) => service.inbox.row(u.update_id)?.status === "done"), "both updates to be done");
  await settled(user.id);
  expect(emulator.sentTo(user.id)).toHaveLength(0);
  // The conversation is free: the next text starts the coach.
  expect(await new Person(emulator, user).say("hi")).toBe(coachText.en.goal);
});
