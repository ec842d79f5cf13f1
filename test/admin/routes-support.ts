/** What the admin route tests share: a service with ADMIN_TOKEN on the emulator, an agent that echoes, asks and can fail, and requests with the token. */
import { beforeAll } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, type Service } from "../helpers.ts";

export const ADMIN_TOKEN = "admin-token-for-tests_0123456789";
export const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** The service of the test file that called adminRoutesRig, started before its tests. */
export let service: Service;

/** Echoes, asks "What is your goal?" on "ask me", and on "boom" throws while `failBoom()` says so. */
export function routesAgent(failBoom: () => boolean = () => true): Agent {
  return async (ctx) => {
    if (ctx.text === "boom") {
      if (failBoom()) throw new Error("the agent exploded on purpose");
      await ctx.reply("recovered");
      return;
    }
    if (ctx.text === "ask me") {
      const goal = await ctx.ask("What is your goal?");
      await ctx.reply(`goal: ${goal}`);
      return;
    }
    if (ctx.text !== undefined) await ctx.reply(`echo: ${ctx.text}`);
  };
}

/** For one test file: the emulator and a temp folder, and `service` started there with the webhook pointed at it; all stopped after the file. */
export function adminRoutesRig(agent: Agent = routesAgent()) {
  const rig = serviceRig();
  beforeAll(async () => {
    service = await rig.start({ ADMIN_TOKEN, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000", SEND_MAX_ATTEMPTS: "1" }, { agent });
  });
  return rig;
}

export function admin(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return fetch(`${service.url}${path}`, { method, headers: { ...AUTH, ...init.headers }, ...(init.body !== undefined ? { body: init.body } : {}) });
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}
