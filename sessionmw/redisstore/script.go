package redisstore

import (
	"context"
	"crypto/sha1"
	"encoding/hex"

	"github.com/valkey-io/valkey-go"
)

// Key layout. A session's hash is prefix+sessionSpace+id and a subject's
// index prefix+subjectSpace+subject: neither sub-prefix starts the other,
// so no id and no subject, whatever it contains, can name a key of the
// other kind.
const (
	sessionSpace = "session:"
	subjectSpace = "subject:"
)

// Field names in a session's hash. Application values live under
// valuePrefix+key; every field without that prefix is reserved, so no
// application key can overwrite the metadata.
const (
	valuePrefix   = "v:"
	fieldCreated  = "m:created"
	fieldIssued   = "m:issued"
	fieldSaved    = "m:saved"
	fieldSucc     = "m:successor"
	fieldSubject  = "m:subject"
	fieldCred     = "m:credential"
	fieldGroups   = "m:groups"
	fieldAudience = "m:audience"
	fieldRemember = "m:remember"
	fieldBind     = "m:bind"
	fieldSealed   = "m:sealed"
	fieldDeadline = "m:deadline"
	fieldPersist  = "m:persist"
)

// metaFields are the metadata fields, in the order SubjectSessions reads
// them with HMGET.
var metaFields = []string{
	fieldCreated, fieldIssued, fieldSaved, fieldSucc,
	fieldSubject, fieldCred, fieldGroups, fieldAudience, fieldRemember, fieldBind, fieldSealed, fieldDeadline, fieldPersist,
}

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
// It answers the error SUPERSEDED, changing nothing, when the hash has a
// successor (renewal superseded it: see sessionmw.Store.Save). It returns
// nil, changing nothing, for a delta on a missing key (the
// session expired or was destroyed by a concurrent logout and must not be
// resurrected), and otherwise the subject the hash had before ("" for
// none), so that Save can take the id out of that subject's index when the
// subject changed. HDEL and HSET go in chunks because Lua's unpack has a
// bounded stack.
var saveScript = newScript(`
local key = KEYS[1]
local succ = redis.call('HGET', key, 'm:successor')
if succ and succ ~= '' then
  return redis.error_reply('SUPERSEDED')
end
local old = redis.call('HGET', key, 'm:subject')
if ARGV[1] == '1' then
  redis.call('DEL', key)
elseif redis.call('EXISTS', key) == 0 then
  return false
end
local last = 3 + tonumber(ARGV[3])
for i = 4, last, 1000 do
  redis.call('HDEL', key, unpack(ARGV, i, math.min(i + 999, last)))
end
for i = last + 1, #ARGV, 1000 do
  redis.call('HSET', key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PEXPIRE', key, ARGV[2])
return old or ''
`)

// deleteScript deletes a session's hash and returns the subject it had (""
// for none, or for no hash), so that Delete can take the id out of that
// subject's index.
//
//	KEYS[1]   the session's hash
var deleteScript = newScript(`
local old = redis.call('HGET', KEYS[1], 'm:subject')
redis.call('DEL', KEYS[1])
return old or ''
`)

// indexScript adds (or keeps) a session in its subject's index, a sorted
// set scored by the time, in Unix milliseconds by the server's clock, until
// which the entry must be kept: now plus the session's TTL plus
// indexSlack. It runs on the index's key alone, so that it never spans
// two cluster slots.
//
//	KEYS[1]   the subject's index
//	ARGV[1]   the session id
//	ARGV[2]   how long to keep the entry, in milliseconds
//
// An entry's score never goes down (the session may have been saved
// concurrently with a longer TTL, and an entry pruned too early would hide
// a live session), and it always goes up, by at least one, so that
// removeScript can tell an entry re-added since it was read. The script
// also prunes entries whose time has passed, and makes the index's key
// live at least as long as its longest entry. It returns the new score.
var indexScript = newScript(`
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local keep = now + tonumber(ARGV[2])
local old = redis.call('ZSCORE', key, ARGV[1])
if old and tonumber(old) >= keep then
  keep = tonumber(old) + 1
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.0f', now))
redis.call('ZADD', key, string.format('%.0f', keep), ARGV[1])
if redis.call('PTTL', key) < keep - now then
  redis.call('PEXPIRE', key, string.format('%.0f', keep - now))
end
return keep
`)

// listScript prunes a subject's index of the entries whose time has
// passed and returns the others with their scores, by ascending score.
//
//	KEYS[1]   the subject's index
var listScript = newScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
`)

// removeScript removes stale entries from a subject's index, each only if
// its score is still the one the caller read: an entry whose score moved
// was re-added by a Save since (indexScript always raises the score), and
// stays. It returns how many entries it removed.
//
//	KEYS[1]       the subject's index
//	ARGV[2i-1]    a session id
//	ARGV[2i]      the score read for it
var removeScript = newScript(`
local n = 0
for i = 1, #ARGV, 2 do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s and tonumber(s) == tonumber(ARGV[i + 1]) then
    n = n + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return n
`)

// script is a Lua script run with EVALSHA, and with EVAL when the server
// does not know it yet (a new or restarted server, SCRIPT FLUSH).
// valkey.Lua does the same for one call at a time; script lets one
// pipeline carry several scripts.
type script struct {
	src string
	sha string
}

func newScript(src string) *script {
	sum := sha1.Sum([]byte(src))
	return &script{src: src, sha: hex.EncodeToString(sum[:])}
}

// scriptCall is one run of a script.
type scriptCall struct {
	script *script
	keys   []string
	args   []string
}

func (c scriptCall) build(client valkey.Client, bySHA bool) valkey.Completed {
	if bySHA {
		return client.B().Evalsha().Sha1(c.script.sha).Numkeys(int64(len(c.keys))).Key(c.keys...).Arg(c.args...).Build()
	}
	return client.B().Eval().Script(c.script.src).Numkeys(int64(len(c.keys))).Key(c.keys...).Arg(c.args...).Build()
}

// runScripts sends calls in one pipeline (in a cluster, one per node,
// concurrently) and returns their results in order. A script the server
// did not know did not run: it is sent again with its source.
func (s *Store) runScripts(ctx context.Context, calls ...scriptCall) []valkey.ValkeyResult {
	if len(calls) == 1 { // Do costs less than a pipeline of one
		res := s.client.Do(ctx, calls[0].build(s.client, true))
		if verr, ok := valkey.IsValkeyErr(res.Error()); ok && verr.IsNoScript() {
			res = s.client.Do(ctx, calls[0].build(s.client, false))
		}
		return []valkey.ValkeyResult{res}
	}
	cmds := make(valkey.Commands, len(calls))
	for i, c := range calls {
		cmds[i] = c.build(s.client, true)
	}
	res := s.client.DoMulti(ctx, cmds...)
	var again []int
	for i := range res {
		if verr, ok := valkey.IsValkeyErr(res[i].Error()); ok && verr.IsNoScript() {
			again = append(again, i)
		}
	}
	if len(again) == 0 {
		return res
	}
	cmds = cmds[:0]
	for _, i := range again {
		cmds = append(cmds, calls[i].build(s.client, false))
	}
	for j, r := range s.client.DoMulti(ctx, cmds...) {
		res[again[j]] = r
	}
	return res
}
