// `bun run emulator`: the Bot API emulator alone, on a port of this machine, so timbre can be tried
// with a token, in polling or webhook mode, without real Telegram. Lines typed on stdin reach the
// bot as messages from a test user; the bot's messages are printed.
//
//   bun run emulator                          http://127.0.0.1:8081, token 123456:local-emulator
//   bun run emulator -- --port 9000 --token 42:my-test-token
//   bun run emulator -- --port 0              a free port (the line printed says which)
import { parseArgs } from "node:util";
import { BotApiEmulator, type EmulatedUser } from "../src/sandbox/emulator.ts";

const USAGE = `usage: bun run emulator -- [--port N] [--token 123456:ABC]
  --port   where the Bot API listens on 127.0.0.1 (default 8081; 0 picks a free port)
  --token  the bot token it accepts (default 123456:local-emulator)
`;

const { values } = parseArgs({
  options: { port: { type: "string", default: "8081" }, token: { type: "string", default: "123456:local-emulator" }, help: { type: "boolean", short: "h" } },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const port = Number(values.port);
if (!/^\d+$/.test(values.port) || port > 65535) fail(`--port ${JSON.stringify(values.port)} is invalid: expected a whole number from 0 to 65535\n${USAGE}`);
// The shape timbre's TELEGRAM_BOT_TOKEN check accepts.
if (!/^\d+:[A-Za-z0-9_-]+$/.test(values.token)) fail(`--token is invalid: expected a token like 123456:ABC-DEF\n${USAGE}`);

// Update ids start at the current millisecond (Telegram's may jump too): a restarted emulator never
// hands out an id the bot's database has already stored, so nothing typed is taken for a duplicate.
const emulator = new BotApiEmulator({ token: values.token, firstUpdateId: Date.now() });
let server: ReturnType<typeof Bun.serve>;
try {
  server = Bun.serve({ hostname: "127.0.0.1", port, reusePort: false, fetch: (request) => emulator.fetch(request) });
} catch (error) {
  fail(`cannot listen on 127.0.0.1:${port} (${error instanceof Error ? error.message : String(error)}): choose another --port`);
}
const apiUrl = `http://127.0.0.1:${server.port}`;

const user: EmulatedUser = { id: 1001, first_name: "Ana", language_code: "en" };
const env = `TELEGRAM_BOT_TOKEN=${emulator.token} TELEGRAM_API_URL=${apiUrl} DATABASE_PATH=./data/emulator.db`;
process.stdout.write(`Bot API emulator on ${apiUrl} (token ${emulator.token}). In another terminal, start timbre against it:

  polling:  ${env} BOT_MODE=polling bun start
  webhook:  ${env} bun start
            then point the emulator's webhook at it (after each emulator start; the secret comes from the database):
            ${env} bun src/main.ts webhook set --url http://127.0.0.1:8080/telegram/webhook

Type a line and press Enter: it reaches the bot as a message from ${user.first_name} (user ${user.id}). The bot's messages appear here.
`);

emulator.subscribe((event) => {
  if (event.type !== "bot_message") return;
  const keyboard = event.message.reply_markup?.inline_keyboard;
  const buttons = keyboard ? `  [${keyboard.flat().map((b) => b.text).join(" | ")}]` : "";
  process.stdout.write(`bot: ${event.message.text}${buttons}\n`);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    emulator.stop();
    void server.stop(true);
    process.exit(0);
  });
}

// Bun's console reads stdin line by line; at its end the emulator keeps serving until Ctrl-C.
for await (const line of console) {
  if (line.trim() !== "") emulator.sendText(user, line);
}

function fail(message: string): never {
  process.stderr.write(`emulator: ${message}\n`);
  process.exit(1);
}
