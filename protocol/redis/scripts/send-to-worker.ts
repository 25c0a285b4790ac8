import type { RedisScript } from "./redis-script.js";

/** The scheduler tells a worker something other than a task: release results, cancel tasks. */
export const sendToWorker: RedisScript = {
  name: "weftSendToWorker",
  numberOfKeys: 3,
  lua: `--[[
  Appends messages to a worker's inbox and wakes the worker, unless it is dead (then nothing is
  written: a recovered worker holds nothing to release).

  Input:
    KEYS[1] worker inbox (LIST)
    KEYS[2] worker state (STRING)
    KEYS[3] worker wake (LIST, at most one token)

    ARGV[1..n] encoded messages, at least one

  Output:
    1 when the messages were appended, 0 when the worker is dead.
]]
local rcall = redis.call

if rcall("GET", KEYS[2]) == "dead" then
  return 0
end
rcall("RPUSH", KEYS[1], unpack(ARGV))
if rcall("LLEN", KEYS[3]) == 0 then
  rcall("LPUSH", KEYS[3], "1")
end
return 1
`,
};
