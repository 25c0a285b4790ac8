import type { RedisScript } from "./redis-script.js";
import { fenceCheck } from "./scheduler-fence.js";

/** The scheduler takes the workers' reports from the events stream, deleting those it took before. */
export const takeEvents: RedisScript = {
  name: "weftTakeEvents",
  numberOfKeys: 2,
  lua: `--[[
  Deletes the entries the scheduler took before (it has them), then reads the oldest entries left,
  in one atomic step, for the scheduler holding the current epoch only: a deposed scheduler takes
  nothing, so the reports stay for the one that replaced it. The stream is a channel, not a log:
  what was taken is gone with the next take.

  Entries are deleted one take late so that a take can be sent again: ioredis sends an unanswered
  command again once it has reconnected (the connection closed before the reply came, as when Redis
  restarts), and the same take then deletes the same entries (XDEL of entries already gone does
  nothing) and answers with the same entries, where deleting them at once would have lost them.

  Input:
    KEYS[1] events (STREAM)
    KEYS[2] scheduler epoch (STRING)

    ARGV[1] the scheduler's epoch; "" takes unfenced
    ARGV[2] the most entries to take, an integer from 1 to 1000 (the bound keeps unpack() within
            the Lua C stack)
    ARGV[3..] ids of the entries the previous take returned, to delete; at most 1000

  Output:
    { { id, { field, value, ... } }, ... } oldest first, as XRANGE replies; empty when the stream is empty
    error "FENCED ..." when ARGV[1] is not the current epoch (nothing is taken)
]]
local rcall = redis.call

${fenceCheck("KEYS[2]", "take-events")}

local count = tonumber(ARGV[2])
if count == nil or count < 1 or count > 1000 then
  return redis.error_reply("ERR weft take-events: count must be an integer from 1 to 1000")
end
if #ARGV > 2 then
  rcall("XDEL", KEYS[1], unpack(ARGV, 3))
end
return rcall("XRANGE", KEYS[1], "-", "+", "COUNT", count)
`,
};
