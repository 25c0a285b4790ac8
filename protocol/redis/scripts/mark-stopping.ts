import type { RedisScript } from "./redis-script.js";

/** A worker announces that it is shutting down: it takes no more work and hands back its queue. */
export const markStopping: RedisScript = {
  name: "weftMarkStopping",
  numberOfKeys: 4,
  lua: `--[[
  Marks a running worker as stopping: from then on its takes return nothing, and enqueues to it and
  steals to it are refused. In the same atomic step it hands back the tasks still in its queue
  (removing them and their payloads) and announces the stop on the events stream with them, so the
  scheduler places them elsewhere at once and copies away the results only this worker holds. Tasks the worker has already taken stay in flight: it finishes them. A dead
  worker stays dead, and hands back nothing (its recovery took everything).

  Input:
    KEYS[1] worker state (STRING)
    KEYS[2] worker queue (ZSET)
    KEYS[3] task payloads (HASH)
    KEYS[4] events (STREAM)

    ARGV[1] worker id, written to the event's "worker" field

  Output:
    { state, returned }
      state:    the worker's state after the call: "stopping", or "dead" if already recovered
      returned: how many queued tasks were handed back
]]
local rcall = redis.call

local state = rcall("GET", KEYS[1])
if state == "dead" then
  return { state, 0 }
end
rcall("SET", KEYS[1], "stopping")
local queued = rcall("ZRANGE", KEYS[2], 0, -1)
if #queued > 0 then
  rcall("DEL", KEYS[2])
  for i = 1, #queued, 1000 do
    rcall("HDEL", KEYS[3], unpack(queued, i, math.min(i + 999, #queued)))
  end
end
rcall("XADD", KEYS[4], "*", "worker", ARGV[1], "returned", cmsgpack.pack(queued))
return { "stopping", #queued }
`,
};
