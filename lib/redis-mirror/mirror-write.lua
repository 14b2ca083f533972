-- Writes one JetStream message into its Redis streams, exactly once and in order (see docs/redis-mirror.md).
-- KEYS: cursor, dedupe marker, target streams…
-- ARGV: seq, expected cursor ("" = must be absent), marker TTL s, maxlen ("0" = none),
--       mode ("w" write, "a" only advance the cursor), then the entry's field/value pairs.
-- Returns 1 written, 0 already mirrored, 2 cursor advanced only, -1 the cursor is not what the reader expected.
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
if (cur or '') ~= ARGV[2] then return -1 end
if ARGV[5] == 'a' or redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('SET', KEYS[1], ARGV[1])
  return 2
end
for i = 3, #KEYS do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'stream' and t ~= 'none' then
    return redis.error_reply('WRONGTYPE mirror target ' .. KEYS[i] .. ' is a ' .. t)
  end
end
for i = 3, #KEYS do
  if ARGV[4] ~= '0' then
    redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 6))
  else
    redis.call('XADD', KEYS[i], '*', unpack(ARGV, 6))
  end
end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
redis.call('SET', KEYS[1], ARGV[1])
return 1
