package sessionmw

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// What a server store holds can be made unreadable without the secret:
//
//   - WithEncryptionAtRest: every value is sealed with AES-256-GCM under a
//     key derived with HKDF-SHA256 from the secret and the record's
//     storage key, with the value's key as associated data (a value moved
//     to another key or session does not open). Each value is sealed on
//     its own, so delta saves keep working.
//   - WithHashedIDs: records are stored under a keyed hash of the session
//     id (HMAC-SHA256), so a store dump holds no id a cookie could carry.
//   - WithHashedSubjects: the subject index holds a keyed hash of each
//     subject.
//
// With any of them, the metadata that names other records or the user
// (the successor and remember-me ids, the credential, the groups, and
// the subject when it is hashed) moves into Meta.Sealed, encrypted the
// same way; stores see only what they need (the subject or its hash for
// the index, and whether a successor exists). With WithSecretFallbacks,
// data sealed under a retired secret still opens and is sealed again
// under the current one by the session's next save.
//
// Threat model: a dump of the store, without the secret, yields no value,
// no identity beyond the (hashed, if asked) subject, and (with hashed ids)
// no session id. Whoever holds the secret as well can open what the
// middleware opens.

// WithEncryptionAtRest seals every session value before it reaches the
// store (see above; on in gateway.Kong with a server store, as Kong's
// storage=kong encrypts its data). It costs an AES-GCM seal per written
// value and an open per loaded value. No effect with cookie storage,
// which is encrypted already.
func WithEncryptionAtRest(on bool) Option {
	return func(c *config) error { c.encryptAtRest = on; return nil }
}

// WithHashedIDs stores sessions under a keyed hash of their id, so that a
// dump of the store yields no session id. Middleware.Sessions then lists
// storage keys, which DestroySession and RevokeSubject's except accept.
// Switching it on or off orphans the sessions stored before (their users
// log in again).
func WithHashedIDs(on bool) Option {
	return func(c *config) error { c.hashIDs = on; return nil }
}

// WithHashedSubjects keeps a keyed hash of each subject in the store's
// subject index and metadata instead of the subject itself (Kong's
// hash_subject); Identity still returns the subject. Sessions,
// RevokeSubject and the per-subject cap work as before. The subject index
// is the equivalent of Kong's store_metadata.
func WithHashedSubjects(on bool) Option {
	return func(c *config) error { c.hashSubjects = on; return nil }
}

const (
	vaultDataInfo    = "sessionmw v1 data at rest"
	vaultIDInfo      = "sessionmw v1 storage key"
	vaultSubjectInfo = "sessionmw v1 subject"
)

// sealedValue prefixes a value sealed at rest.
var sealedValue = []byte("\x00sv1")

// vault seals and hashes what goes to a server store.
type vault struct {
	encrypt, hashIDs, hashSubjects bool
	idKey, subjectKey              []byte
	idMACs                         *macPool
	data                           [][]byte // HKDF input keys: the secret first, then fallbacks

	// Per record: its derived ciphers, the last sealed metadata and the
	// last opened record, so that a session read again and again costs
	// no key derivation and no decryption (records are immutable).
	mu    sync.Mutex
	cache map[string]*vaultEntry
}

type vaultEntry struct {
	aeads      []cipher.AEAD // by secret, built on first use
	metaPlain  sealedMeta    // what metaSealed seals
	metaSealed string
	stored     *Record // the record as the store gave it…
	opened     *Record // …and opened
}

// vaultCacheMax bounds the per-record cache; past it, half is dropped.
const vaultCacheMax = 1 << 14

// entry returns key's cache entry.
func (v *vault) entry(key string) *vaultEntry {
	v.mu.Lock()
	defer v.mu.Unlock()
	e := v.cache[key]
	if e == nil {
		if len(v.cache) >= vaultCacheMax {
			n := 0
			for k := range v.cache { // map order is random: a random half
				delete(v.cache, k)
				if n++; n >= vaultCacheMax/2 {
					break
				}
			}
		}
		e = &vaultEntry{aeads: make([]cipher.AEAD, len(v.data))}
		v.cache[key] = e
	}
	return e
}

func newVault(c *config, secrets [][]byte) (*vault, error) {
	if !c.encryptAtRest && !c.hashIDs && !c.hashSubjects {
		return nil, nil
	}
	v := &vault{encrypt: c.encryptAtRest, hashIDs: c.hashIDs, hashSubjects: c.hashSubjects, data: secrets,
		cache: map[string]*vaultEntry{}}
	var err error
	if v.idKey, err = hkdf.Key(sha256.New, secrets[0], nil, vaultIDInfo, 32); err != nil {
		return nil, err
	}
	if v.subjectKey, err = hkdf.Key(sha256.New, secrets[0], nil, vaultSubjectInfo, 32); err != nil {
		return nil, err
	}
	v.idMACs = newMacPool(v.idKey)
	return v, nil
}

func keyedHash(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// idHash is keyedHash with the id key, from a pool of HMAC states.
func (v *vault) idHash(s string) string {
	var sum [sha256.Size]byte
	v.idMACs.mac(sum[:], "sessionmw storage key", []byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// key returns where id is stored. Token records keep their prefix, so
// that a listing can tell them from sessions.
func (v *vault) key(id string) string {
	if v == nil || !v.hashIDs {
		return id
	}
	if rest, ok := strings.CutPrefix(id, rememberPrefix+"data:"); ok {
		return rememberPrefix + "data:" + v.idHash(rest)
	}
	if rest, ok := strings.CutPrefix(id, rememberPrefix); ok {
		return rememberPrefix + v.idHash(rest)
	}
	return "h:" + v.idHash(id)
}

// subject returns what the store indexes for subject.
func (v *vault) subject(subject string) string {
	if v == nil || !v.hashSubjects || subject == "" {
		return subject
	}
	return "h:" + keyedHash(v.subjectKey, subject)
}

// aead returns the cipher for the record stored under key, with the
// i-th secret.
func (v *vault) aead(key string, i int) (cipher.AEAD, error) {
	e := v.entry(key)
	v.mu.Lock()
	a := e.aeads[i]
	v.mu.Unlock()
	if a != nil {
		return a, nil
	}
	k, err := hkdf.Key(sha256.New, v.data[i], []byte(key), vaultDataInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	if a, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	v.mu.Lock()
	e.aeads[i] = a
	v.mu.Unlock()
	return a, nil
}

func (v *vault) seal(a cipher.AEAD, plain []byte, ad string) []byte {
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plain)+a.Overhead())
	rand.Read(nonce)
	return a.Seal(nonce, nonce, plain, []byte(ad))
}

// open opens sealed with any secret; stale reports a retired one.
func (v *vault) open(key string, sealed []byte, ad string) (plain []byte, stale bool, err error) {
	for i := range v.data {
		a, err := v.aead(key, i)
		if err != nil {
			return nil, false, err
		}
		if len(sealed) < a.NonceSize()+a.Overhead() {
			return nil, false, errVaultOpen
		}
		if p, err := a.Open(nil, sealed[:a.NonceSize()], sealed[a.NonceSize():], []byte(ad)); err == nil {
			return p, i > 0, nil
		}
	}
	return nil, false, errVaultOpen
}

var errVaultOpen = errors.New("sessionmw: data at rest does not open with the secret or its fallbacks")

// sealedMeta is the part of Meta kept in Meta.Sealed.
type sealedMeta struct {
	Successor  string   `json:"s,omitempty"`
	Remember   string   `json:"r,omitempty"`
	Credential string   `json:"c,omitempty"`
	Groups     []string `json:"g,omitempty"`
	Subject    string   `json:"u,omitempty"`
}

// successorMark stands in the stored Successor for a sealed one: stores
// only need to know that there is one.
const successorMark = "sealed"

// sealUpdate returns u as it is stored under key.
func (v *vault) sealUpdate(key string, u Update) (Update, error) {
	a, err := v.aead(key, 0)
	if err != nil {
		return u, err
	}
	if v.encrypt && len(u.Set) > 0 {
		set := make([]Entry, len(u.Set))
		for i, e := range u.Set {
			plain, err := (GobCodec{}).Encode(e.Value)
			if err != nil {
				return u, fmt.Errorf("sessionmw: encoding session value %q: %w", e.Key, err)
			}
			set[i] = Entry{Key: e.Key, Value: append(bytes.Clone(sealedValue), v.seal(a, plain, "v\x00"+e.Key)...)}
		}
		u.Set = set
	}
	u.Meta, err = v.sealMeta(key, a, u.Meta)
	return u, err
}

func (v *vault) sealMeta(key string, a cipher.AEAD, m Meta) (meta Meta, err error) {
	sm := sealedMeta{Remember: m.Remember, Credential: m.Credential, Groups: m.Groups}
	if m.Successor != retired {
		sm.Successor = m.Successor
	}
	if v.hashSubjects {
		sm.Subject = m.Subject
	}
	m.Sealed, err = v.sealedMetaOf(key, a, sm)
	if err != nil {
		return m, err
	}
	m.Remember, m.Credential, m.Groups = "", "", nil
	if sm.Successor != "" {
		m.Successor = successorMark
	}
	m.Subject = v.subject(m.Subject)
	return m, nil
}

// openRecord returns the record stored under key, opened (a new Record:
// the stored one is shared). Values stored before encryption was on are
// taken as they are; those, and anything sealed with a retired secret,
// mark the record for sealing again.
func (v *vault) openRecord(key string, rec *Record) (*Record, error) {
	if rec == nil {
		return nil, nil
	}
	e := v.entry(key)
	v.mu.Lock()
	if e.stored == rec {
		opened := e.opened
		v.mu.Unlock()
		return opened, nil
	}
	v.mu.Unlock()
	opened, err := v.openRecordUncached(key, rec)
	if err == nil {
		v.mu.Lock()
		e.stored, e.opened = rec, opened
		v.mu.Unlock()
	}
	return opened, err
}

func (v *vault) openRecordUncached(key string, rec *Record) (*Record, error) {
	out := &Record{Meta: rec.Meta}
	stale := false
	var err error
	if out.Meta, stale, err = v.openMeta(key, rec.Meta); err != nil {
		return nil, err
	}
	out.Values = make([]Entry, len(rec.Values))
	for i, e := range rec.Values {
		b, ok := e.Value.([]byte)
		if !ok || !bytes.HasPrefix(b, sealedValue) {
			out.Values[i] = e
			stale = stale || v.encrypt
			continue
		}
		plain, old, err := v.open(key, b[len(sealedValue):], "v\x00"+e.Key)
		if err != nil {
			return nil, fmt.Errorf("%w (value %q)", err, e.Key)
		}
		val, err := (GobCodec{}).Decode(plain)
		if err != nil {
			return nil, fmt.Errorf("sessionmw: decoding session value %q: %w", e.Key, err)
		}
		out.Values[i] = Entry{Key: e.Key, Value: val}
		stale = stale || old || !v.encrypt
	}
	if stale {
		out.Meta.Sealed = resealMark
	}
	return out, nil
}

// resealMark, in an opened record's Meta.Sealed, says the record must be
// sealed again (it holds plaintext or data under a retired secret). It
// never reaches a store: sealing replaces it.
const resealMark = "\x00reseal"

// openMeta restores the metadata sealed in m.Sealed.
func (v *vault) openMeta(key string, m Meta) (Meta, bool, error) {
	if m.Sealed == "" {
		return m, true, nil // stored before the vault: seal it next time
	}
	e := v.entry(key)
	v.mu.Lock()
	sm, hit := e.metaPlain, e.metaSealed == m.Sealed
	v.mu.Unlock()
	stale := false
	if !hit {
		sealed, err := base64.RawURLEncoding.DecodeString(m.Sealed)
		if err != nil {
			return m, false, errVaultOpen
		}
		var plain []byte
		plain, stale, err = v.open(key, sealed, "m")
		if err != nil {
			return m, false, err
		}
		sm = sealedMeta{}
		if err := json.Unmarshal(plain, &sm); err != nil {
			return m, false, errVaultOpen
		}
		if !stale {
			v.mu.Lock()
			e.metaPlain, e.metaSealed = sm, m.Sealed
			v.mu.Unlock()
		}
	}
	m.Sealed = ""
	m.Remember, m.Credential, m.Groups = sm.Remember, sm.Credential, sm.Groups
	if m.Successor == successorMark {
		m.Successor = sm.Successor
	}
	if v.hashSubjects {
		m.Subject = sm.Subject
	}
	return m, stale, nil
}

// sealedMetaOf seals sm, or reuses the last sealing of the same metadata
// for key (the sealed part changes rarely: at login and renewal).
func (v *vault) sealedMetaOf(key string, a cipher.AEAD, sm sealedMeta) (string, error) {
	e := v.entry(key)
	v.mu.Lock()
	if e.metaSealed != "" && sameSealedMeta(e.metaPlain, sm) {
		s := e.metaSealed
		v.mu.Unlock()
		return s, nil
	}
	v.mu.Unlock()
	plain, err := json.Marshal(sm)
	if err != nil {
		return "", err
	}
	s := base64.RawURLEncoding.EncodeToString(v.seal(a, plain, "m"))
	v.mu.Lock()
	e.metaPlain, e.metaSealed = sm, s
	v.mu.Unlock()
	return s, nil
}

func sameSealedMeta(a, b sealedMeta) bool {
	return a.Successor == b.Successor && a.Remember == b.Remember && a.Credential == b.Credential &&
		a.Subject == b.Subject && slices.Equal(a.Groups, b.Groups) && (a.Groups == nil) == (b.Groups == nil)
}
