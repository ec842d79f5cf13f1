import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Times are Unix milliseconds. Each table is written by one module only (named above it). */

export type UpdateStatus = "received" | "processing" | "done" | "failed";

/** Written by ingest/inbox.ts. The primary key is the dedup key. */
export const updates = sqliteTable(
  "updates",
  {
    updateId: integer("update_id").primaryKey(),
    /** The chat's id, or the user's id for updates without a chat; null when there is neither. */
    chatId: integer("chat_id"),
    userId: integer("user_id"),
    /** The update type: message, edited_message, callback_query, ... */
    kind: text("kind").notNull(),
    /** The update as Telegram sent it; null once pruned (the row stays as the dedup key). */
    payload: text("payload"),
    status: text("status").$type<UpdateStatus>().notNull().default("received"),
    error: text("error"),
    receivedAt: integer("received_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("updates_status_idx").on(t.status, t.updateId), index("updates_received_at_idx").on(t.receivedAt)],
);

/** Small durable values: the generated webhook secret, the polling offset. Written by db/settings.ts. */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

export type OutboxStatus = "queued" | "sending" | "sent" | "failed";
/** What an outbox row asks of Telegram: a message, or a new inline keyboard for a message already sent. */
export type OutboxMethod = "sendMessage" | "editMessageReplyMarkup";

/** Written by telegram/outbox.ts. */
export const outbox = sqliteTable(
  "outbox",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    chatId: integer("chat_id").notNull(),
    method: text("method").$type<OutboxMethod>().notNull().default("sendMessage"),
    /** The message's text ("" for editMessageReplyMarkup). */
    text: text("text").notNull(),
    /** The method's options other than chat_id, text and message_id, as JSON (reply_markup, message_thread_id...). */
    options: text("options"),
    status: text("status").$type<OutboxStatus>().notNull().default("queued"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    /** The sent message's id (Telegram's answer); for editMessageReplyMarkup, the message edited. */
    messageId: integer("message_id"),
    lastError: text("last_error"),
    runId: integer("run_id"),
    updateId: integer("update_id"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  // No index on chat_id here: each insert into one would dirty a page per chat of the batch (a
  // random place in the index), and every query by chat also filters by status, which the
  // status index narrows to the unsent rows. PostgreSQL keeps one (its chats move between instances).
  (t) => [index("outbox_status_idx").on(t.status, t.id)],
);

/** A run is active while running (executing, or due to execute) or waiting (on an answer or a timer). */
export const RUN_STATUSES = ["running", "waiting", "done", "failed", "cancelled"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const ACTIVE_RUN_STATUSES = ["running", "waiting"] as const satisfies readonly RunStatus[];

/** Written by runtime/runs.ts. */
export const runs = sqliteTable(
  "runs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** One user in one chat ("chatId:userId"); in a private chat the user is the chat. */
    conversation: text("conversation").notNull(),
    chatId: integer("chat_id").notNull(),
    userId: integer("user_id"),
    agent: text("agent").notNull(),
    /** The agent's `version`, else a hash of its source: which code started the run. */
    agentVersion: text("agent_version"),
    status: text("status").$type<RunStatus>().notNull(),
    triggerUpdateId: integer("trigger_update_id").notNull(),
    /** The trigger update, kept with the run so replay works after its inbox payload is pruned. */
    trigger: text("trigger").notNull(),
    error: text("error"),
    /**
     * The conversation's memory when the run started, kept by its first ctx.remember so replays
     * still see it (`{"value":...}`, or `{}` for no memory); null while the run has remembered nothing.
     */
    memoryBefore: text("memory_before"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    endedAt: integer("ended_at"),
  },
  (t) => [index("runs_conversation_idx").on(t.conversation, t.status), index("runs_status_idx").on(t.status, t.id)],
);

export const STEP_KINDS = ["reply", "ask", "step", "sleep", "remember"] as const;
export type StepKind = (typeof STEP_KINDS)[number];
/** done: a reply, step, remember or sleep that finished; failed: a step whose retries ran out; retrying: a step between attempts. */
export const STEP_STATES = ["done", "failed", "retrying", "waiting", "answered", "timed_out", "cancelled"] as const;
export type StepState = (typeof STEP_STATES)[number];

/** The journal of a run: every ctx call, committed before the run goes on. Written by the runtime's run store. */
export const runSteps = sqliteTable(
  "run_steps",
  {
    runId: integer("run_id").notNull(),
    seq: integer("seq").notNull(),
    kind: text("kind").$type<StepKind>().notNull(),
    /** What replay compares: the reply or question text, the step's name; the kind for sleep and remember. */
    text: text("text").notNull(),
    state: text("state").$type<StepState>().notNull(),
    answer: text("answer"),
    answerUpdateId: integer("answer_update_id"),
    /** When a question times out, a sleep ends, or a retrying step's next attempt may start. */
    deadlineAt: integer("deadline_at"),
    /** JSON: a step's result, a remembered value. */
    result: text("result"),
    /** A failed (or retrying) step's last error message. */
    error: text("error"),
    /** How many times a step's function ran (a retrying step: the attempts that failed so far). */
    attempts: integer("attempts"),
    /** JSON array: a question's button choices. */
    choices: text("choices"),
    createdAt: integer("created_at").notNull(),
    /** When the question was answered or timed out, the step finished, the sleep ended. */
    answeredAt: integer("answered_at"),
  },
  (t) => [primaryKey({ columns: [t.runId, t.seq] }), index("run_steps_state_idx").on(t.state, t.deadlineAt)],
);

/** Each conversation's durable memory (ctx.memory / ctx.remember) as JSON. Written by the runtime's run store. */
export const memories = sqliteTable("memories", {
  conversation: text("conversation").primaryKey(),
  value: text("value").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Updates a busy conversation has queued for its next run (written by runtime/runs.ts).
 * The inbox row stays `processing` until the run it starts ends.
 */
export const parkedUpdates = sqliteTable(
  "parked_updates",
  {
    updateId: integer("update_id").primaryKey(),
    conversation: text("conversation").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("parked_conversation_idx").on(t.conversation, t.updateId)],
);

/**
 * The sandbox's Telegram side, kept so it survives restarts like Telegram (sandbox mode only;
 * written by sandbox/store.ts). One row per chat the emulator knows.
 */
export const sandboxChats = sqliteTable("sandbox_chats", {
  chatId: integer("chat_id").primaryKey(),
  /** The chat as Telegram describes it in a Message (JSON). */
  chat: text("chat").notNull(),
  /** The user of this private chat (JSON: id, first_name, language_code...); null for other chats and removed users. */
  user: text("user"),
  /** When the user was removed: their messages are gone, and the bot's messages to them answer 403 as for a deleted account. */
  removedAt: integer("removed_at"),
  createdAt: integer("created_at").notNull(),
});

/** Every message of the sandbox's chats, both ways; user and bot share each chat's message_id sequence. */
export const sandboxMessages = sqliteTable(
  "sandbox_messages",
  {
    chatId: integer("chat_id").notNull(),
    messageId: integer("message_id").notNull(),
    side: text("side").$type<"user" | "bot">().notNull(),
    text: text("text").notNull(),
    /** Unix seconds, as Telegram dates messages. */
    date: integer("date").notNull(),
    /** A user's message: its sender (JSON). */
    sender: text("sender"),
    /** A bot's message: the sendMessage parameters as the bot sent them (JSON). */
    params: text("params"),
    /** A bot's message: its inline keyboard now (JSON), null without one. */
    replyMarkup: text("reply_markup"),
  },
  (t) => [primaryKey({ columns: [t.chatId, t.messageId] })],
);

/** Updates the sandbox's emulator queued: the ones not yet delivered, and the highest id it ever gave. */
export const sandboxUpdates = sqliteTable("sandbox_updates", {
  updateId: integer("update_id").primaryKey(),
  /** The update as queued; null once the bot has it (the row stays as the high-water mark of update ids). */
  payload: text("payload"),
  createdAt: integer("created_at").notNull(),
});
