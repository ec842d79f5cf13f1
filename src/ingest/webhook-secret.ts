import { randomBytes } from "node:crypto";
import { runAsync } from "../db/op.ts";
import type { SettingsStore } from "../db/settings.ts";

const KEY = "webhook_secret";

/** 43 characters of A-Z a-z 0-9 _ - (256 random bits), as Telegram's secret_token allows. */
export function generateSecret(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * WEBHOOK_SECRET when set; otherwise the one generated on the first start and kept in the
 * database. Instances starting at once on an empty database all end up with the first one stored.
 */
export async function resolveWebhookSecret(settings: SettingsStore, configured: string | undefined): Promise<string> {
  if (configured !== undefined) return configured;
  return runAsync(settings.setIfAbsent(KEY, generateSecret()));
}
