import { Elysia, t } from "elysia";
import { jsonError } from "../ingest/webhook.ts";
import type { EmulatedUser } from "./emulator.ts";
import { SandboxEventStream, type EventStreamOptions } from "./event-stream.ts";
import pageImport from "./page.html" with { type: "text" };
import style from "./page.css" with { type: "text" };
import strings from "./page-strings.js" with { type: "text" };
import users from "./page-users.js" with { type: "text" };
import view from "./page-view.js" with { type: "text" };
import script from "./page.js" with { type: "text" };
import { thrownMessage } from "../observability/log.ts";
import { jsonObjectBody } from "../admin/json-body.ts";

export type { WaitingChat } from "./event-stream.ts";
export type { ChatHistory, ChatLine } from "./history.ts";

/** What the sandbox routes need: the emulator, the runtime's waiting runs, the agent's name, a logger. */
export type SandboxDependencies = EventStreamOptions;

const User = t.Object({
  id: t.Integer({ minimum: 1, maximum: 2 ** 52 }),
  first_name: t.String({ minLength: 1, maxLength: 64 }),
  language_code: t.Optional(t.String({ pattern: "^[a-z]{2,3}(-[A-Za-z0-9]+)?$" })),
});

const SendBody = t.Object({ user: User, text: t.String({ minLength: 1, maxLength: 4096 }) });

const TapBody = t.Object({
  user: User,
  /** The bot's message in the user's private chat. */
  message_id: t.Integer({ minimum: 1 }),
  /** The button's text or callback_data. */
  button: t.String({ minLength: 1, maxLength: 256 }),
});

// bun-types declares every "*.html" import an HTMLBundle; the "text" attribute makes it the file's text.
const page = pageImport as unknown as string;

function asset(body: string, type: string): Response {
  return new Response(body, { headers: { "content-type": `${type}; charset=utf-8`, "cache-control": "no-cache" } });
}

/** What a schema cannot say: a name or text of blanks, which Telegram's apps never send. */
function blankError(user: { first_name: string }, text?: string): Response | undefined {
  if (user.first_name.trim() === "") return jsonError(400, "user.first_name must not be only spaces");
  if (text !== undefined && text.trim() === "") return jsonError(400, "text must not be only spaces");
  return undefined;
}

/** The user as the emulator keeps them (only the fields the page sets). */
function userOf(body: { id: number; first_name: string; language_code?: string }): EmulatedUser {
  return { id: body.id, first_name: body.first_name, ...(body.language_code ? { language_code: body.language_code } : {}) };
}

/**
 * The sandbox chat page and its API, mounted only in sandbox mode: the page and its assets, the
 * live event stream, the history, sending and tapping buttons as a user, and the users
 * themselves (created, removed). What they change is kept by the emulator's store.
 */
export function sandboxRoutes(deps: SandboxDependencies) {
  const { emulator } = deps;
  const events = new SandboxEventStream(deps);

  return new Elysia({ prefix: "/sandbox", detail: { hide: true } })
    // JSON whatever the Content-Type (`curl -d` sends a form type); too deep a body is a 400.
    .onParse(jsonObjectBody)
    .get("/", () => asset(page, "text/html"))
    .get("/page.css", () => asset(style, "text/css"))
    .get("/page-strings.js", () => asset(strings, "text/javascript"))
    .get("/page-users.js", () => asset(users, "text/javascript"))
    .get("/page-view.js", () => asset(view, "text/javascript"))
    .get("/page.js", () => asset(script, "text/javascript"))
    .get("/events", ({ request, server }) => {
      // Bun closes connections idle for 10 s; an event stream is idle by nature.
      server?.timeout(request, 0);
      return events.connect(request);
    })
    .get("/history", () => ({ ok: true as const, agent: deps.agent, ...(deps.model ? { model: deps.model } : {}), chats: events.history() }))
    .post(
      "/send",
      ({ body }) => {
        const blank = blankError(body.user, body.text);
        if (blank) return blank;
        const update = emulator.sendText(userOf(body.user), body.text);
        return { ok: true as const, update_id: update.update_id };
      },
      { body: SendBody },
    )
    .post(
      "/tap",
      ({ body }) => {
        const message = emulator.sentTo(body.user.id).find((m) => m.message_id === body.message_id);
        if (!message) return jsonError(404, `the bot sent no message ${body.message_id} to user ${body.user.id}`);
        try {
          return { ok: true as const, update_id: emulator.tapButton(userOf(body.user), message, body.button).update_id };
        } catch (error) {
          return jsonError(400, thrownMessage(error));
        }
      },
      { body: TapBody },
    )
    .post(
      "/users",
      ({ body }) => {
        const blank = blankError(body);
        if (blank) return blank;
        emulator.addUser(userOf(body));
        return { ok: true as const, user: userOf(body) };
      },
      { body: User },
    )
    .delete(
      "/users/:id",
      ({ params }) => (emulator.removeUser(params.id) ? { ok: true as const } : jsonError(404, `there is no user ${params.id} in the sandbox`)),
      { params: t.Object({ id: t.Integer({ minimum: 1 }) }) },
    );
}
