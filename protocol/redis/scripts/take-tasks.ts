import type { RedisScript } from "./redis-script.js";

/** A worker claims its next tasks: one round trip for up to `count` of them. */
export const takeTasks: RedisScript = {
  name: "weftTakeTasks",
  numberOfKeys: 5,
  lua: `--[[
  Pops up to ARGV[1] tasks of highest priority (smallest score) from a worker's queue and marks
  them in flight: each task's payload moves from the shared payload hash into the worker's
  in-flight hash, where recovery finds it if the worker dies. The take is recorded under its id: the
  same take sent again (its reply was lost with the connection, as when Redis restarts, and ioredis
  sends unanswered commands again once it has reconnected) answers with the tasks it took, those
  still in flight, instead of taking more and leaving these in flight on a worker that never got them.

  Input:
    KEYS[1] worker queue (ZSET)
    KEYS[2] worker in-flight (HASH)
    KEYS[3] task payloads (HASH)
    KEYS[4] worker state (STRING)
    KEYS[5] worker's last take (LIST): take id, then key, priority, key, priority, ...

    ARGV[1] the most tasks to take, an integer from 1 to 1000 (the bound keeps unpack() within
            the Lua C stack)
    ARGV[2] the take's id, unique among the worker's takes; "" records nothing

  Output:
    { key1, payload1, priority1, key2, payload2, priority2, ... } in priority order;
    empty when the queue is empty or the worker is stopping or dead.
    A payload is empty only if the task had none, which the one-queue-per-key rule excludes.
]]
local rcall = redis.call

if ARGV[2] ~= "" and rcall("LINDEX", KEYS[5], 0) == ARGV[2] then
  local last = rcall("LRANGE", KEYS[5], 1, -1)
  local reply = {}
  for i = 1, #last, 2 do
    local payload = rcall("HGET", KEYS[2], last[i])
    if payload then
      reply[#reply + 1] = last[i]
      reply[#reply + 1] = payload
      reply[#reply + 1] = last[i + 1]
    end
  end
  return reply
end

local count = tonumber(ARGV[1])
if count == nil or count < 1 or count > 1000 then
  return redis.error_reply("ERR weft take-tasks: count must be an integer from 1 to 1000")
end
if rcall("EXISTS", KEYS[4]) == 1 then
  return {}
end

local popped = rcall("ZPOPMIN", KEYS[1], count)
if #popped == 0 then
  return {}
end
local keys = {}
for i = 1, #popped, 2 do
  keys[#keys + 1] = popped[i]
end
-- One multi-field call per hash rather than three calls per task: the calls, not the writes, are
-- the cost.
local payloads = rcall("HMGET", KEYS[3], unpack(keys))
rcall("HDEL", KEYS[3], unpack(keys))
local moved = {}
local reply = {}
local record = { ARGV[2] }
for i = 1, #keys do
  -- HMGET answers false for a missing field, which HSET would reject mid-script.
  local payload = payloads[i] or ""
  moved[#moved + 1] = keys[i]
  moved[#moved + 1] = payload
  reply[#reply + 1] = keys[i]
  reply[#reply + 1] = payload
  reply[#reply + 1] = popped[2 * i]
  record[#record + 1] = keys[i]
  record[#record + 1] = popped[2 * i]
end
rcall("HSET", KEYS[2], unpack(moved))
if ARGV[2] ~= "" then
  rcall("DEL", KEYS[5])
  rcall("RPUSH", KEYS[5], unpack(record))
end
return reply
`,
};
