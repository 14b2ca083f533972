-- Writes one JetStream message into its Redis streams, exactly once and in order (see docs/redis-mirror.md).
-- KEYS: cursor, marker hash of the message's window, marker hash of the window before, target streams…
-- ARGV: seq, expected cursor ("" = must be absent), marker TTL s, maxlen ("0" = none),
--       mode ("w" write, "a" only advance the cursor), minid ("0" = no trim by age), message uuid,
--       then the entry's field/value pairs.
-- Returns 1 written, 0 already mirrored, 2 cursor advanced only, -1 the cursor is not what the reader expected.
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
if (cur or '') ~= ARGV[2] then return -1 end
if ARGV[5] == 'a' then
  redis.call('SET', KEYS[1], ARGV[1])
  return 2
end
-- the same uuid under another sequence is a JetStream duplicate; under this one, a re-mirror
local seen = redis.call('HGET', KEYS[2], ARGV[7]) or redis.call('HGET', KEYS[3], ARGV[7])
if seen and seen ~= ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1])
  return 2
end
for i = 4, #KEYS do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'stream' and t ~= 'none' then
    return redis.error_reply('WRONGTYPE mirror target ' .. KEYS[i] .. ' is a ' .. t)
  end
end
for i = 4, #KEYS do
  if ARGV[6] ~= '0' then
    redis.call('XADD', KEYS[i], 'MINID', ARGV[6], '*', unpack(ARGV, 8))
  else
    redis.call('XADD', KEYS[i], '*', unpack(ARGV, 8))
  end
  if ARGV[4] ~= '0' then redis.call('XTRIM', KEYS[i], 'MAXLEN', '~', ARGV[4]) end
end
redis.call('HSET', KEYS[2], ARGV[7], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1])
return 1
