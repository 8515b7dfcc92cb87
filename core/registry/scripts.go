package registry

import "github.com/redis/go-redis/v9"

// The Redis scripts. Redis 7.0 (Debian 12's) has no expiry per hash field
// (HPEXPIRE came in 7.4), so every value ends with its expiry in unix
// milliseconds by the Redis clock, and each script compares it with TIME:
// the cores' clocks never matter. A lapsed field is ignored on read and
// deleted by whichever script meets it; the user's key itself expires when
// none of its fields was written for a TTL, so an abandoned user leaves
// nothing behind. Node index sets (for DropNode) expire the same way.
//
// KEYS[1] is the user's hash, KEYS[2] and KEYS[3] the index sets of the
// place's core and edge (the same key twice when there is no edge).
const luaHead = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function expiry(v) return tonumber(string.match(v, '\31(%d+)$')) end
local function live(v) local e = expiry(v); return e ~= nil and e > now end
local function keep(k, ttl) if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end end
`

// ARGV: full JID, place without expiry, ttl ms, identity.
// Returns the live value replaced (another session), or 0.
var registerScript = redis.NewScript(luaHead + `
local ttl = tonumber(ARGV[3])
local old = redis.call('HGET', KEYS[1], ARGV[1])
local prev = 0
if old and live(old) and string.sub(old, 1, #ARGV[4]) ~= ARGV[4] then prev = old end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '\31' .. string.format('%d', now + ttl))
keep(KEYS[1], ttl)
for i = 2, 3 do redis.call('SADD', KEYS[i], ARGV[1]); keep(KEYS[i], ttl) end
return prev
`)

// ARGV as registerScript. Returns 0 when another live session holds the
// full JID (nothing changed), 1 when the entry was refreshed or recorded
// again. A refresh keeps the presence SetPresence recorded.
var refreshScript = redis.NewScript(luaHead + `
local ttl = tonumber(ARGV[3])
local old = redis.call('HGET', KEYS[1], ARGV[1])
local v = ARGV[2]
if old and string.sub(old, 1, #ARGV[4]) == ARGV[4] then
  v = string.match(old, '^(.*)\31%d+$') or v
elseif old and live(old) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], v .. '\31' .. string.format('%d', now + ttl))
keep(KEYS[1], ttl)
for i = 2, 3 do redis.call('SADD', KEYS[i], ARGV[1]); keep(KEYS[i], ttl) end
return 1
`)

// ARGV: full JID, identity. Compare-and-delete: 1 when removed.
var unregisterScript = redis.NewScript(`
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old or string.sub(old, 1, #ARGV[2]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
`)

// ARGV: full JID, identity, priority, available (0|1). 1 when updated;
// bound-at and the expiry are kept.
var presenceScript = redis.NewScript(luaHead + `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old or not live(old) or string.sub(old, 1, #ARGV[2]) ~= ARGV[2] then return 0 end
local tail = string.match(string.sub(old, #ARGV[2] + 1), '^[^\31]*\31[^\31]*\31(.*)$')
if not tail then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ARGV[3] .. '\31' .. ARGV[4] .. '\31' .. tail)
return 1
`)

// ARGV: full JID. The live value, 0 when there is none, 1 when a lapsed
// one was found and deleted.
var lookupScript = redis.NewScript(luaHead + `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
if live(old) then return old end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`)

// Returns {lapsed entries deleted, field, value, field, value, ...}.
var sessionsScript = redis.NewScript(luaHead + `
local all = redis.call('HGETALL', KEYS[1])
local out = {0}
for i = 1, #all, 2 do
  if live(all[i + 1]) then
    out[#out + 1] = all[i]; out[#out + 1] = all[i + 1]
  else
    redis.call('HDEL', KEYS[1], all[i]); out[1] = out[1] + 1
  end
end
return out
`)

// KEYS: the user hashes of the full JIDs in ARGV[2..]. ARGV[1]: the node.
// Deletes the entries whose core or edge is the node; returns the full JID
// and the entry of each, in pairs.
var dropScript = redis.NewScript(`
local node = ARGV[1]
local gone = {}
for i = 1, #KEYS do
  local old = redis.call('HGET', KEYS[i], ARGV[i + 1])
  if old then
    local core, edge = string.match(old, '^([^\31]*)\31([^\31]*)\31')
    if core == node or edge == node then
      redis.call('HDEL', KEYS[i], ARGV[i + 1])
      gone[#gone + 1] = ARGV[i + 1]
      gone[#gone + 1] = old
    end
  end
end
return gone
`)
