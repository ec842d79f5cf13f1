import { expect, test } from "bun:test";
import { HISTORY_MAX_BYTES, historyOf, trimHistory } from "../../../src/agents/llm/history.ts";
import type { HistoryMessage } from "../../../src/agents/llm/wire.ts";

const user = (content: string): HistoryMessage => ({ role: "user", content });
const said = (content: string): HistoryMessage => ({ role: "assistant", content });
const calls = (...ids: string[]): HistoryMessage => ({ role: "assistant", content: null, tool_calls: ids.map((id) => ({ id, type: "function", function: { name: "ask_user", arguments: "{}" } })) });
const result = (id: string): HistoryMessage => ({ role: "tool", tool_call_id: id, content: `answer ${id}` });

test("a history within the limit is kept whole", () => {
  const history = [user("a"), calls("1"), result("1"), said("b")];
  expect(trimHistory(history, 4)).toEqual(history);
});

test("trimming drops the oldest messages, never splits a tool call from its results, and starts at a user message", () => {
  const history = [user("a"), calls("1", "2"), result("1"), result("2"), said("b"), user("c"), said("d")];
  // The last 5 would start with result 1; the call and both results go together or not at all,
  // and the model's answers to "a" go with "a": the history starts at the user's "c".
  expect(trimHistory(history, 5)).toEqual([user("c"), said("d")]);
  expect(trimHistory(history, 6)).toEqual([user("c"), said("d")]);
  expect(trimHistory(history, 7)).toEqual(history);
});

test("a tool result without its call, and a call missing a result, are dropped wherever they are", () => {
  expect(trimHistory([result("0"), user("a"), said("b")], 10)).toEqual([user("a"), said("b")]);
  expect(trimHistory([user("a"), calls("1", "2"), result("1"), user("b")], 10)).toEqual([user("a"), user("b")]);
  expect(trimHistory([user("a"), calls("1"), result("1"), result("9"), said("b")], 10)).toEqual([user("a"), calls("1"), result("1"), said("b")]);
});

test("the newest block larger than the limit leaves an empty history; zero keeps nothing", () => {
  expect(trimHistory([user("a"), calls("1", "2", "3"), result("1"), result("2"), result("3")], 3)).toEqual([]);
  expect(trimHistory([user("a"), said("b")], 0)).toEqual([]);
});

test("the history stays under its byte limit, so ctx.remember's 256 KiB is never reached", () => {
  const big = "x".repeat(60 * 1024);
  const history = [user(big), said(big), user(big), said(big), user("last")];
  const kept = trimHistory(history, 100);
  expect(Buffer.byteLength(JSON.stringify({ messages: kept }))).toBeLessThanOrEqual(HISTORY_MAX_BYTES);
  expect(kept).toEqual([user(big), said(big), user("last")]);
});

test("memory that is not an llm history is recognised, so the agent starts afresh instead of sending it", () => {
  expect(historyOf(undefined)).toEqual([]);
  expect(historyOf({ messages: [user("a")] })).toEqual([user("a")]);
  expect(historyOf({ count: 3 })).toBeUndefined();
  expect(historyOf({ messages: [{ role: "robot", content: "beep" }] })).toBeUndefined();
  expect(historyOf("text")).toBeUndefined();
});
