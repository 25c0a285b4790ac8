import type { RedisScript } from "./redis-script.js";

/** The scheduler holding the role extends its lease. */
export const renewLease: RedisScript = {
  name: "weftRenewLease",
  numberOfKeys: 2,
  lua: `--[[
  Extends the scheduler lease of the scheduler whose epoch is the current one. The epoch, not the
  lease, decides: a lease that lapsed while nobody took the role (its holder paused a moment too
  long, and no standby was waiting) is set again, since no other scheduler has written meanwhile;
  once another scheduler took the role, the epoch moved on and the renewal is refused.

  A Redis that lost its data (restarted empty) has neither key: the holder sets both again, its
  epoch included, so epochs keep increasing for the next scheduler to take the role.

  Input:
    KEYS[1] scheduler lease (STRING with a TTL)
    KEYS[2] scheduler epoch (STRING, an integer)

    ARGV[1] the holder's epoch
    ARGV[2] lifetime of the lease in ms
    ARGV[3] the holder's lease JSON, as taken

  Output:
    { 1, lease } renewed: the lease JSON, as given
    { 0, lease } refused: another scheduler took the role; lease is its JSON, or "" when its
                 lease lapsed since
]]
local rcall = redis.call

local current = rcall("GET", KEYS[2])
if current == ARGV[1] or (not current and rcall("EXISTS", KEYS[1]) == 0) then
  rcall("SET", KEYS[2], ARGV[1])
  rcall("SET", KEYS[1], ARGV[3], "PX", ARGV[2])
  return { 1, ARGV[3] }
end
return { 0, rcall("GET", KEYS[1]) or "" }
`,
};
