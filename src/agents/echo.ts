import type { Agent } from "../runtime/context.ts";

/** Replies to every text message with exactly the same text; ignores everything else. */
export const echo: Agent = async (ctx) => {
  if (ctx.text === undefined) return;
  await ctx.reply(ctx.text);
};
