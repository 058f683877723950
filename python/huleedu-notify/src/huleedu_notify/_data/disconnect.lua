-- HuleEdu disconnect, version 1: cut a user off in one atomic step. Every service instance that
-- holds a socket of the user closes it (1008 token_revoked); with an issued-before time, tokens
-- issued before it are refused at the handshake too, for as long as the key lives. Any language
-- can run it (EVAL, or SCRIPT LOAD + EVALSHA).
--
-- KEYS[1]  the user's revocation key   {<channel>}:revoked_before
-- ARGV[1]  the user's channel          <prefix>:<userId>
-- ARGV[2]  the command, JSON text      {"event":"ws.disconnect","data":{"reason":...,"issued_before":N}}
-- ARGV[3]  publish mode                classic (PUBLISH) | sharded (SPUBLISH) | both
-- ARGV[4]  issued before               epoch seconds (whole number), or empty for none
-- ARGV[5]  key TTL                     seconds (whole number >= 1), only with ARGV[4]: as long as a
--                                      token issued before ARGV[4] could still be accepted
--
-- The key keeps the latest issued-before time it was given and the longest TTL, so an older
-- revocation arriving late never shortens a newer one. Returns the number of subscribers that
-- received the command (service instances holding a socket of the user).

local key = KEYS[1]
local channel, command, mode = ARGV[1], ARGV[2], ARGV[3]
local before, ttl = ARGV[4], tonumber(ARGV[5])

if mode ~= 'classic' and mode ~= 'sharded' and mode ~= 'both' then
  return redis.error_reply('ERR huleedu disconnect: mode must be classic, sharded or both')
end
if string.sub(command, 1, 1) ~= '{' then
  return redis.error_reply('ERR huleedu disconnect: the command must be a JSON object')
end

if before and before ~= '' then
  local seconds = tonumber(before)
  if not seconds or seconds < 0 or seconds % 1 ~= 0 then
    return redis.error_reply('ERR huleedu disconnect: issued-before must be whole epoch seconds')
  end
  if not ttl or ttl < 1 or ttl % 1 ~= 0 then
    return redis.error_reply('ERR huleedu disconnect: the key TTL must be a whole number of seconds >= 1')
  end
  local current = tonumber(redis.call('GET', key))
  if current and current > seconds then seconds = current end
  local remaining = redis.call('TTL', key)
  if remaining > ttl then ttl = remaining end
  redis.call('SET', key, string.format('%d', seconds), 'EX', ttl)
end

local receivers = 0
if mode ~= 'sharded' then receivers = receivers + redis.call('PUBLISH', channel, command) end
if mode ~= 'classic' then receivers = receivers + redis.call('SPUBLISH', channel, command) end
return receivers
