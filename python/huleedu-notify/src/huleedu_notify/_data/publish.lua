-- HuleEdu durable publish, version 1: append one message to a user's history and publish it live,
-- in one atomic step. Load once (SCRIPT LOAD) and run with EVALSHA; any language can call it.
--
-- KEYS[1]  the user's history stream   {<channel>}:history
-- KEYS[2]  the user's history meta     {<channel>}:meta      (hash: epoch, top)
-- KEYS[3]  optional idempotency key    {<channel>}:idem:<key>
-- ARGV[1]  the user's channel          <prefix>:<userId>
-- ARGV[2]  the envelope, JSON text of an object: {"event":...,"data":...}; its event must not
--          start with "ws." (the service's own events) and it must not carry position, epoch
--          or published_ms (the script puts them first)
-- ARGV[3]  publish mode                classic (PUBLISH) | sharded (SPUBLISH) | both
-- ARGV[4]  history length              entries kept (exact MAXLEN), a whole number 1 to 999999999999999
-- ARGV[5]  history TTL                 seconds the history lives after its last message, likewise
-- ARGV[6]  new epoch                   used only when the user has no history: [A-Za-z0-9_-]{1,64}
-- ARGV[7]  idempotency TTL             seconds a KEYS[3] is remembered (only with KEYS[3]), likewise
--
-- Returns {position, epoch, receivers, duplicate}: the message's position in the history, the
-- history's epoch, how many subscribers received it live, and 1 when KEYS[3] had been seen
-- already (nothing published, the first publish's position and epoch returned), else 0.
-- The published and stored message is the envelope with three fields put first:
-- {"position":<position>,"epoch":"<epoch>","published_ms":<Redis TIME in ms>,...the envelope's own fields}.
-- Every argument is checked before anything is written, so a refused call takes no position.

local stream, meta, idem = KEYS[1], KEYS[2], KEYS[3]
local channel, body, mode = ARGV[1], ARGV[2], ARGV[3]
local length, ttl, fresh, idemTtl = ARGV[4], ARGV[5], ARGV[6], ARGV[7]

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
-- Whole numbers as Redis reads them (no sign, exponent or leading zero), small enough that
-- MAXLEN and EXPIRE/SET EX accept them: a value Redis refused after HINCRBY would burn a position.
local function whole(text)
  return type(text) == 'string' and string.find(text, '^[1-9]%d*$') ~= nil and #text <= 15
end
if not whole(length) then
  return redis.error_reply('ERR huleedu publish: history length must be a whole number from 1 to 999999999999999')
end
if not whole(ttl) then
  return redis.error_reply('ERR huleedu publish: history TTL must be a whole number of seconds from 1 to 999999999999999')
end
-- Checked before anything is written: an error after the PUBLISH would make a retry publish twice.
if idem and not whole(idemTtl) then
  return redis.error_reply('ERR huleedu publish: idempotency TTL must be a whole number of seconds from 1 to 999999999999999')
end
if string.sub(body, 1, 1) ~= '{' or not string.find(body, '^{%s*"') then
  return redis.error_reply('ERR huleedu publish: the envelope must be a JSON object with fields')
end
local parsed, envelope = pcall(cjson.decode, body)
if not parsed or type(envelope) ~= 'table' then
  return redis.error_reply('ERR huleedu publish: the envelope must be a JSON object with fields')
end
-- A second "position" or "epoch" would win in the browser's JSON.parse and shift its position.
for _, field in ipairs({'position', 'epoch', 'published_ms'}) do
  if envelope[field] ~= nil then
    return redis.error_reply('ERR huleedu publish: the envelope must not carry "' .. field .. '" (the script sets it)')
  end
end
-- ws.* events are the service's own (ws.synced, ws.resync, ws.disconnect): a published one would
-- be taken by clients as the service speaking, e.g. a fake ws.resync moving their position.
if type(envelope.event) == 'string' and string.sub(envelope.event, 1, 3) == 'ws.' then
  return redis.error_reply('ERR huleedu publish: events starting with "ws." are reserved for the service')
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
-- Redis's own clock, so every publisher's messages carry one time source (milliseconds).
local now = redis.call('TIME')
local publishedMs = now[1] .. string.format('%03d', math.floor(tonumber(now[2]) / 1000))
local message = '{"position":' .. position .. ',"epoch":"' .. epoch .. '","published_ms":' .. publishedMs
  .. ',' .. string.sub(body, 2)
redis.call('XADD', stream, 'MAXLEN', length, position .. '-0', 'm', message)
redis.call('EXPIRE', stream, ttl)
redis.call('EXPIRE', meta, ttl)

local receivers = 0
if mode ~= 'sharded' then receivers = receivers + redis.call('PUBLISH', channel, message) end
if mode ~= 'classic' then receivers = receivers + redis.call('SPUBLISH', channel, message) end

if idem then redis.call('SET', idem, position .. ':' .. epoch, 'EX', idemTtl) end

return {position, epoch, receivers, 0}
