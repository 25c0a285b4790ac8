import type { RedisScript } from "./redis-script.js";

/** A worker is done with tasks: clears them from its in-flight hash and reports, in one round trip. */
export const finishTasks: RedisScript = {
  name: "weftFinishTasks",
  numberOfKeys: 2,
  lua: `--[[
  Removes finished tasks from a worker's in-flight hash and, in the same atomic step, appends the
  worker's report about them to the events stream, so a task is never finished without being
  reported, nor reported while still counted in flight.

  Input:
    KEYS[1] worker in-flight (HASH)
    KEYS[2] events (STREAM)

    ARGV[1] worker id, written to the event's "worker" field
    ARGV[2] event data (bytes, the event's "data" field); empty: append no event
    ARGV[3..] task keys

  Output:
    { flag1, flag2, ... }, one per task key, in order:
      1 the task was in flight and is now removed
      0 it was not: already finished, or the worker was declared dead and recovered, in which
        case the scheduler has already given the task to another worker
]]
local rcall = redis.call

local flags = {}
for i = 3, #ARGV do
  flags[#flags + 1] = rcall("HDEL", KEYS[1], ARGV[i])
end
if ARGV[2] ~= "" then
  rcall("XADD", KEYS[2], "*", "worker", ARGV[1], "data", ARGV[2])
end
return flags
`,
};
