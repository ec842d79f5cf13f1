import { sql } from "drizzle-orm";
import { bigint, index, integer, pgSequence, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import type { OutboxMethod, OutboxStatus, RunStatus, StepKind, StepState, UpdateStatus } from "../schema.ts";

/**
 * The PostgreSQL twin of ../schema.ts (DATABASE_URL): the same tables, column names, indexes,
 * defaults and primary keys, so a store reads the same on both engines; what each column means
 * is documented there. Ids and Unix-ms times are bigint read as JS numbers (every value stays
 * under 2^53); JSON payloads stay text, byte for byte as Telegram sent them, as in SQLite.
 * test/db/pg-schema-parity.test.ts fails when a SQLite table or column has no twin here.
 * Ids SQLite numbers with AUTOINCREMENT are identity columns (by default, so a copy from SQLite
 * keeps its ids).
 */

const id = (name: string) => bigint(name, { mode: "number" });

export const updates = pgTable(
  "updates",
  {
    updateId: id("update_id").primaryKey(),
    chatId: id("chat_id"),
    userId: id("user_id"),
    kind: text("kind").notNull(),
    payload: text("payload"),
    status: text("status").$type<UpdateStatus>().notNull().default("received"),
    error: text("error"),
    receivedAt: id("received_at").notNull(),
    updatedAt: id("updated_at").notNull(),
  },
  (t) => [
    index("updates_status_idx").on(t.status, t.updateId),
    index("updates_received_at_idx").on(t.receivedAt),
    // An instance reads a chat's received updates each time it stores or is told of one (ChatClaims):
    // through updates_status_idx that walked every received update of every chat, 0.5 ms a read under load.
    index("updates_received_of_chat_idx").on(t.chatId, t.updateId).where(sql`status = 'received'`),
  ],
);

export const settings = pgTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

export const outbox = pgTable(
  "outbox",
  {
    id: id("id").primaryKey().generatedByDefaultAsIdentity(),
    chatId: id("chat_id").notNull(),
    method: text("method").$type<OutboxMethod>().notNull().default("sendMessage"),
    text: text("text").notNull(),
    options: text("options"),
    status: text("status").$type<OutboxStatus>().notNull().default("queued"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: id("next_attempt_at").notNull(),
    messageId: id("message_id"),
    lastError: text("last_error"),
    runId: id("run_id"),
    updateId: id("update_id"),
    createdAt: id("created_at").notNull(),
    updatedAt: id("updated_at").notNull(),
  },
  (t) => [index("outbox_status_idx").on(t.status, t.id), index("outbox_chat_idx").on(t.chatId, t.id)],
);

export const runs = pgTable(
  "runs",
  {
    id: id("id").primaryKey().generatedByDefaultAsIdentity(),
    conversation: text("conversation").notNull(),
    chatId: id("chat_id").notNull(),
    userId: id("user_id"),
    agent: text("agent").notNull(),
    agentVersion: text("agent_version"),
    status: text("status").$type<RunStatus>().notNull(),
    triggerUpdateId: id("trigger_update_id").notNull(),
    trigger: text("trigger").notNull(),
    error: text("error"),
    memoryBefore: text("memory_before"),
    createdAt: id("created_at").notNull(),
    updatedAt: id("updated_at").notNull(),
    endedAt: id("ended_at"),
  },
  (t) => [index("runs_conversation_idx").on(t.conversation, t.status), index("runs_status_idx").on(t.status, t.id)],
);

export const runSteps = pgTable(
  "run_steps",
  {
    runId: id("run_id").notNull(),
    seq: integer("seq").notNull(),
    kind: text("kind").$type<StepKind>().notNull(),
    text: text("text").notNull(),
    state: text("state").$type<StepState>().notNull(),
    answer: text("answer"),
    answerUpdateId: id("answer_update_id"),
    deadlineAt: id("deadline_at"),
    result: text("result"),
    error: text("error"),
    attempts: integer("attempts"),
    choices: text("choices"),
    createdAt: id("created_at").notNull(),
    answeredAt: id("answered_at"),
  },
  (t) => [primaryKey({ columns: [t.runId, t.seq] }), index("run_steps_state_idx").on(t.state, t.deadlineAt)],
);

export const memories = pgTable("memories", {
  conversation: text("conversation").primaryKey(),
  value: text("value").notNull(),
  updatedAt: id("updated_at").notNull(),
});

export const parkedUpdates = pgTable(
  "parked_updates",
  {
    updateId: id("update_id").primaryKey(),
    conversation: text("conversation").notNull(),
    createdAt: id("created_at").notNull(),
  },
  (t) => [index("parked_conversation_idx").on(t.conversation, t.updateId)],
);

export const sandboxChats = pgTable("sandbox_chats", {
  chatId: id("chat_id").primaryKey(),
  chat: text("chat").notNull(),
  /** A reserved word in PostgreSQL: hand-written SQL quotes it ("user"). */
  user: text("user"),
  removedAt: id("removed_at"),
  createdAt: id("created_at").notNull(),
});

export const sandboxMessages = pgTable(
  "sandbox_messages",
  {
    chatId: id("chat_id").notNull(),
    messageId: id("message_id").notNull(),
    side: text("side").$type<"user" | "bot">().notNull(),
    text: text("text").notNull(),
    date: id("date").notNull(),
    sender: text("sender"),
    params: text("params"),
    replyMarkup: text("reply_markup"),
  },
  (t) => [primaryKey({ columns: [t.chatId, t.messageId] })],
);

export const sandboxUpdates = pgTable("sandbox_updates", {
  updateId: id("update_id").primaryKey(),
  payload: text("payload"),
  createdAt: id("created_at").notNull(),
});

/**
 * Coordination between instances (PostgreSQL only, src/db/pg/leases.ts): a named lease (a chat,
 * the poller's leadership) held by one instance until `expires_at`. Every take of a lease that
 * was free or expired gives it a new `token` from `lease_tokens`, so a write carrying an older
 * token is refused (fencing): an instance that lost its lease while paused cannot overwrite the
 * new holder's work. A released lease expires in place: its row stays until pruned. Tokens come
 * from one sequence rather than from the row, so they only grow, even for a name whose row was
 * pruned and taken again.
 */
export const leases = pgTable("leases", {
  name: text("name").primaryKey(),
  /** The holding instance's id. */
  holder: text("holder").notNull(),
  token: id("token").notNull(),
  /** Unix ms. */
  expiresAt: id("expires_at").notNull(),
});

/** Fencing tokens for `leases`: one sequence for every lease, so a token is never given twice. */
export const leaseTokens = pgSequence("lease_tokens");

/**
 * A rate shared by every instance (PostgreSQL only, src/db/pg/rate-limit.ts), such as
 * SEND_RATE_GLOBAL: one row per limiter holding the GCRA's theoretical arrival time, moved on by
 * one interval (1/rate) per grant.
 */
export const rateLimits = pgTable("rate_limits", {
  name: text("name").primaryKey(),
  /** Unix microseconds: an interval of 1/rate s is rarely a whole number of ms (30/s is 33,333 µs). */
  tat: id("tat").notNull(),
});
