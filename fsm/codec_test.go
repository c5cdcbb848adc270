package fsm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// fill sets every field reachable from v (a pointer) to a value that is
// not zero, numbered by seq, down to a bounded depth, so that a codec
// that loses or mangles any field shows it.
func fill(v reflect.Value, seq *int, depth int) {
	*seq++
	n := *seq
	if depth > 7 {
		return
	}
	switch v.Type() {
	case reflect.TypeOf(json.RawMessage(nil)):
		v.SetBytes([]byte(fmt.Sprintf(`{"k":%d}`, n)))
		return
	case reflect.TypeOf(time.Time{}):
		v.Set(reflect.ValueOf(time.Unix(int64(n), int64(n)).UTC()))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(n % 100))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(n % 100))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(n) + 0.25)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), seq, depth+1)
		v.Set(p)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seq, depth+1)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fill(s.Index(i), seq, depth+1)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := 0; i < 2; i++ {
			k := reflect.New(v.Type().Key()).Elem()
			fill(k, seq, depth+1)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, seq, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	}
}

// TestEncode_EveryCommandRoundTripsAsJSONDoes checks, for every log entry
// type, that a command with every field set reads back from its
// MessagePack entry exactly as it reads back from a JSON one.
func TestEncode_EveryCommandRoundTripsAsJSONDoes(t *testing.T) {
	for typ, cmd := range applyTable {
		t.Run(fmt.Sprintf("type=%d/%T", typ, cmd.newRequest()), func(t *testing.T) {
			orig := cmd.newRequest()
			seq := 0
			fill(reflect.ValueOf(orig).Elem(), &seq, 0)
			viaJSON, viaMsgpack := cmd.newRequest(), cmd.newRequest()
			j, err := EncodeJSON(typ, orig)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Encode(typ, orig)
			if err != nil {
				t.Fatal(err)
			}
			if EntryType(m[0]) != typ || EntryType(j[0]) != typ || MessageType(m[0])&MsgpackFlag == 0 {
				t.Fatalf("type bytes %#x (json) and %#x (msgpack) for type %d", j[0], m[0], typ)
			}
			if err := DecodeEntry(j, viaJSON); err != nil {
				t.Fatal(err)
			}
			if err := DecodeEntry(m, viaMsgpack); err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(viaJSON)
			b, _ := json.Marshal(viaMsgpack)
			if !bytes.Equal(a, b) {
				t.Fatalf("read back differently\n json:    %s\n msgpack: %s", a, b)
			}
			if seq < 2 {
				t.Fatalf("nothing filled in %T", orig)
			}
		})
	}
}

// TestApply_JSONEntriesOfOlderLogsStillApply replays a log written with
// JSON bodies, as binaries before MessagePack wrote it, beside the same
// log in MessagePack: both states end alike.
func TestApply_JSONEntriesOfOlderLogsStillApply(t *testing.T) {
	entries := []struct {
		t   MessageType
		msg any
	}{
		{ClusterInitRequestType, &ClusterInitRequest{ClusterID: "c1"}},
		{FrameworkRegisterRequestType, &FrameworkRegisterRequest{Framework: Framework{ID: "f1", Connected: true}}},
	}
	states := map[string]*FSM{}
	for name, enc := range map[string]func(MessageType, any) ([]byte, error){"json": EncodeJSON, "msgpack": Encode} {
		f := New(nil)
		for i, e := range entries {
			data, err := enc(e.t, e.msg)
			if err != nil {
				t.Fatal(err)
			}
			if res := f.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: data}); res != nil {
				if err, ok := res.(error); ok {
					t.Fatalf("%s entry %d: %v", name, i, err)
				}
			}
		}
		states[name] = f
	}
	for name, f := range states {
		st := f.State()
		if st.Meta().ClusterID != "c1" || st.Framework("f1") == nil {
			t.Fatalf("%s log: cluster %q, framework f1 %v", name, st.Meta().ClusterID, st.Framework("f1"))
		}
	}
}

// FuzzDecodeEntry feeds arbitrary bytes to the entry decoder of every
// command type: it may refuse them but must not panic or hang.
func FuzzDecodeEntry(f *testing.F) {
	for typ, cmd := range applyTable {
		req := cmd.newRequest()
		seq := 0
		fill(reflect.ValueOf(req).Elem(), &seq, 0)
		if m, err := Encode(typ, req); err == nil {
			f.Add(m)
		}
		if j, err := EncodeJSON(typ, req); err == nil {
			f.Add(j)
		}
	}
	f.Add([]byte{byte(StatusUpdateRequestType | MsgpackFlag), 0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{byte(StatusUpdateRequestType | MsgpackFlag), 0x81, 0xa7, 'U', 'p', 'd', 'a', 't', 'e', 's', 0xdd, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		cmd, ok := applyTable[EntryType(data[0])]
		if !ok {
			return
		}
		_ = DecodeEntry(data, cmd.newRequest())
	})
}

// TestEncode_EntriesDoNotShareTheEncodersBuffer: an entry stays as it was
// encoded while later entries are encoded, one at a time and at once (the
// encoders and their buffers are reused), and a large entry's buffer is
// not kept.
func TestEncode_EntriesDoNotShareTheEncodersBuffer(t *testing.T) {
	first, err := Encode(StatusAckRequestType, &StatusAckRequest{Acks: []StatusAck{{FrameworkID: "f1", TaskID: "t1"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte(nil), first...)
	big := &StatusAckRequest{}
	for i := 0; i < 40000; i++ {
		big.Acks = append(big.Acks, StatusAck{FrameworkID: "another-framework", TaskID: fmt.Sprintf("task-%06d", i)})
	}
	if b, err := Encode(StatusAckRequestType, big); err != nil || len(b) <= maxPooledEncodeBuffer {
		t.Fatalf("the large entry is %d bytes (%v), not beyond what an encoder keeps", len(b), err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 3; j++ {
				if _, err := Encode(StatusAckRequestType, big); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if !bytes.Equal(first, want) {
		t.Fatal("an encoded entry changed while others were encoded")
	}
	var got StatusAckRequest
	if err := DecodeEntry(first, &got); err != nil || len(got.Acks) != 1 || got.Acks[0].TaskID != "t1" {
		t.Fatalf("the first entry decodes to %+v, %v", got, err)
	}
	e := encoders.Get().(*pooledEncoder)
	defer encoders.Put(e)
	if cap(e.buf) > maxPooledEncodeBuffer {
		t.Fatalf("a pooled encoder kept a buffer of %d bytes", cap(e.buf))
	}
}
