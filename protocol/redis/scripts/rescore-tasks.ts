import type { RedisScript } from "./redis-script.js";
import { fenceCheck } from "./scheduler-fence.js";

/** The scheduler gives tasks still waiting in a worker's queue new priorities. */
export const rescoreTasks: RedisScript = {
  name: "weftRescoreTasks",
  numberOfKeys: 2,
  lua: `--[[
  Sets new scores for tasks still in a worker's queue (ZADD XX CH): a task not there is never
  added. Run with EVAL, never EVALSHA (see ControlPlane.rescoreTasks): it must run in the order sent.

  Input:
    KEYS[1] worker queue (ZSET)
    KEYS[2] scheduler epoch (STRING)

    ARGV[1] the scheduler's epoch; "" writes unfenced (see scheduler-fence.ts)
    ARGV[2i], ARGV[2i+1] priority (a number as text), task key; at most 1,000 pairs

  Output:
    how many tasks got a different score
    error "FENCED ..." when ARGV[1] is not the current scheduler epoch (nothing was written)
]]
local rcall = redis.call

${fenceCheck("KEYS[2]", "rescore-tasks")}

if #ARGV < 3 then
  return 0
end
return rcall("ZADD", KEYS[1], "XX", "CH", unpack(ARGV, 2))
`,
};
