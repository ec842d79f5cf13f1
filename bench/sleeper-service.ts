/**
 * The service with an agent that replies, then sleeps for the number of seconds its text says:
 * what `bun bench/waiting-runs.ts --kind sleep` starts (configuration from the environment).
 */
import { startService } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import type { Agent } from "../src/runtime/context.ts";

const sleeper: Agent = async (ctx) => {
  await ctx.reply("sleeping");
  await ctx.sleep(Number(ctx.text));
  await ctx.reply("awake");
};

const service = await startService(loadConfig(), { agent: sleeper });
process.on("SIGTERM", async () => {
  await service.stop();
  process.exit(0);
});
