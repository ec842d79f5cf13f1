/**
 * examples/survey.ts as a user runs it: copied into a folder, type-checked against `timbre types`,
 * and served through the emulator with short timings.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { agentTypes } from "../../src/cli/agent-types.generated.ts";
import { ROOT, serviceRig, type Service } from "../helpers.ts";
import { newUser, Person } from "../runtime/support.ts";
import { agentFolder, typeCheck } from "./modules-support.ts";

const folder = agentFolder("timbre-example-survey-");
folder.write("survey.ts", readFileSync(join(ROOT, "examples/survey.ts"), "utf8"));
// The example's own factory with test timings, the way a user would wrap it.
const bot = folder.write("bot.ts", 'import { survey } from "./survey.ts";\nexport default survey({ remindAfterSeconds: 3, followUpAfterSeconds: 1 });\n');
const rig = serviceRig();
let service: Service;
afterAll(() => folder.cleanup());

beforeAll(async () => {
  service = await rig.start({ AGENT: bot, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
});

test("examples/survey.ts type-checks against the timbre types output", () => {
  folder.write("timbre.d.ts", agentTypes);
  const checked = typeCheck(folder);
  expect(checked.output).toBe("");
  expect(checked.code).toBe(0);
});

test("survey: an unanswered question gets one reminder; a bad score is asked again; the answers are thanked", async () => {
  const person = new Person(rig.emulator, newUser("Rita"));
  expect(await person.say("hi")).toBe("How likely are you to recommend us, from 0 to 10?");
  // No answer for remindAfterSeconds: the one reminder.
  expect(await person.hear()).toBe("Just a reminder: How likely are you to recommend us, from 0 to 10?");
  expect(await person.say("eleven")).toBe("Please answer with a whole number from 0 to 10.");
  expect(await person.say("9")).toBe("What is the one thing we should improve?");
  expect(await person.say("faster delivery")).toBe("Thanks! Score 9, and we will work on: faster delivery. I will check back with you later.");
});

test("survey: after the follow-up delay (ctx.sleep) the bot comes back once, and the run ends done", async () => {
  const person = new Person(rig.emulator, newUser("Sam"));
  expect(await person.say("hi")).toBe("How likely are you to recommend us, from 0 to 10?");
  expect(await person.say("7")).toBe("What is the one thing we should improve?");
  expect(await person.say("the app")).toBe("Thanks! Score 7, and we will work on: the app. I will check back with you later.");
  expect(await person.hear()).toBe("Some time ago you asked us to improve: the app. Has it got better? (yes or no)");
  expect(await person.say("yes")).toBe("Glad to hear it. Thank you!");
  const runs = service.runtime.list({ limit: 100 }).filter((run) => run.chatId === person.chatId);
  expect(runs.map((run) => run.status)).toEqual(["done"]);
});
