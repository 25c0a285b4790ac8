import type { RedisScript } from "./redis-script.js";

/** A worker announces that it is shutting down and takes no more work. */
export const markStopping: RedisScript = {
  name: "weftMarkStopping",
  numberOfKeys: 1,
  lua: `--[[
  Marks a running worker as stopping: from then on its takes return nothing, enqueues to it and
  steals to it are refused. A dead worker stays dead.

  Input:
    KEYS[1] worker state (STRING)

  Output:
    the worker's state after the call: "stopping", or "dead" if it had already been recovered
]]
local state = redis.call("GET", KEYS[1])
if state then
  return state
end
redis.call("SET", KEYS[1], "stopping")
return "stopping"
`,
};
