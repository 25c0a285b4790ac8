/**
 * The first word of the error a fenced script replies with when it refuses a deposed scheduler's
 * write. Redis error replies start with an upper-case code, as `WRONGTYPE` or `NOSCRIPT` do.
 */
export const FENCED_ERROR_CODE = "FENCED";

/**
 * The first word of the error a fenced script replies with when the scheduler epoch is missing
 * altogether: Redis lost its data (restarted empty). Not a deposition: the scheduler renews its lease,
 * which sets the epoch again, and reconciles with its workers (see `DistributedScheduler`).
 */
export const WIPED_ERROR_CODE = "WIPED";

/**
 * The Lua lines that open every script a scheduler calls to write: they refuse the write, before
 * anything is written, unless it carries the current scheduler epoch (the fencing token; see
 * `scheduler-lease.ts`). A scheduler that lost its lease, paused past it or cut off from Redis,
 * holds an older epoch and so can neither enqueue, send, steal, rescore, recover nor take events: once a
 * new scheduler has taken the role, the old one's writes are refused atomically with the check.
 *
 * The epoch is ARGV[1]. An empty one is not checked: workers (a worker retiring itself calls
 * `recover-worker`) and tools that run without a scheduler write unfenced; every write of a
 * `DistributedScheduler` carries its epoch.
 *
 * @param epochKey - The Lua expression naming the scheduler epoch key, such as `"KEYS[5]"`.
 * @param verb - The script's name, for the error message.
 * @example
 * const lua = `local rcall = redis.call\n${fenceCheck("KEYS[3]", "send-to-worker")}\n...`;
 */
export function fenceCheck(epochKey: string, verb: string): string {
  return `-- Fence: refuse a deposed scheduler's write before anything is written.
if ARGV[1] ~= "" then
  local current = redis.call("GET", ${epochKey})
  if not current then
    return redis.error_reply("${WIPED_ERROR_CODE} weft ${verb}: the scheduler epoch is missing (Redis lost its data)")
  end
  if current ~= ARGV[1] then
    return redis.error_reply("${FENCED_ERROR_CODE} weft ${verb}: scheduler epoch " .. ARGV[1] .. " is not the current one (" .. (current or "none") .. ")")
  end
end`;
}
