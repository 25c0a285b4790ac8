import type { RedisScript } from "./redis-script.js";

/** A worker tells the scheduler everything it has, after the cluster's generation changed. */
export const sendAccount: RedisScript = {
  name: "weftSendAccount",
  numberOfKeys: 3,
  lua: `--[[
  Appends a worker's account to the events stream, with the tasks Redis holds for it: those waiting
  in its queue and those it has taken. Read in the same atomic step as the append, so that every
  task the scheduler enqueued before this call is named, in the account or as taken by the worker.

  Input:
    KEYS[1] events (STREAM)
    KEYS[2] worker queue (ZSET)
    KEYS[3] worker in-flight (HASH)

    ARGV[1] worker id, written to the entry's "worker" field
    ARGV[2] the account (bytes, the entry's "account" field; see protocol/worker-account.ts)

  Output:
    the number of tasks named from Redis
]]
local rcall = redis.call

local assigned = rcall("ZRANGE", KEYS[2], 0, -1)
for _, key in ipairs(rcall("HKEYS", KEYS[3])) do
  assigned[#assigned + 1] = key
end
rcall("XADD", KEYS[1], "*", "worker", ARGV[1], "account", ARGV[2], "assigned", cmsgpack.pack(assigned))
return #assigned
`,
};
