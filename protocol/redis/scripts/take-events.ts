import type { RedisScript } from "./redis-script.js";
import { fenceCheck } from "./scheduler-fence.js";

/** The scheduler takes the workers' reports from the events stream: read and deleted in one step. */
export const takeEvents: RedisScript = {
  name: "weftTakeEvents",
  numberOfKeys: 2,
  lua: `--[[
  Reads the oldest entries of the events stream and deletes them, in one atomic step, for the
  scheduler holding the current epoch only: a deposed scheduler takes nothing, so the reports stay
  for the one that replaced it. The stream is a channel, not a log: what is taken is gone.

  Input:
    KEYS[1] events (STREAM)
    KEYS[2] scheduler epoch (STRING)

    ARGV[1] the scheduler's epoch; "" takes unfenced
    ARGV[2] the most entries to take, an integer from 1 to 1000 (the bound keeps unpack() within
            the Lua C stack)

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
local entries = rcall("XRANGE", KEYS[1], "-", "+", "COUNT", count)
if #entries > 0 then
  local ids = {}
  for i = 1, #entries do
    ids[i] = entries[i][1]
  end
  rcall("XDEL", KEYS[1], unpack(ids))
end
return entries
`,
};
