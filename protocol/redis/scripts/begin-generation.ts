import type { RedisScript } from "./redis-script.js";
import { fenceCheck } from "./scheduler-fence.js";

/** A scheduler starts a new generation of the cluster: it took the role, or Redis lost its data. */
export const beginGeneration: RedisScript = {
  name: "weftBeginGeneration",
  // Run with EVAL and a key count of its own: the queues to clear vary in number.
  numberOfKeys: 4,
  lua: `--[[
  Sets the cluster generation to a new value, so that every worker's next heartbeat sees the change
  and sends its account (what it holds, runs and has queued). A scheduler that has just taken the
  role also empties the workers' queues and the events stream in the same step: the tasks queued
  there by its predecessor, whose plans it does not know, would run for nobody, and the reports its
  predecessor did not read are superseded by the accounts, which name every result the workers
  hold. Tasks already taken are left to finish; the workers' accounts name them.

  Input:
    KEYS[1] scheduler epoch (STRING)
    KEYS[2] cluster generation (STRING)
    KEYS[3] task payloads (HASH)
    KEYS[4] events (STREAM)
    KEYS[5..] worker queues (ZSET) to empty

    ARGV[1] the scheduler's epoch (see scheduler-fence.ts)
    ARGV[2] the new generation
    ARGV[3] "1" when the scheduler has just taken the role: empty the queues and the events stream;
            "0" after Redis lost its data (what was queued and reported since is current)

  Output:
    the number of queued tasks removed
    error "FENCED ..." or "WIPED ..." (nothing was changed)
]]
local rcall = redis.call

${fenceCheck("KEYS[1]", "begin-generation")}

local removed = 0
if ARGV[3] == "1" then
  rcall("DEL", KEYS[4])
end
for i = 5, #KEYS do
  local keys = rcall("ZRANGE", KEYS[i], 0, -1)
  for _, key in ipairs(keys) do
    rcall("HDEL", KEYS[3], key)
  end
  removed = removed + #keys
  rcall("DEL", KEYS[i])
end
rcall("SET", KEYS[2], ARGV[2])
return removed
`,
};
