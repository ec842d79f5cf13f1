import type { Agent } from "../runtime/context.ts";

/**
 * Replies to every text message with exactly the same text; ignores everything else. Echoing is
 * stateless, so texts are answered as instant replies: one commit with the routing, no run.
 */
export const echo: Agent = Object.assign(
  async (ctx: Parameters<Agent>[0]) => {
    // Only reached when a runtime does not use instantReply.
    if (ctx.text !== undefined) await ctx.reply(ctx.text);
  },
  { instantReply: (text: string) => text },
);
