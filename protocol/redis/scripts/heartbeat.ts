import type { RedisScript } from "./redis-script.js";

/** A worker's proof of life, which also keeps its registry entry current. */
export const heartbeat: RedisScript = {
  name: "weftHeartbeat",
  numberOfKeys: 4,
  lua: `--[[
  Sets a worker's heartbeat key with a TTL and registers the worker with its metadata, unless the
  worker has been declared dead: then nothing is written, because its tasks were already handed to
  other workers and it must not come back under the same id.

  Input:
    KEYS[1] worker heartbeat (STRING)
    KEYS[2] worker registry (HASH)
    KEYS[3] worker state (STRING)
    KEYS[4] cluster generation (STRING): which scheduler's view Redis holds

    ARGV[1] worker id (its field in the registry)
    ARGV[2] heartbeat TTL in ms
    ARGV[3] worker metadata, JSON

  Output:
    { state, generation }
      state:      "running", "stopping", or "dead" (the worker must exit)
      generation: the cluster generation, "" when there is none (no scheduler yet, or Redis lost
                  its data): a worker that sees it change sends the scheduler its account
]]
local rcall = redis.call

local state = rcall("GET", KEYS[3])
local generation = rcall("GET", KEYS[4]) or ""
if state == "dead" then
  return { "dead", generation }
end

local now = rcall("TIME")
rcall("SET", KEYS[1], now[1] .. string.format("%03d", math.floor(now[2] / 1000)), "PX", ARGV[2])
rcall("HSET", KEYS[2], ARGV[1], ARGV[3])
return { state or "running", generation }
`,
};
