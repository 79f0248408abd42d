/**
 * The sliding-window log, as one Lua script so that trimming, counting and adding are one
 * atomic step and one round trip. KEYS[1]: the log, a sorted set of request times in µs.
 * ARGV: window in µs, max, a member suffix unique to this request, window in ms.
 * Returns { admitted (0|1), count, µs until the next request passes (or, when admitted,
 * until the oldest entry leaves) }.
 *
 * A key of another type under the same name (such as a counter an older version left)
 * fails the trim with WRONGTYPE, which pcall returns instead of raising: that key is deleted
 * and a log starts (any other error is returned as it came). A TYPE check would cost every
 * call one more command for that rare case.
 *
 * Times come from the Redis server's clock (TIME), so instances whose clocks differ still
 * share one exact count. Redis before 5 must be told to replicate the script's effects
 * rather than the script, since TIME makes it non-deterministic.
 */
export const SLIDING_LOG_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local window = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local trimmed = redis.pcall('ZREMRANGEBYSCORE', key, '-inf', now - window)
if type(trimmed) == 'table' then
  if not string.find(trimmed.err, 'WRONGTYPE', 1, true) then return trimmed end
  redis.call('DEL', key)
end
local count = redis.call('ZCARD', key)
local admitted = 0
if count < max then
  redis.call('ZADD', key, now, time[1] .. '.' .. time[2] .. ':' .. ARGV[3])
  redis.call('PEXPIRE', key, ARGV[4])
  count = count + 1
  admitted = 1
end
local index = 0
if admitted == 0 then index = count - max end
local entry = redis.call('ZRANGE', key, index, index, 'WITHSCORES')
local reset = window
if entry[2] then reset = tonumber(entry[2]) + window - now end
return { admitted, count, reset }
`
