package fsm

import (
	"encoding/json"
	"fmt"
	"sync"

	msgpack "github.com/hashicorp/go-msgpack/v2/codec"
)

// MsgpackFlag marks a log entry whose body is MessagePack rather than
// JSON. Entries are written in MessagePack since it decodes in about a
// third of JSON's time with fewer allocations, and every server decodes
// every entry; JSON entries of older logs still apply. The flag sits in
// the type byte, so a binary that predates it sees an unknown type and
// refuses (or, with IgnoreUnknownTypeFlag, skips) the entry instead of
// misreading its body.
const MsgpackFlag MessageType = 64

// msgpackHandle encodes mesh's types by their JSON field names, so that a
// body reads the same fields in either encoding and a field a newer
// binary adds is ignored by an older one, as with JSON.
var msgpackHandle = func() *msgpack.MsgpackHandle {
	h := &msgpack.MsgpackHandle{}
	h.TypeInfos = msgpack.NewTypeInfos([]string{"json"})
	h.WriteExt = true
	return h
}()

// encoders reuses MessagePack encoders, whose set-up costs more than
// encoding a small command, each with the buffer it last encoded into: an
// entry is encoded into that buffer and copied out once at its size,
// where encoding into a new buffer grew it step by step (three times the
// entry's size allocated for each entry).
var encoders = sync.Pool{New: func() any {
	e := &pooledEncoder{}
	e.enc = msgpack.NewEncoderBytes(&e.buf, msgpackHandle)
	return e
}}

type pooledEncoder struct {
	enc *msgpack.Encoder
	buf []byte
}

// maxPooledEncodeBuffer bounds the buffer a pooled encoder keeps: a rare
// large entry's buffer goes with it.
const maxPooledEncodeBuffer = 1 << 20

// Encode builds a log entry: the type byte, with MsgpackFlag set, then
// the MessagePack body.
func Encode(t MessageType, msg any) ([]byte, error) {
	e := encoders.Get().(*pooledEncoder)
	defer encoders.Put(e)
	if e.buf == nil {
		e.buf = make([]byte, 0, 4096)
	}
	e.enc.ResetBytes(&e.buf)
	err := e.enc.Encode(msg)
	body := e.buf
	if cap(e.buf) > maxPooledEncodeBuffer {
		e.buf = nil
	}
	if err != nil {
		return nil, fmt.Errorf("encode %d: %w", t, err)
	}
	out := make([]byte, 1+len(body))
	out[0] = byte(t | MsgpackFlag)
	copy(out[1:], body)
	return out, nil
}

// EncodeJSON builds a log entry with a JSON body, as binaries before
// MsgpackFlag wrote them; tests use it to check that such entries still
// apply.
func EncodeJSON(t MessageType, msg any) ([]byte, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode %d: %w", t, err)
	}
	return append([]byte{byte(t)}, body...), nil
}

// decodeBody decodes an entry's body in the encoding its type byte names.
func decodeBody(isMsgpack bool, buf []byte, v any) error {
	if !isMsgpack {
		return json.Unmarshal(buf, v)
	}
	return msgpack.NewDecoderBytes(buf, msgpackHandle).Decode(v)
}

// EntryType is the command type of a log entry's first byte, without the
// flags.
func EntryType(b byte) MessageType {
	return MessageType(b) &^ (IgnoreUnknownTypeFlag | MsgpackFlag)
}

// DecodeEntry decodes the body of a log entry (type byte included) into v.
func DecodeEntry(data []byte, v any) error {
	if len(data) == 0 {
		return fmt.Errorf("empty log entry")
	}
	return decodeBody(MessageType(data[0])&MsgpackFlag != 0, data[1:], v)
}
