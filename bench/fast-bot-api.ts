export {};
// A fast fake Bot API for the side-by-side benchmark: answers every method at once with the
// Bot API's JSON shapes and counts sendMessage calls (GET /stats), so timbre and GramIO are
// measured against the same cheap peer. Usage: bun bench/fast-bot-api.ts TOKEN
const token = process.argv[2] ?? "";
let sent = 0;
let lastSentAt = 0;
let messageId = 0;
const me = { id: Number(token.split(":")[0]) || 1, is_bot: true, first_name: "Bench", username: "bench_bot" };

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/stats") return Response.json({ sent, lastSentAt });
    if (url.pathname === "/reset") {
      sent = 0;
      lastSentAt = 0;
      return Response.json({ ok: true });
    }
    const method = url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
    const params = request.method === "POST" ? ((await request.json().catch(() => ({}))) as Record<string, unknown>) : {};
    switch (method) {
      case "sendMessage":
        sent++;
        lastSentAt = Date.now();
        return Response.json({ ok: true, result: { message_id: ++messageId, date: Math.floor(Date.now() / 1000), chat: { id: params.chat_id, type: "private" }, text: params.text } });
      case "getMe":
        return Response.json({ ok: true, result: me });
      case "getWebhookInfo":
        return Response.json({ ok: true, result: { url: "", has_custom_certificate: false, pending_update_count: 0 } });
      default:
        return Response.json({ ok: true, result: true });
    }
  },
});
console.log(`listening http://127.0.0.1:${server.port}`);
