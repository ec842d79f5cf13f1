// The peer a bot author would pick instead of timbre: GramIO's webhookHandler on Bun.serve,
// echoing every text with sendMessage, storing nothing. Usage: bun bench/gramio-peer.ts API_ROOT TOKEN SECRET
import { Bot, webhookHandler } from "gramio";

const [apiRoot, token, secret] = process.argv.slice(2) as [string, string, string];
const bot = new Bot(token, { api: { baseURL: `${apiRoot}/bot` }, info: { id: 1, is_bot: true, first_name: "Bench", username: "bench_bot" } as never });
bot.on("message", (ctx) => (ctx.text !== undefined ? ctx.send(ctx.text) : undefined));
await bot.init();
const handle = webhookHandler(bot, "Bun.serve", secret);
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: async (request) => (await handle(request)) as unknown as Response,
});
console.log(`listening http://127.0.0.1:${server.port}`);
