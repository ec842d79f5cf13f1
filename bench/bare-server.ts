// The baseline: a bare Bun.serve that parses the JSON body and answers {"ok":true}.
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const update = (await request.json()) as { update_id?: unknown };
    if (typeof update.update_id !== "number") return new Response('{"ok":false}', { status: 400 });
    return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
  },
});
console.log(`listening http://127.0.0.1:${server.port}`);
