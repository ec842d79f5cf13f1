/** The llm agent's settings, read from the LLM_* variables in src/config.ts. */
export interface LlmSettings {
  /** LLM_BASE_URL (default https://api.openai.com/v1): an OpenAI-compatible API root, no trailing slash; calls go to `{baseUrl}/chat/completions`. */
  baseUrl: string;
  /** LLM_API_KEY: sent as `Authorization: Bearer …` when set (local servers need none). */
  apiKey: string | undefined;
  /** LLM_MODEL: the model's name as the server knows it (required with AGENT=llm). */
  model: string;
  /** LLM_SYSTEM_PROMPT, or the text of LLM_SYSTEM_PROMPT_FILE (default DEFAULT_SYSTEM_PROMPT). */
  systemPrompt: string;
  /** LLM_MAX_TURNS (default 8): model calls per run at most, tool rounds included. */
  maxTurns: number;
  /** LLM_HISTORY_MESSAGES (default 40): messages of the conversation's history sent with each call and remembered. */
  historyMessages: number;
  /** LLM_TIMEOUT_SECONDS (default 120): one model call's time limit; a call over it is aborted. */
  timeoutSeconds: number;
}

export const LLM_DEFAULTS = {
  baseUrl: "https://api.openai.com/v1",
  maxTurns: 8,
  historyMessages: 40,
  timeoutSeconds: 120,
} as const;

export const DEFAULT_SYSTEM_PROMPT = [
  "You are a helpful assistant talking with a person in a Telegram chat.",
  "Answer in the person's language, briefly and in plain text (no Markdown tables).",
  "When you need something only the person can tell you, call ask_user with one clear question;",
  "give choices when the answer is one of a few short options.",
].join(" ");
