import type { RedisScript } from "./redis-script.js";

/** A scheduler stopping cleanly gives up the role, so that a standby takes it at once. */
export const releaseLease: RedisScript = {
  name: "weftReleaseLease",
  numberOfKeys: 2,
  lua: `--[[
  Deletes the scheduler lease if the caller's epoch is the current one, so a standby need not wait
  for it to lapse. The epoch stays: the next scheduler to take the role gets a larger one.

  Input:
    KEYS[1] scheduler lease (STRING with a TTL)
    KEYS[2] scheduler epoch (STRING, an integer)

    ARGV[1] the caller's epoch

  Output:
    1 released; 0 the caller did not hold the role (another took it), nothing changed
]]
local rcall = redis.call

if rcall("GET", KEYS[2]) ~= ARGV[1] then
  return 0
end
rcall("DEL", KEYS[1])
return 1
`,
};
