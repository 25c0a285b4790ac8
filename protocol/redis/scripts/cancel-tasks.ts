import type { RedisScript } from "./redis-script.js";
import { fenceCheck } from "./scheduler-fence.js";

/** The scheduler no longer wants tasks it gave a worker: those still queued go, the others are cancelled by message. */
export const cancelTasks: RedisScript = {
  name: "weftCancelTasks",
  numberOfKeys: 6,
  lua: `--[[
  Removes the tasks still waiting in a worker's queue, payloads included, so that the worker never
  takes them; for the others (taken already, running or done), appends the cancel message to the
  worker's inbox and wakes it, so that it ends them and drops their results. Nothing is sent to a
  dead worker.

  Input:
    KEYS[1] worker queue (ZSET)
    KEYS[2] task payloads (HASH)
    KEYS[3] worker inbox (LIST)
    KEYS[4] worker state (STRING)
    KEYS[5] worker wake (LIST, at most one token)
    KEYS[6] scheduler epoch (STRING)

    ARGV[1] the scheduler's epoch; "" writes unfenced (see scheduler-fence.ts)
    ARGV[2] the encoded cancel message naming every task of ARGV[3..]
    ARGV[3..n] task keys

  Output:
    { key, ... } the tasks removed from the queue; the message was sent unless that is all of them
    error "FENCED ..." or "WIPED ..." when ARGV[1] is not the current scheduler epoch (nothing was written)
]]
local rcall = redis.call

${fenceCheck("KEYS[6]", "cancel-tasks")}

local removed = {}
for i = 3, #ARGV do
  if rcall("ZREM", KEYS[1], ARGV[i]) == 1 then
    rcall("HDEL", KEYS[2], ARGV[i])
    removed[#removed + 1] = ARGV[i]
  end
end
if #removed < #ARGV - 2 and rcall("GET", KEYS[4]) ~= "dead" then
  rcall("RPUSH", KEYS[3], ARGV[2])
  if rcall("LLEN", KEYS[5]) == 0 then
    rcall("LPUSH", KEYS[5], "1")
  end
end
return removed
`,
};
