package redisstore

import "github.com/sessionmw/go/sessionmw"

// Codec turns one session value into the bytes of one hash field and
// back. It is sessionmw.Codec, shared with cookie storage.
type Codec = sessionmw.Codec

// GobCodec is the default Codec: sessionmw.GobCodec, which keeps Go types
// (an int comes back an int) and writes the commonest types compactly and
// readably ("i42", "shello"); custom types need gob.Register.
type GobCodec = sessionmw.GobCodec
