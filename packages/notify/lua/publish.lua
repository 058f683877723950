-- HuleEdu durable publish, version 1: append one message to a user's history and publish it live,
-- in one atomic step. Load once (SCRIPT LOAD) and run with EVALSHA; any language can call it.
--
-- KEYS[1]  the user's history stream   {<channel>}:history
-- KEYS[2]  the user's history meta     {<channel>}:meta      (hash: epoch, top)
-- KEYS[3]  optional idempotency key    {<channel>}:idem:<key>
-- ARGV[1]  the user's channel          <prefix>:<userId>
-- ARGV[2]  the envelope, JSON text of a non-empty object: {"event":...,"data":...}
-- ARGV[3]  publish mode                classic (PUBLISH) | sharded (SPUBLISH) | both
-- ARGV[4]  history length              entries kept (exact MAXLEN), at least 1
-- ARGV[5]  history TTL                 seconds the history lives after its last message, at least 1
-- ARGV[6]  new epoch                   used only when the user has no history: [A-Za-z0-9_-]{1,64}
-- ARGV[7]  idempotency TTL             seconds a KEYS[3] is remembered (only with KEYS[3])
--
-- Returns {position, epoch, receivers, duplicate}: the message's position in the history, the
-- history's epoch, how many subscribers received it live, and 1 when KEYS[3] had been seen
-- already (nothing published, the first publish's position and epoch returned), else 0.
-- The published and stored message is the envelope with two fields put first:
-- {"position":<position>,"epoch":"<epoch>",...the envelope's own fields}.

local stream, meta, idem = KEYS[1], KEYS[2], KEYS[3]
local channel, body, mode = ARGV[1], ARGV[2], ARGV[3]
local length, ttl, fresh = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]

if idem then
  local seen = redis.call('GET', idem)
  if seen then
    local position, epoch = string.match(seen, '^(%d+):(.+)$')
    if position then return {tonumber(position), epoch, 0, 1} end
  end
end

if mode ~= 'classic' and mode ~= 'sharded' and mode ~= 'both' then
  return redis.error_reply('ERR huleedu publish: mode must be classic, sharded or both')
end
if not length or length < 1 or length % 1 ~= 0 then
  return redis.error_reply('ERR huleedu publish: history length must be a whole number >= 1')
end
if not ttl or ttl < 1 or ttl % 1 ~= 0 then
  return redis.error_reply('ERR huleedu publish: history TTL must be a whole number of seconds >= 1')
end
if string.sub(body, 1, 1) ~= '{' or not string.find(body, '^{%s*"') then
  return redis.error_reply('ERR huleedu publish: the envelope must be a JSON object with fields')
end
-- Checked before anything is written: an error after the PUBLISH would make a retry publish twice.
local idemTtl = tonumber(ARGV[7])
if idem and (not idemTtl or idemTtl < 1 or idemTtl % 1 ~= 0) then
  return redis.error_reply('ERR huleedu publish: idempotency TTL must be a whole number of seconds >= 1')
end

local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then
  if not fresh or not string.find(fresh, '^[A-Za-z0-9_-]+$') or #fresh > 64 then
    return redis.error_reply('ERR huleedu publish: new epoch must match [A-Za-z0-9_-]{1,64}')
  end
  epoch = fresh
  -- A stream left without its meta (deleted by hand) would refuse the restarted positions.
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'epoch', epoch, 'top', 0)
end

local position = redis.call('HINCRBY', meta, 'top', 1)
local message = '{"position":' .. position .. ',"epoch":"' .. epoch .. '",' .. string.sub(body, 2)
redis.call('XADD', stream, 'MAXLEN', length, position .. '-0', 'm', message)
redis.call('EXPIRE', stream, ttl)
redis.call('EXPIRE', meta, ttl)

local receivers = 0
if mode ~= 'sharded' then receivers = receivers + redis.call('PUBLISH', channel, message) end
if mode ~= 'classic' then receivers = receivers + redis.call('SPUBLISH', channel, message) end

if idem then redis.call('SET', idem, position .. ':' .. epoch, 'EX', idemTtl) end

return {position, epoch, receivers, 0}
