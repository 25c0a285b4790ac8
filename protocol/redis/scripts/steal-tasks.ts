import type { RedisScript } from "./redis-script.js";
import { fenceCheck } from "./scheduler-fence.js";

/** Moves not-yet-started tasks from a saturated worker's queue to an idle worker's. */
export const stealTasks: RedisScript = {
  name: "weftStealTasks",
  numberOfKeys: 6,
  lua: `--[[
  For each task key: if the task is still in the victim's queue, moves it, with its priority, to
  the thief's queue; otherwise refuses. A take and a steal of one task are each atomic, so exactly
  one of them gets the task: it never runs twice and is never lost. The payload stays where it is
  (the shared payload hash), so nothing but the queue entry moves.

  A reply that moved tasks is recorded under the call's id for a while: the same call sent again (its
  reply was lost with the connection, as when Redis restarts, and ioredis sends unanswered commands
  again once it has reconnected) gets the recorded reply. Run again, it would refuse the tasks it
  moved (they are no longer the victim's), and the scheduler would wait for the victim to run tasks
  it never will. A call that moved nothing may run again: whatever it does then is what it answers.

  Input:
    KEYS[1] victim queue (ZSET)
    KEYS[2] thief queue (ZSET)
    KEYS[3] thief state (STRING)
    KEYS[4] thief wake (LIST)
    KEYS[5] scheduler epoch (STRING)
    KEYS[6] the call's reply record (STRING, JSON, with a TTL)

    ARGV[1] the scheduler's epoch; "" writes unfenced (see scheduler-fence.ts)
    ARGV[2] lifetime of the reply record, in ms
    ARGV[3..] task keys

  Output:
    { flag1, flag2, ... }, one per task key, in order:
      1 accepted: the task is now queued on the thief
      0 refused: the victim had already taken it (it runs there), or it was not queued there at
        all, or the thief is stopping or dead (then every key is refused and nothing moves)
    error "FENCED ..." when ARGV[1] is not the current scheduler epoch (nothing moved)
]]
local rcall = redis.call

${fenceCheck("KEYS[5]", "steal-tasks")}

local recorded = rcall("GET", KEYS[6])
if recorded then
  return cjson.decode(recorded)
end

local flags = {}
local keys = #ARGV - 2
if rcall("EXISTS", KEYS[3]) == 1 then
  for i = 1, keys do
    flags[i] = 0
  end
  return flags
end

local moved = false
for i = 1, keys do
  local key = ARGV[i + 2]
  local priority = rcall("ZSCORE", KEYS[1], key)
  if priority then
    rcall("ZREM", KEYS[1], key)
    rcall("ZADD", KEYS[2], priority, key)
    moved = true
    flags[i] = 1
  else
    flags[i] = 0
  end
end
if moved then
  rcall("LPUSH", KEYS[4], "1")
  rcall("LTRIM", KEYS[4], 0, 0)
  rcall("SET", KEYS[6], cjson.encode(flags), "PX", ARGV[2])
end
return flags
`,
};
