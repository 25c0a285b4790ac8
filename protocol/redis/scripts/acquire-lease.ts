import type { RedisScript } from "./redis-script.js";

/** A scheduler takes the scheduler role of its cluster, if nobody holds it. */
export const acquireLease: RedisScript = {
  name: "weftAcquireLease",
  numberOfKeys: 2,
  lua: `--[[
  Takes the scheduler lease if it is free (never taken, released, or lapsed): increments the
  scheduler epoch and sets the lease (SET NX PX) to the candidate's description with that epoch and
  the time it was taken. Both in one atomic step, so two candidates never get the same epoch and the
  holder's epoch is always the largest ever given.

  Input:
    KEYS[1] scheduler lease (STRING with a TTL)
    KEYS[2] scheduler epoch (STRING, an integer)

    ARGV[1] the candidate, a JSON object with at least one field, such as {"id":...,"host":...,"pid":...}
    ARGV[2] lifetime of the lease in ms

  Output:
    { 1, lease } when taken: lease is the JSON stored, the candidate's fields after "epoch" (the
                 new epoch) and "since" (Redis server time in ms)
    { 0, lease } when another scheduler holds it: that holder's JSON
]]
local rcall = redis.call

local held = rcall("GET", KEYS[1])
if held then
  return { 0, held }
end
local epoch = rcall("INCR", KEYS[2])
local now = rcall("TIME")
local since = now[1] .. string.format("%03d", math.floor(now[2] / 1000))
local lease = '{"epoch":' .. epoch .. ',"since":' .. since .. ',' .. string.sub(ARGV[1], 2)
rcall("SET", KEYS[1], lease, "NX", "PX", ARGV[2])
return { 1, lease }
`,
};
