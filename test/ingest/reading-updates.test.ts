/**
 * Updates read as the Bot API means them, end to end: real-shaped updates go through the
 * emulator's webhook delivery (or are posted to the webhook), and the test reads what the bot
 * sent back, as the emulator recorded it.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { coachText } from "../../src/agents/coach.ts";
import type { Agent } from "../../src/runtime/context.ts";
import type { BotApiEmulator, EmulatedChat, EmulatedUser } from "../../src/sandbox/emulator.ts";
import { connectWebhook, postUpdate, serviceEnv, startEmulator, startInProcess, tempDir, waitFor, type Service } from "../helpers.ts";
import { botMessage, capturingLogger, gate, newUser } from "../runtime/support.ts";

const LIFTED = { SEND_RATE_PER_CHAT: "1000", SEND_RATE_PER_GROUP: "1000", SEND_RATE_GLOBAL: "10000" };
const DATE = 1_717_000_000;
const group: EmulatedChat = { id: -1001000000001, type: "supergroup", title: "Runners" };
const forum: EmulatedChat = { id: -1001000000002, type: "supergroup", title: "Club", is_forum: true };
const channelA: EmulatedChat = { id: -1001000000010, type: "channel", title: "Alpha news" };
const channelB: EmulatedChat = { id: -1001000000011, type: "channel", title: "Beta news" };
const directMessages: EmulatedChat = { id: -1001000000020, type: "supergroup", title: "Alpha news (messages)", is_direct_messages: true };
const t = coachText.en;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh emulator as Telegram and a service on it with `agent` (a built-in's name or a function). */
async function setup(agent: "coach" | "echo" | Agent) {
  const { emulator, apiUrl } = startEmulator();
  const dir = tempDir();
  const log = capturingLogger();
  cleanups.push(() => dir.cleanup(), () => emulator.stop());
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { ...LIFTED, ...(typeof agent === "string" ? { AGENT: agent } : {}) });
  const service = await startInProcess(env, { logger: log, ...(typeof agent === "function" ? { agent } : {}) });
  cleanups.push(() => service.stop());
  await connectWebhook(emulator, service.url);
  return { emulator, service, log };
}

/** Waits until the stored update is handled (done) and whatever it sent has gone out. */
async function handled(service: Service, updateId: number): Promise<void> {
  await waitFor(() => service.inbox.row(updateId)?.status === "done", `update ${updateId} to be done`);
  await service.outbox.whenIdle();
}

function texts(emulator: BotApiEmulator, chatId: number): string[] {
  return emulator.sentTo(chatId).map((m) => m.text);
}

function runsOf(service: Service, chatId: number) {
  return service.runtime.list({ limit: 100 }).filter((run) => run.chatId === chatId);
}

/** The update's type, as a test agent names it in its replies. */
const kindOf = (update: Record<string, unknown>) => Object.keys(update).find((key) => key !== "update_id" && typeof update[key] === "object");

describe("an update's type and chat", () => {
  test("a top-level field before `message` is kept but not taken for the type: the text is echoed in its chat", async () => {
    const { emulator, service } = await setup("echo");
    const ana = newUser("Ana");
    const update = {
      update_id: 41,
      x_meta: { trace_id: "abc-123", received_by: "edge-7" },
      message: { message_id: 1, from: { is_bot: false, ...ana }, chat: { id: ana.id, type: "private", first_name: ana.first_name }, date: DATE, text: "hello there" },
    };
    expect((await postUpdate(service.url, update)).status).toBe(200);
    await handled(service, 41);
    expect(service.inbox.row(41)).toMatchObject({ kind: "message", chatId: ana.id });
    expect(texts(emulator, ana.id)).toEqual(["hello there"]);
    expect(emulator.callsOf("sendMessage").filter((c) => Number(c.params.chat_id) !== ana.id)).toEqual([]);
  });

  test("an update without a usable chat is stored and done without a run: no reply, error or notice goes to chat 0 or a made-up chat", async () => {
    // Would reply, then fail (a failure notice), for any update it got.
    const noisy: Agent = async (ctx) => {
      await ctx.reply(`seen ${kindOf(ctx.update)}`);
      throw new Error("failing on purpose, to send the failure notice");
    };
    const { emulator, service } = await setup(noisy);
    const bo = { is_bot: false, ...newUser("Bo") };
    const message = (chat: unknown) => ({ message_id: 7, from: bo, ...(chat === undefined ? {} : { chat }), date: DATE, text: "are you there?" });
    const broken = [
      { message: message({ id: null, type: "private" }) },
      { message: message({ id: "word", type: "private" }) },
      { message: message(undefined) },
      { message: message({ id: 0, type: "private" }) },
      { message: message({ id: 12.5, type: "group" }) },
      { edited_message: { ...message({ id: "-100", type: "supergroup" }), edit_date: DATE } },
      { poll: { id: "p1", question: "Best day?", options: [{ text: "Mon", voter_count: 1 }], total_voter_count: 1, is_closed: true, is_anonymous: true, type: "regular", allows_multiple_answers: false } },
      // A tap on a message sent in inline mode: no chat; still answered, so its button stops spinning.
      { callback_query: { id: "inline-tap-1", from: bo, inline_message_id: "AAAAinline", chat_instance: "-5", data: "x" } },
    ];
    const ids = broken.map((update) => emulator.pushUpdate(update).update_id);
    for (const id of ids) await handled(service, id);
    expect(ids.map((id) => service.inbox.row(id)?.status)).toEqual(ids.map(() => "done"));
    expect(service.runtime.list({ limit: 100 })).toEqual([]);
    expect(emulator.callsOf("sendMessage")).toEqual([]);
    await waitFor(() => emulator.callsOf("answerCallbackQuery").length === 1, "the inline tap to be answered");
    expect(emulator.callsOf("answerCallbackQuery")[0]!).toMatchObject({ params: { callback_query_id: "inline-tap-1" }, status: 200 });

    // The same agent with a usable chat does send: the silence above is timbre's, not the agent's.
    const control = emulator.sendText(bo, "are you there?").update_id;
    await waitFor(() => service.inbox.row(control)?.status === "failed", "the control update to fail");
    await waitFor(() => emulator.sentTo(bo.id).length === 2, "the control's reply and failure notice");
    expect(emulator.callsOf("sendMessage").map((c) => Number(c.params.chat_id))).toEqual([bo.id, bo.id]);
  });

  test("a join request is answered in the applicant's private chat (user_chat_id), not in the group", async () => {
    const replier: Agent = async (ctx) => ctx.reply(`seen ${kindOf(ctx.update)}`);
    const { emulator, service } = await setup(replier);
    const cy = { is_bot: false, ...newUser("Cy") };
    const { update_id } = emulator.pushUpdate({ chat_join_request: { chat: group, from: cy, user_chat_id: cy.id, date: DATE, bio: "runner" } });
    await handled(service, update_id);
    expect(texts(emulator, cy.id)).toEqual(["seen chat_join_request"]);
    expect(emulator.sentTo(group.id)).toEqual([]);
  });
});

describe("commands addressed to another bot", () => {
  test("/cancel@other_bot and /start@other_bot start, cancel and answer nothing; timbre's own username matches in any case", async () => {
    const { emulator, service } = await setup("coach");
    await waitFor(() => emulator.callsOf("getMe").some((call) => call.status === 200), "timbre to ask getMe who it is");
    const ann = newUser("Ann");
    let heard = 0;
    const say = async (text: string) => {
      emulator.sendText(ann, text, group);
      return (await botMessage(emulator, group.id, ++heard)).text;
    };
    /** Says something that must get no answer: waits until it is handled. */
    const sayUnanswered = async (text: string) => handled(service, emulator.sendText(ann, text, group).update_id);

    expect(await say("plan for me")).toBe(t.goal);
    await sayUnanswered("/cancel@other_bot");
    await sayUnanswered("/start@other_bot");
    await sayUnanswered("/cancel@timbre_sandbox_bot_2");
    // The run was not cancelled: the goal still answers its question.
    expect(await say("run a 10k")).toBe(t.days);
    expect(await say("/start@Timbre_Sandbox_Bot")).toBe(t.welcome);
    expect(await say("/CANCEL@TIMBRE_SANDBOX_BOT")).toBe("Cancelled.");
    expect(texts(emulator, group.id)).toEqual([t.goal, t.days, t.welcome, "Cancelled."]);
  });
});

describe("messages sent on behalf of a chat", () => {
  test("two channels, the anonymous admins and a user each have their own conversation in a group", async () => {
    const { emulator, service } = await setup("coach");
    const ann = newUser("Ann");
    let heard = 0;
    const post = async (text: string, senderChat?: EmulatedChat) => {
      emulator.sendText(ann, text, group, senderChat ? { senderChat } : {});
      return (await botMessage(emulator, group.id, ++heard)).text;
    };
    expect(await post("plan for the channel", channelA)).toBe(t.goal);
    // Channel B is not channel A's answer, though both come from the placeholder user Channel_Bot.
    expect(await post("hello", channelB)).toBe(t.goal);
    expect(await post("hi from the admins", group)).toBe(t.goal);
    expect(await post("and me")).toBe(t.goal);
    expect(await post("grow to 10k subscribers", channelA)).toBe(t.days);
    const runs = runsOf(service, group.id);
    expect(runs.map((run) => run.userId).sort()).toEqual([channelA.id, channelB.id, group.id, ann.id].sort());
    expect(new Set(runs.map((run) => run.conversation)).size).toBe(4);
  });

  test("a channel post forwarded automatically into its discussion group starts nothing", async () => {
    const { emulator, service } = await setup("coach");
    const { update_id } = emulator.sendText(newUser("Unused"), "New season starts Monday", group, { senderChat: channelA, automaticForward: true });
    await handled(service, update_id);
    expect(emulator.sentTo(group.id)).toEqual([]);
    expect(runsOf(service, group.id)).toEqual([]);
  });
});

describe("replies go where the update came from", () => {
  test("in a channel's direct-messages chat, replies carry the topic (direct_messages_topic_id), one topic per user", async () => {
    const { emulator } = await setup("echo");
    emulator.sendText(newUser("Dee"), "question one", directMessages, { directMessagesTopicId: 12 });
    emulator.sendText(newUser("Eve"), "question two", directMessages, { directMessagesTopicId: 13 });
    await waitFor(() => emulator.sentTo(directMessages.id).length === 2, "both echoes");
    const sent = emulator.sentTo(directMessages.id).map((m) => [m.text, m.params.direct_messages_topic_id]);
    expect(sent.sort()).toEqual([["question one", 12], ["question two", 13]]);
  });

  test("typing is not sent to a channel or a channel's direct-messages chat, which the Bot API does not support", async () => {
    const slow = gate();
    const { emulator, service } = await setup(async (ctx) => {
      await slow.opened;
      if (ctx.text) await ctx.reply("done");
    });
    const post = emulator.pushUpdate({ channel_post: { message_id: 3, sender_chat: channelA, chat: channelA, date: DATE, text: "news" } } as never);
    const question = emulator.sendText(newUser("Dee"), "question", directMessages, { directMessagesTopicId: 12 });
    // Updates that are no message, whose chat is the update's own: the bot made a channel's admin, a reaction.
    const owner = { is_bot: false, ...newUser("Owner") };
    const bot = { id: 7_000_000_001, is_bot: true, first_name: "Timbre" };
    const promoted = emulator.pushUpdate({ my_chat_member: { chat: channelB, from: owner, date: DATE, old_chat_member: { status: "left", user: bot }, new_chat_member: { status: "administrator", user: bot } } } as never);
    const reacted = emulator.pushUpdate({ message_reaction: { chat: directMessages, message_id: 4, user: owner, date: DATE, old_reaction: [], new_reaction: [{ type: "emoji", emoji: "👍" }] } } as never);
    const ivy = newUser("Ivy");
    const ivysMessage = emulator.sendText(ivy, "hello");
    // The runs started in this order; each shows "typing" once it has worked a second.
    await waitFor(() => emulator.callsOf("sendChatAction").some((c) => Number(c.params.chat_id) === ivy.id), "typing in Ivy's private chat");
    const typedIn = emulator.callsOf("sendChatAction").map((c) => Number(c.params.chat_id));
    expect(typedIn).not.toContain(channelA.id);
    expect(typedIn).not.toContain(channelB.id);
    expect(typedIn).not.toContain(directMessages.id);
    slow.open();
    for (const { update_id } of [post, question, promoted, reacted, ivysMessage]) await handled(service, update_id);
  });

  test("replies to a business message go through its business connection; so does typing", async () => {
    const slow = gate();
    const replier: Agent = async (ctx) => {
      await slow.opened;
      await ctx.reply(`seen ${kindOf(ctx.update)}`);
    };
    const { emulator, service } = await setup(replier);
    const customer = newUser("Flo");
    const { update_id } = emulator.sendText(customer, "is the shop open?", undefined, { businessConnectionId: "biz-conn-1" });
    // "typing" shows after the run has worked a second.
    const typing = await waitFor(() => emulator.callsOf("sendChatAction").find((c) => Number(c.params.chat_id) === customer.id), "typing in the business chat");
    expect(typing.params).toMatchObject({ business_connection_id: "biz-conn-1", action: "typing" });
    slow.open();
    await handled(service, update_id);
    expect(emulator.sentTo(customer.id).map((m) => [m.text, m.params.business_connection_id])).toEqual([["seen business_message", "biz-conn-1"]]);
  });

  test("in a forum topic, replies to edited messages and button taps go to the same topic, and typing shows there", async () => {
    const slow = gate();
    const replier: Agent = async (ctx) => {
      if (ctx.text === "menu") return ctx.reply("pick one", { reply_markup: { inline_keyboard: [[{ text: "Go", callback_data: "go" }, { text: "Slow", callback_data: "slow" }]] } });
      const data = (ctx.update.callback_query as { data?: string } | undefined)?.data;
      if (data === "slow") await slow.opened;
      await ctx.reply(`seen ${kindOf(ctx.update)}${data ? ` ${data}` : ""}`);
    };
    const { emulator, service } = await setup(replier);
    const gus = newUser("Gus");
    const from = { is_bot: false, ...gus };
    emulator.pushUpdate({ edited_message: { message_id: 5, message_thread_id: 40, is_topic_message: true, from, chat: forum, date: DATE, edit_date: DATE + 9, text: "edited in 40" } });
    emulator.sendText(gus, "menu", forum, { topicId: 40 });
    const menu = await botMessage(emulator, forum.id, 2);
    expect(menu.params.message_thread_id).toBe(40);
    emulator.tapButton(gus, menu, "Go");
    const tapReply = await botMessage(emulator, forum.id, 3);
    emulator.tapButton(gus, menu, "Slow");
    const typing = await waitFor(() => emulator.callsOf("sendChatAction").find((c) => Number(c.params.chat_id) === forum.id), "typing after the slow tap");
    expect(typing.params).toMatchObject({ message_thread_id: 40 });
    slow.open();
    await botMessage(emulator, forum.id, 4);
    expect(emulator.sentTo(forum.id).map((m) => [m.text, m.params.message_thread_id])).toEqual([
      ["seen edited_message", 40],
      ["pick one", 40],
      ["seen callback_query go", 40],
      ["seen callback_query slow", 40],
    ]);
    expect(tapReply.text).toBe("seen callback_query go");
    await service.outbox.whenIdle();
  });

  test("each forum topic is its own conversation: a question asked in topic 40 is not answered from topic 41", async () => {
    const { emulator } = await setup("coach");
    const hal = newUser("Hal");
    let heard = 0;
    const sayIn = async (topicId: number, text: string) => {
      emulator.sendText(hal, text, forum, { topicId });
      const reply = await botMessage(emulator, forum.id, ++heard);
      return [reply.text, reply.params.message_thread_id];
    };
    expect(await sayIn(40, "plan please")).toEqual([t.goal, 40]);
    expect(await sayIn(41, "hello")).toEqual([t.goal, 41]);
    expect(await sayIn(40, "swim 2 km")).toEqual([t.days, 40]);
    expect(await sayIn(41, "lift more")).toEqual([t.days, 41]);
  });
});

describe("callback queries", () => {
  test("every tap is answered once with answerCallbackQuery, also when the agent ignores it", async () => {
    const menuOnly: Agent = async (ctx) => {
      if (ctx.text === "menu") await ctx.reply("pick", { reply_markup: { inline_keyboard: [[{ text: "A", callback_data: "a" }]] } });
    };
    const { emulator, service } = await setup(menuOnly);
    const ivy: EmulatedUser = newUser("Ivy");
    emulator.sendText(ivy, "menu");
    const menu = await botMessage(emulator, ivy.id, 1);
    const taps = [emulator.tapButton(ivy, menu, "A"), emulator.tapButton(ivy, menu, "a")];
    for (const tap of taps) await handled(service, tap.update_id);
    const ids = taps.map((tap) => (tap.callback_query as { id: string }).id);
    await waitFor(() => emulator.callsOf("answerCallbackQuery").length === 2, "both taps answered");
    expect(emulator.callsOf("answerCallbackQuery").map((c) => [c.params.callback_query_id, c.status])).toEqual(ids.map((id) => [id, 200]));
    expect(ids.map((id) => emulator.callbackQueries.get(id)?.answered)).toEqual([true, true]);
    expect(emulator.sentTo(ivy.id)).toHaveLength(1);
  });
});
