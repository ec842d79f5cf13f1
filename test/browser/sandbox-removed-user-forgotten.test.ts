/**
 * README, Sandbox: "**Removing a user** (the bin in the chat's header) deletes their chat and its
 * history from the page and from the sandbox's tables".
 *
 * After removing a user with the bin, the sandbox's tables (`sandbox_chats`, `sandbox_messages`,
 * `sandbox_updates`) should hold nothing of their chat but the marker that the id was removed.
 * SandboxStore.removeUser (src/sandbox/store.ts) deletes the messages and nulls `user`, but on
 * conflict it leaves the `chat` column as it was: the chat object with the user's first_name
 * stays in `sandbox_chats`.
 */
import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { waitFor } from "../helpers.ts";
import { hasChromium } from "./launch.ts";
import { openChatWithNewUser, sandboxWithPage } from "./sandbox-support.ts";

const NAME = "Zebulon";
const sandbox = sandboxWithPage({ AGENT: "echo", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });

/** Every row of the sandbox's tables that mentions `needle` anywhere, as "table: row". */
function sandboxRowsMentioning(needle: string): string[] {
  const db = new Database(sandbox.databasePath, { readonly: true });
  try {
    const found: string[] = [];
    for (const table of ["sandbox_chats", "sandbox_messages", "sandbox_updates"]) {
      for (const row of db.query(`SELECT * FROM ${table}`).all() as Record<string, unknown>[]) {
        const text = JSON.stringify(row);
        if (text.includes(needle)) found.push(`${table}: ${text}`);
      }
    }
    return found;
  } finally {
    db.close();
  }
}

test.skipIf(!hasChromium)("after the bin removes a user, the sandbox's tables no longer hold their chat", async () => {
  await openChatWithNewUser(sandbox, NAME);
  const { page, service } = sandbox;
  const id = Number(await page.locator(".chat-item.active").getAttribute("data-chat-id"));
  await page.fill("#input", "hello from me");
  await page.press("#input", "Enter");
  await page.locator("#messages .bubble.bot .text", { hasText: "hello from me" }).waitFor({ timeout: 15_000 });
  // Everything delivered: no pending update holds the text any more.
  await waitFor(() => service.emulator!.pendingUpdates() === 0, "the updates delivered");
  expect(sandboxRowsMentioning(NAME).length).toBeGreaterThan(0);

  await page.click("#remove-user");
  await page.click("#remove-confirm");
  await page.locator(`.chat-item[data-chat-id="${id}"]`).waitFor({ state: "detached" });
  expect(sandboxRowsMentioning("hello from me")).toEqual([]);
  // Their chat is deleted from the sandbox's tables: nothing there still names them.
  expect(sandboxRowsMentioning(NAME)).toEqual([]);
}, 60_000);
