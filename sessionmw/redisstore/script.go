package redisstore

import "github.com/valkey-io/valkey-go"

// Field names in a session's hash. Application values live under
// valuePrefix+key; every field without that prefix is reserved, so no
// application key can overwrite the metadata.
const (
	valuePrefix  = "v:"
	fieldCreated = "m:created"
	fieldIssued  = "m:issued"
	fieldSaved   = "m:saved"
	fieldSucc    = "m:successor"
)

// saveScript applies one Update to a session's hash and sets its TTL, all
// in one atomic step, so that a key never exists without an expiry and two
// deltas to different keys never overwrite each other.
//
//	KEYS[1]        the session's hash
//	ARGV[1]        "1" to replace the hash, "0" to apply a delta
//	ARGV[2]        the TTL in milliseconds (positive)
//	ARGV[3]        n, the number of fields to delete
//	ARGV[4..3+n]   the fields to delete
//	ARGV[4+n..]    field, value pairs to set; the caller always sends the
//	               metadata fields, so the hash is never left empty
//
// It returns 0, changing nothing, for a delta on a missing key (the
// session expired or was destroyed by a concurrent logout and must not be
// resurrected), and 1 otherwise. HDEL and HSET go in chunks because Lua's
// unpack has a bounded stack.
var saveScript = valkey.NewLuaScript(`
local key = KEYS[1]
if ARGV[1] == '1' then
  redis.call('DEL', key)
elseif redis.call('EXISTS', key) == 0 then
  return 0
end
local last = 3 + tonumber(ARGV[3])
for i = 4, last, 1000 do
  redis.call('HDEL', key, unpack(ARGV, i, math.min(i + 999, last)))
end
for i = last + 1, #ARGV, 1000 do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PEXPIRE', key, ARGV[2])
return 1
`)
