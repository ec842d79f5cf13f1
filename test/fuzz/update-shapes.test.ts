import { describe, expect, test } from "bun:test";
import type { Agent, AgentContext } from "../../src/runtime/context.ts";
import { serviceRig, postUpdate, serviceEnv, startInProcess, waitFor, type Service } from "../helpers.ts";
import { capturingLogger } from "../runtime/support.ts";
import { allHandled, noInternalErrors } from "./support.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

const DATE = 1_717_000_000;
const ana = { id: 3001, is_bot: false, first_name: "Ana", username: "ana", language_code: "es" };
const bob = { id: 3002, is_bot: false, first_name: "Bob", language_code: "en" };
const bot = { id: 7_000_000_001, is_bot: true, first_name: "timbre", username: "timbre_sandbox_bot" };
const privateChat = (user: { id: number; first_name: string }) => ({ id: user.id, type: "private", first_name: user.first_name });
const group = { id: -1001234, type: "group", title: "Runners" };
const forum = { id: -1009876543210, type: "supergroup", title: "Club", is_forum: true };
const channel = { id: -1005555, type: "channel", title: "News" };

interface Shape {
  name: string;
  /** The update without update_id (each service numbers its own). */
  body: Record<string, unknown>;
  kind: string;
  /** The chat replies go to; null: the update names none, so it is done without reaching the agent. */
  chatId: number | null;
  /** ctx.text the agent must see: only a `message` with `text` has one. */
  text?: string;
}

/** Updates as Telegram sends them (Bot API 7.x field names), one of each kind a bot meets. */
const SHAPES: Shape[] = [
  {
    name: "photo with a caption",
    kind: "message",
    chatId: ana.id,
    body: {
      message: {
        message_id: 10, from: ana, chat: privateChat(ana), date: DATE, caption: "my route", caption_entities: [{ type: "bold", offset: 0, length: 2 }],
        photo: [{ file_id: "AgAD-small", file_unique_id: "u1", width: 90, height: 67, file_size: 1200 }, { file_id: "AgAD-big", file_unique_id: "u2", width: 1280, height: 960, file_size: 98_000 }],
      },
    },
  },
  {
    name: "sticker",
    kind: "message",
    chatId: ana.id,
    body: { message: { message_id: 11, from: ana, chat: privateChat(ana), date: DATE, sticker: { file_id: "CAAC", file_unique_id: "s1", type: "regular", width: 512, height: 512, is_animated: false, is_video: false, emoji: "🏃" } } },
  },
  {
    name: "voice message",
    kind: "message",
    chatId: ana.id,
    body: { message: { message_id: 12, from: ana, chat: privateChat(ana), date: DATE, voice: { file_id: "AwAD", file_unique_id: "v1", duration: 3, mime_type: "audio/ogg" } } },
  },
  { name: "document", kind: "message", chatId: ana.id, body: { message: { message_id: 13, from: ana, chat: privateChat(ana), date: DATE, document: { file_id: "BQAD", file_unique_id: "d1", file_name: "plan.pdf", mime_type: "application/pdf" } } } },
  { name: "location", kind: "message", chatId: ana.id, body: { message: { message_id: 14, from: ana, chat: privateChat(ana), date: DATE, location: { latitude: 40.4168, longitude: -3.7038 } } } },
  { name: "contact", kind: "message", chatId: ana.id, body: { message: { message_id: 15, from: ana, chat: privateChat(ana), date: DATE, contact: { phone_number: "+34600000000", first_name: "Ana", user_id: ana.id } } } },
  {
    name: "edited message",
    kind: "edited_message",
    chatId: ana.id,
    body: { edited_message: { message_id: 9, from: ana, chat: privateChat(ana), date: DATE - 60, edit_date: DATE, text: "I want to run 10 km (edited)" } },
  },
  {
    name: "callback query from an inline keyboard",
    kind: "callback_query",
    chatId: ana.id,
    body: {
      callback_query: {
        id: "4382bfdwdsb323b2d9", from: ana, chat_instance: "-8123", data: "level:beginner",
        message: { message_id: 20, from: bot, chat: privateChat(ana), date: DATE, text: "Your level?", reply_markup: { inline_keyboard: [[{ text: "Beginner", callback_data: "level:beginner" }]] } },
      },
    },
  },
  { name: "channel post", kind: "channel_post", chatId: channel.id, body: { channel_post: { message_id: 3, sender_chat: channel, chat: channel, date: DATE, text: "New season starts Monday" } } },
  { name: "edited channel post", kind: "edited_channel_post", chatId: channel.id, body: { edited_channel_post: { message_id: 3, sender_chat: channel, chat: channel, date: DATE, edit_date: DATE + 5, text: "New season starts Tuesday" } } },
  {
    name: "bot added to a group (my_chat_member)",
    kind: "my_chat_member",
    chatId: group.id,
    body: {
      my_chat_member: {
        chat: group, from: bob, date: DATE,
        old_chat_member: { status: "left", user: bot },
        new_chat_member: { status: "member", user: bot },
      },
    },
  },
  {
    name: "someone joins a group (chat_member)",
    kind: "chat_member",
    chatId: group.id,
    body: { chat_member: { chat: group, from: ana, date: DATE, old_chat_member: { status: "left", user: ana }, new_chat_member: { status: "member", user: ana } } },
  },
  // The applicant is not in the group yet: the bot answers them in private (user_chat_id).
  { name: "join request", kind: "chat_join_request", chatId: bob.id, body: { chat_join_request: { chat: group, from: bob, user_chat_id: bob.id, date: DATE, bio: "runner" } } },
  {
    name: "new members service message in a group",
    kind: "message",
    chatId: group.id,
    body: { message: { message_id: 30, from: bob, chat: group, date: DATE, new_chat_members: [ana], new_chat_member: ana, new_chat_participant: ana } },
  },
  {
    name: "photo in a forum topic",
    kind: "message",
    chatId: forum.id,
    body: { message: { message_id: 41, message_thread_id: 40, is_topic_message: true, from: ana, chat: forum, date: DATE, photo: [{ file_id: "AgAD-t", file_unique_id: "t1", width: 90, height: 90 }] } },
  },
  {
    name: "reaction",
    kind: "message_reaction",
    chatId: ana.id,
    body: { message_reaction: { chat: privateChat(ana), message_id: 20, user: ana, date: DATE, old_reaction: [], new_reaction: [{ type: "emoji", emoji: "👍" }] } },
  },
  { name: "inline query (no chat)", kind: "inline_query", chatId: bob.id, body: { inline_query: { id: "iq1", from: bob, query: "plan", offset: "" } } },
  { name: "poll state (no chat, no sender)", kind: "poll", chatId: null, body: { poll: { id: "p1", question: "Best day?", options: [{ text: "Mon", voter_count: 1 }], total_voter_count: 1, is_closed: false, is_anonymous: true, type: "regular", allows_multiple_answers: false } } },
  { name: "a type timbre has never heard of", kind: "future_update_type", chatId: null, body: { future_update_type: { some: ["new", { shape: true }] } } },
  { name: "a type timbre has never heard of, naming a chat", kind: "future_chat_update", chatId: group.id, body: { future_chat_update: { chat: group, date: DATE } } },
  // Texts: these do reach the agent with ctx.text.
  { name: "text in a private chat", kind: "message", chatId: bob.id, text: "hola", body: { message: { message_id: 50, from: bob, chat: privateChat(bob), date: DATE, text: "hola" } } },
  {
    name: "command with an entity in a group",
    kind: "message",
    chatId: group.id,
    text: "/plan@timbre_sandbox_bot",
    body: { message: { message_id: 31, from: ana, chat: group, date: DATE, text: "/plan@timbre_sandbox_bot", entities: [{ type: "bot_command", offset: 0, length: 24 }] } },
  },
  {
    name: "text in a forum topic",
    kind: "message",
    chatId: forum.id,
    text: "thread hello",
    body: { message: { message_id: 42, message_thread_id: 40, is_topic_message: true, from: bob, chat: forum, date: DATE, text: "thread hello" } },
  },
  {
    name: "reply to a message, anonymous admin (sender_chat)",
    kind: "message",
    chatId: group.id,
    text: "as admin",
    body: {
      message: {
        message_id: 32, sender_chat: group, chat: group, date: DATE, text: "as admin",
        reply_to_message: { message_id: 31, from: ana, chat: group, date: DATE, text: "/plan@timbre_sandbox_bot" },
      },
    },
  },
];

let dbCount = 0;
async function start(extra: Record<string, string>, agent?: Agent) {
  const log = capturingLogger();
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/shapes${dbCount++}.db`, { SEND_RATE_PER_CHAT: "10000", SEND_RATE_PER_GROUP: "10000", SEND_RATE_GLOBAL: "10000", ...extra });
  const service = await startInProcess(env, { logger: log, ...(agent ? { agent } : {}) });
  services.push(service);
  return { service, log };
}

let nextId = 500_000;
async function postAll(service: Service, shapes: Shape[]): Promise<Map<Shape, number>> {
  const ids = new Map<Shape, number>();
  for (const shape of shapes) {
    const id = nextId++;
    ids.set(shape, id);
    const response = await postUpdate(service.url, { update_id: id, ...shape.body });
    expect(response.status).toBe(200);
  }
  return ids;
}

const sendsTo = (chatIds: number[]) => emulator.calls.filter((c) => c.method === "sendMessage" && chatIds.includes(Number(c.params.chat_id)));
const allChats = [ana.id, bob.id, group.id, forum.id, channel.id, 0];

describe("real-world update shapes", () => {
  test("each is stored with its kind and chat and, when it names a chat, reaches the agent as ctx.update; only texts carry ctx.text", async () => {
    const seen = new Map<number, Pick<AgentContext, "text" | "chatId" | "update" | "user">>();
    const recorder: Agent = async (ctx) => {
      seen.set(ctx.update.update_id, { text: ctx.text, chatId: ctx.chatId, update: ctx.update, user: ctx.user });
    };
    const { service, log } = await start({}, recorder);
    const ids = await postAll(service, SHAPES);
    await allHandled(service);
    noInternalErrors(log.lines);
    for (const shape of SHAPES) {
      const id = ids.get(shape)!;
      const row = service.inbox.row(id)!;
      expect({ shape: shape.name, kind: row.kind, chatId: row.chatId, status: row.status }).toEqual({ shape: shape.name, kind: shape.kind, chatId: shape.chatId, status: "done" });
      const ctx = seen.get(id);
      if (shape.chatId === null) {
        expect({ shape: shape.name, reachedTheAgent: ctx !== undefined }).toEqual({ shape: shape.name, reachedTheAgent: false });
        continue;
      }
      expect(ctx ? shape.name : `${shape.name}: never reached the agent`).toBe(shape.name);
      // The update exactly as Telegram sent it, unknown fields and all.
      expect(ctx!.update).toEqual({ update_id: id, ...shape.body } as never);
      expect({ shape: shape.name, text: ctx!.text }).toEqual({ shape: shape.name, text: shape.text });
      expect(ctx!.chatId).toBe(shape.chatId);
    }
    // A sender is found wherever the update has one.
    expect(seen.get(ids.get(SHAPES.find((s) => s.kind === "callback_query")!)!)!.user?.id).toBe(ana.id);
    expect(seen.get(ids.get(SHAPES.find((s) => s.kind === "inline_query")!)!)!.user?.id).toBe(bob.id);
  });

  test("echo sends nothing for updates without text, replies to texts (in their forum topic)", async () => {
    const { service, log } = await start({ AGENT: "echo" });
    const before = sendsTo(allChats).length;
    await postAll(service, SHAPES.filter((s) => s.text === undefined));
    await allHandled(service);
    await service.outbox.whenIdle();
    expect(sendsTo(allChats).length).toBe(before);

    const texts = SHAPES.filter((s) => s.text !== undefined);
    await postAll(service, texts);
    await allHandled(service);
    await waitFor(() => sendsTo(allChats).length === before + texts.length, "an echo per text");
    const topicEcho = sendsTo([forum.id]).at(-1)!;
    expect(topicEcho.params).toMatchObject({ text: "thread hello", message_thread_id: 40 });
    expect(sendsTo([group.id]).map((c) => c.params.text)).toEqual(expect.arrayContaining(["/plan@timbre_sandbox_bot", "as admin"]));
    noInternalErrors(log.lines);
  });

  test("coach sends nothing for updates without text, also in the middle of its questions", async () => {
    const { service, log } = await start({ AGENT: "coach" });
    const before = sendsTo(allChats).length;
    await postAll(service, SHAPES.filter((s) => s.text === undefined));
    await allHandled(service);
    await service.outbox.whenIdle();
    expect(sendsTo(allChats).length).toBe(before);

    // A conversation: the coach asks for the goal; a sticker arrives; the text answer still counts.
    const chat = 3_999;
    const person = { id: chat, is_bot: false, first_name: "Cai", language_code: "en" };
    const say = (text: string) => postUpdate(service.url, { update_id: nextId++, message: { message_id: nextId, from: person, chat: privateChat(person), date: DATE, text } });
    expect((await say("I want to run a marathon")).status).toBe(200);
    await waitFor(() => sendsTo([chat]).length === 1, "the coach's first question");
    const sticker = nextId++;
    expect((await postUpdate(service.url, { update_id: sticker, message: { message_id: sticker, from: person, chat: privateChat(person), date: DATE, sticker: { file_id: "x", file_unique_id: "y", type: "regular", width: 1, height: 1, is_animated: false, is_video: false } } })).status).toBe(200);
    expect((await say("finish a marathon")).status).toBe(200);
    await waitFor(() => sendsTo([chat]).length === 2, "the coach's second question");
    expect(String(sendsTo([chat])[1]!.params.text).toLowerCase()).toContain("day");
    expect((await say("3")).status).toBe(200);
    expect((await say("beginner")).status).toBe(200);
    await waitFor(() => sendsTo([chat]).length === 4, "the plan");
    const plan = String(sendsTo([chat])[3]!.params.text);
    expect(plan).toContain("finish a marathon");
    expect(plan.split("\n").filter((line) => line.startsWith("Day ")).length).toBe(3);
    // The sticker waited its turn, then went to the coach, which said nothing.
    await allHandled(service);
    await service.outbox.whenIdle();
    expect(sendsTo([chat]).length).toBe(4);
    expect(service.inbox.row(sticker)!.status).toBe("done");
    noInternalErrors(log.lines);
  });
});
