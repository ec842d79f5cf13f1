import type { Params } from "./emulator-types.ts";

/** A Bot API error answer: `{"ok":false,"error_code":...,"description":...,"parameters":...}` with that HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    description: string,
    readonly parameters?: Record<string, unknown>,
  ) {
    super(description);
  }

  toResponse(): Response {
    const body: Record<string, unknown> = { ok: false, error_code: this.code, description: this.message };
    if (this.parameters) body.parameters = this.parameters;
    return Response.json(body, { status: this.code });
  }
}

/** A small seeded generator so fault injection is repeatable. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4_294_967_296;
  };
}

/** A call's parameters from the query string and a JSON, form or multipart body, as the Bot API takes them. */
export async function readParams(request: Request): Promise<Params> {
  const params: Params = Object.fromEntries(new URL(request.url).searchParams);
  if (request.method !== "POST") return params;
  const type = request.headers.get("content-type") ?? "";
  if (type.includes("multipart/form-data") || type.includes("application/x-www-form-urlencoded")) {
    const form = await request.formData();
    form.forEach((value, key) => {
      params[key] = typeof value === "string" ? value : "(file)";
    });
    return params;
  }
  const text = await request.text();
  if (text.trim() === "") return params;
  return { ...params, ...(JSON.parse(text) as Params) };
}

/** The chat a call names; 400 as Telegram answers when it names none, and "chat not found" for 0. */
export function requireChat(params: Params): number {
  const id = Number(params.chat_id);
  if (params.chat_id === undefined || params.chat_id === null || params.chat_id === "" || !Number.isFinite(id)) throw new ApiError(400, "Bad Request: chat_id is empty");
  if (id === 0 || !Number.isInteger(id)) throw new ApiError(400, "Bad Request: chat not found");
  return id;
}

export function isTrue(value: unknown): boolean {
  return value === true || value === "true";
}

export function parseList(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === "string" && value.startsWith("[")) return JSON.parse(value) as string[];
  return undefined;
}

/** A JSON parameter that may arrive as an object or as its JSON text (form bodies). */
export function jsonParam(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}
