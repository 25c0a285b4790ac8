import type { RedisScript } from "./redis-script.js";
import { fenceCheck } from "./scheduler-fence.js";

/** Takes back everything a dead or stopping worker still holds, and retires it for good. */
export const recoverWorker: RedisScript = {
  name: "weftRecoverWorker",
  numberOfKeys: 11,
  lua: `--[[
  Returns every task in a worker's queue and in-flight hash, with its payload, and deletes them;
  marks the worker dead (a tombstone with a TTL, so it can neither take work nor re-register under
  the same id) and removes it from the registry. Idempotent: a second call finds nothing and
  returns empty lists.

  Input:
    KEYS[1] worker queue (ZSET)
    KEYS[2] worker in-flight (HASH)
    KEYS[3] task payloads (HASH)
    KEYS[4] worker state (STRING)
    KEYS[5] worker heartbeat (STRING)
    KEYS[6] worker registry (HASH)
    KEYS[7] worker wake (LIST)
    KEYS[8] worker inbox (LIST): messages for a worker that will never read them
    KEYS[9] scheduler epoch (STRING)
    KEYS[10] worker's last take (LIST)
    KEYS[11] worker's recent enqueues (LIST)

    ARGV[1] the scheduler's epoch; "" writes unfenced, as a worker retiring itself does (see
            scheduler-fence.ts)
    ARGV[2] worker id (its field in the registry)
    ARGV[3] lifetime of the "dead" tombstone, in ms
    ARGV[4] "1": recover only if the heartbeat has expired or the worker is stopping, so a
            decision taken on a stale view of the workers cannot retire a live one; "0": always

  Output:
    { recovered, queued, inFlight }
      recovered: 1, or 0 when ARGV[4] is "1" and the worker is running with a live heartbeat
                 (nothing was changed)
      queued:    { key1, payload1, priority1, ... } tasks it had not started, in priority order
      inFlight:  { key1, payload1, ... } tasks it had taken and not finished
    error "FENCED ..." when ARGV[1] is not the current scheduler epoch (nothing was changed)
]]
local rcall = redis.call

${fenceCheck("KEYS[9]", "recover-worker")}

local state = rcall("GET", KEYS[4])
if ARGV[4] == "1" and not state and rcall("EXISTS", KEYS[5]) == 1 then
  return { 0, {}, {} }
end

local queued = {}
local entries = rcall("ZRANGE", KEYS[1], 0, -1, "WITHSCORES")
for i = 1, #entries, 2 do
  local key = entries[i]
  queued[#queued + 1] = key
  queued[#queued + 1] = rcall("HGET", KEYS[3], key) or ""
  queued[#queued + 1] = entries[i + 1]
  rcall("HDEL", KEYS[3], key)
end

local inFlight = rcall("HGETALL", KEYS[2])

rcall("DEL", KEYS[1], KEYS[2], KEYS[5], KEYS[7], KEYS[8], KEYS[10], KEYS[11])
rcall("HDEL", KEYS[6], ARGV[2])
rcall("SET", KEYS[4], "dead", "PX", ARGV[3])
return { 1, queued, inFlight }
`,
};
