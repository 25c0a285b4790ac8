import type { RedisScript } from "./redis-script.js";
import { fenceCheck } from "./scheduler-fence.js";

/** The scheduler tells a worker something other than a task: release results, cancel tasks. */
export const sendToWorker: RedisScript = {
  name: "weftSendToWorker",
  numberOfKeys: 4,
  lua: `--[[
  Appends messages to a worker's inbox and wakes the worker, unless it is dead (then nothing is
  written: a recovered worker holds nothing to release).

  Input:
    KEYS[1] worker inbox (LIST)
    KEYS[2] worker state (STRING)
    KEYS[3] worker wake (LIST, at most one token)
    KEYS[4] scheduler epoch (STRING)

    ARGV[1] the scheduler's epoch; "" writes unfenced (see scheduler-fence.ts)
    ARGV[2..n] encoded messages, at least one

  Output:
    1 when the messages were appended, 0 when the worker is dead.
    error "FENCED ..." when ARGV[1] is not the current scheduler epoch (nothing was written)
]]
local rcall = redis.call

${fenceCheck("KEYS[4]", "send-to-worker")}

if rcall("GET", KEYS[2]) == "dead" then
  return 0
end
rcall("RPUSH", KEYS[1], unpack(ARGV, 2))
if rcall("LLEN", KEYS[3]) == 0 then
  rcall("LPUSH", KEYS[3], "1")
end
return 1
`,
};
