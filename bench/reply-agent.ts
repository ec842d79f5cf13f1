// An agent module for benchmarks: a run per update that replies once (a real agent's shape without its model call).
// AGENT=./bench/reply-agent.ts bun bench/statement-timing.ts
import type { Agent } from "../src/runtime/context.ts";

const replyAgent: Agent = async (ctx) => {
  await ctx.reply(`you said: ${ctx.text ?? ""}`);
};
export default replyAgent;
