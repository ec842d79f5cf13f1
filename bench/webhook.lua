-- wrk script: POST a Telegram text update with a distinct update_id per request.
-- Threads get disjoint id ranges; chats cycle over 1000 private chats.
local secret = os.getenv("WEBHOOK_SECRET") or ""
local base = tonumber(os.getenv("BENCH_ID_BASE") or "1")
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  offset = base + tonumber(tid) * 100000000
  headers = { ["Content-Type"] = "application/json", ["X-Telegram-Bot-Api-Secret-Token"] = secret }
end

function request()
  counter = counter + 1
  local id = offset + counter
  local chat = 1 + (id % 1000)
  local body = string.format(
    '{"update_id":%d,"message":{"message_id":%d,"from":{"id":%d,"is_bot":false,"first_name":"Bench","language_code":"en"},"chat":{"id":%d,"type":"private","first_name":"Bench"},"date":1700000000,"text":"hello %d"}}',
    id, counter, chat, chat, id)
  return wrk.format("POST", "/telegram/webhook", headers, body)
end
