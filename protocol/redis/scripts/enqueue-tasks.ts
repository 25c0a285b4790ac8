import type { RedisScript } from "./redis-script.js";
import { fenceCheck } from "./scheduler-fence.js";

/** Adds a batch of tasks to one worker's queue: one round trip for the whole batch. */
export const enqueueTasks: RedisScript = {
  name: "weftEnqueueTasks",
  numberOfKeys: 6,
  lua: `--[[
  Adds tasks, with their payloads and priorities, to one worker's queue, and wakes the worker.

  An accepted call's id is kept among the worker's last 100: the same call sent again (its reply was
  lost with the connection, as when Redis restarts, and ioredis sends unanswered commands again once
  it has reconnected) is answered as accepted and writes nothing. Run again, it would queue tasks the
  worker may have taken and run meanwhile, and they would run twice.

  Input:
    KEYS[1] worker queue (ZSET)
    KEYS[2] task payloads (HASH)
    KEYS[3] worker state (STRING)
    KEYS[4] worker wake (LIST)
    KEYS[5] scheduler epoch (STRING)
    KEYS[6] the worker's recent enqueues (LIST): ids of the last 100 accepted calls, newest first

    ARGV[1] the scheduler's epoch; "" writes unfenced (see scheduler-fence.ts)
    ARGV[2] the call's id, unique among the calls for this worker; "" keeps no record
    ARGV[3i+3] task key
    ARGV[3i+4] priority, a number as text (smaller runs first)
    ARGV[3i+5] payload (bytes)
    for i = 0 .. n-1

  Output:
    { state, added }
      state: "running" when the tasks were queued; "stopping" or "dead" when the worker takes no
             more work and nothing was written (the caller must place the tasks elsewhere)
      added: how many keys were new to the queue (a key already queued there gets the new priority
             and payload and is not counted); 0 for a call sent again
    error "FENCED ..." when ARGV[1] is not the current scheduler epoch (nothing was written)
]]
local rcall = redis.call

${fenceCheck("KEYS[5]", "enqueue-tasks")}

if #ARGV % 3 ~= 2 then
  return redis.error_reply("ERR weft enqueue-tasks: ARGV must be the call's id, then (key, priority, payload) triples")
end
-- Scripts are not rolled back on error, so every argument is checked before the first write.
for i = 4, #ARGV, 3 do
  if tonumber(ARGV[i]) == nil then
    return redis.error_reply("ERR weft enqueue-tasks: priority of " .. ARGV[i - 1] .. " is not a number")
  end
end

if ARGV[2] ~= "" and rcall("LPOS", KEYS[6], ARGV[2]) then
  return { "running", 0 }
end

local state = rcall("GET", KEYS[3])
if state then
  return { state, 0 }
end

-- Multi-member ZADD and HSET in chunks: one call per task costs more than the writes themselves,
-- and unpack() is bounded by the Lua C stack (8,000 slots).
local added = 0
local chunk = 1000
for first = 3, #ARGV, 3 * chunk do
  local last = math.min(first + 3 * chunk - 1, #ARGV)
  local scored, hashed = {}, {}
  for i = first, last, 3 do
    -- The score goes to ZADD as the caller's text, never through a Lua number, so it stays exact.
    scored[#scored + 1] = ARGV[i + 1]
    scored[#scored + 1] = ARGV[i]
    hashed[#hashed + 1] = ARGV[i]
    hashed[#hashed + 1] = ARGV[i + 2]
  end
  added = added + rcall("ZADD", KEYS[1], unpack(scored))
  rcall("HSET", KEYS[2], unpack(hashed))
end
if #ARGV > 2 then
  rcall("LPUSH", KEYS[4], "1")
  rcall("LTRIM", KEYS[4], 0, 0)
end
if ARGV[2] ~= "" then
  rcall("LPUSH", KEYS[6], ARGV[2])
  rcall("LTRIM", KEYS[6], 0, 99)
end
return { "running", added }
`,
};
