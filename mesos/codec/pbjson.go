package codec

// This file converts between protobuf messages and the JSON mapping Mesos
// uses for them: proto field names, enums as their names, bytes as
// standard base64, and 64-bit integers as JSON numbers (protojson writes
// them as strings, which Mesos does not). Unknown JSON keys are ignored,
// like unknown fields in the binary encoding.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ProtoToJSON writes m in Mesos' JSON mapping. Only fields that are set
// are written, so presence survives the conversion.
func ProtoToJSON(m proto.Message) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeMessage(&buf, m.ProtoReflect()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeMessage(buf *bytes.Buffer, m protoreflect.Message) error {
	buf.WriteByte('{')
	fields := m.Descriptor().Fields()
	first := true
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		if fd.IsList() && fd.Kind() == protoreflect.EnumKind && knownEnums(fd, m.Get(fd).List()) == 0 {
			continue // only numbers the enum does not define: as if empty
		}
		if unknownEnum(fd, m.Get(fd)) {
			if fd.Cardinality() == protoreflect.Required {
				return fmt.Errorf("required field %s has %d, which is not a value of %s", fd.FullName(), m.Get(fd).Enum(), fd.Enum().FullName())
			}
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		writeString(buf, string(fd.Name()))
		buf.WriteByte(':')
		var err error
		switch {
		case fd.IsList():
			err = writeList(buf, fd, m.Get(fd).List())
		case fd.IsMap():
			err = writeMap(buf, fd, m.Get(fd).Map())
		default:
			err = writeValue(buf, fd, m.Get(fd))
		}
		if err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}

// unknownEnum reports whether v, the value of a singular enum field, is a
// number its enum does not define. The Go library keeps such numbers;
// Mesos (C++, proto2) keeps them among the unknown fields, so the field
// reads as unset (and a required one as missing: the message does not
// parse), and so it does here.
func unknownEnum(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
	return fd.Kind() == protoreflect.EnumKind && fd.Cardinality() != protoreflect.Repeated &&
		fd.Enum().Values().ByNumber(v.Enum()) == nil
}

// knownEnums counts the elements of an enum list that the enum defines.
func knownEnums(fd protoreflect.FieldDescriptor, l protoreflect.List) int {
	n := 0
	for i := 0; i < l.Len(); i++ {
		if fd.Enum().Values().ByNumber(l.Get(i).Enum()) != nil {
			n++
		}
	}
	return n
}

func writeList(buf *bytes.Buffer, fd protoreflect.FieldDescriptor, l protoreflect.List) error {
	buf.WriteByte('[')
	n := 0
	for i := 0; i < l.Len(); i++ {
		if fd.Kind() == protoreflect.EnumKind && fd.Enum().Values().ByNumber(l.Get(i).Enum()) == nil {
			continue // an unknown number, dropped as Mesos drops it
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		n++
		if err := writeValue(buf, fd, l.Get(i)); err != nil {
			return err
		}
	}
	buf.WriteByte(']')
	return nil
}

func writeMap(buf *bytes.Buffer, fd protoreflect.FieldDescriptor, mp protoreflect.Map) error {
	buf.WriteByte('{')
	first := true
	var err error
	mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		writeString(buf, k.String())
		buf.WriteByte(':')
		err = writeValue(buf, fd.MapValue(), v)
		return err == nil
	})
	buf.WriteByte('}')
	return err
}

func writeValue(buf *bytes.Buffer, fd protoreflect.FieldDescriptor, v protoreflect.Value) error {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return writeMessage(buf, v.Message())
	case protoreflect.BoolKind:
		buf.WriteString(strconv.FormatBool(v.Bool()))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		buf.WriteString(strconv.FormatInt(v.Int(), 10))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		buf.WriteString(strconv.FormatUint(v.Uint(), 10))
	case protoreflect.FloatKind:
		writeFloat(buf, v.Float(), 32)
	case protoreflect.DoubleKind:
		writeFloat(buf, v.Float(), 64)
	case protoreflect.StringKind:
		writeString(buf, v.String())
	case protoreflect.BytesKind:
		buf.WriteByte('"')
		buf.WriteString(base64.StdEncoding.EncodeToString(v.Bytes()))
		buf.WriteByte('"')
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			writeString(buf, string(ev.Name()))
		} else {
			buf.WriteString(strconv.FormatInt(int64(v.Enum()), 10))
		}
	default:
		return fmt.Errorf("field %s has unsupported kind %s", fd.FullName(), fd.Kind())
	}
	return nil
}

// writeFloat writes a finite value as a number and the others by the
// names Mesos uses ("NaN", "Infinity", "-Infinity").
func writeFloat(buf *bytes.Buffer, f float64, bits int) {
	switch {
	case math.IsNaN(f):
		buf.WriteString(`"NaN"`)
	case math.IsInf(f, 1):
		buf.WriteString(`"Infinity"`)
	case math.IsInf(f, -1):
		buf.WriteString(`"-Infinity"`)
	default:
		buf.WriteString(strconv.FormatFloat(f, 'g', -1, bits))
	}
}

func writeString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // a string always encodes
	buf.Write(b)
}

// JSONToProto fills m from data in Mesos' JSON mapping. Unknown keys and
// null values are skipped, as is an enum given as the empty string (mesh's
// types write an unset enum that way); an enum name the message does not
// know is an error.
func JSONToProto(data []byte, m proto.Message) error {
	var v any
	if err := unmarshalNumbers(data, &v); err != nil {
		return err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("expecting a JSON object for %s", m.ProtoReflect().Descriptor().FullName())
	}
	return fillMessage(m.ProtoReflect(), obj)
}

// unmarshalNumbers decodes JSON keeping numbers as json.Number.
func unmarshalNumbers(data []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

func fillMessage(m protoreflect.Message, obj map[string]any) error {
	fields := m.Descriptor().Fields()
	for key, raw := range obj {
		fd := fields.ByName(protoreflect.Name(key))
		if fd == nil || raw == nil {
			continue
		}
		if err := fillField(m, fd, raw); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil
}

func fillField(m protoreflect.Message, fd protoreflect.FieldDescriptor, raw any) error {
	switch {
	case fd.IsList():
		items, ok := raw.([]any)
		if !ok {
			return fmt.Errorf("expecting an array")
		}
		l := m.Mutable(fd).List()
		for i, item := range items {
			v, ok, err := jsonValue(l.NewElement, fd, item)
			if err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
			if ok {
				l.Append(v)
			}
		}
	case fd.IsMap():
		obj, ok := raw.(map[string]any)
		if !ok {
			return fmt.Errorf("expecting an object")
		}
		mp := m.Mutable(fd).Map()
		for k, item := range obj {
			key, err := mapKey(fd.MapKey(), k)
			if err != nil {
				return err
			}
			v, ok, err := jsonValue(mp.NewValue, fd.MapValue(), item)
			if err != nil {
				return fmt.Errorf("[%q]: %w", k, err)
			}
			if ok {
				mp.Set(key, v)
			}
		}
	default:
		v, ok, err := jsonValue(func() protoreflect.Value { return m.NewField(fd) }, fd, raw)
		if err != nil {
			return err
		}
		if ok {
			m.Set(fd, v)
		}
	}
	return nil
}

func mapKey(fd protoreflect.FieldDescriptor, k string) (protoreflect.MapKey, error) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(k).MapKey(), nil
	case protoreflect.BoolKind:
		b, err := strconv.ParseBool(k)
		return protoreflect.ValueOfBool(b).MapKey(), err
	}
	v, _, err := scalarValue(fd, json.Number(k))
	return v.MapKey(), err
}

// jsonValue converts one JSON value for fd; ok is false when the value
// leaves the field unset. newMsg makes the message to fill for message
// fields.
func jsonValue(newMsg func() protoreflect.Value, fd protoreflect.FieldDescriptor, raw any) (protoreflect.Value, bool, error) {
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		obj, ok := raw.(map[string]any)
		if !ok {
			return protoreflect.Value{}, false, fmt.Errorf("expecting an object")
		}
		v := newMsg()
		if err := fillMessage(v.Message(), obj); err != nil {
			return protoreflect.Value{}, false, err
		}
		return v, true, nil
	}
	return scalarValue(fd, raw)
}

func scalarValue(fd protoreflect.FieldDescriptor, raw any) (protoreflect.Value, bool, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		b, ok := raw.(bool)
		if !ok {
			return protoreflect.Value{}, false, fmt.Errorf("expecting a boolean")
		}
		return protoreflect.ValueOfBool(b), true, nil
	case protoreflect.StringKind:
		s, ok := raw.(string)
		if !ok {
			return protoreflect.Value{}, false, fmt.Errorf("expecting a string")
		}
		return protoreflect.ValueOfString(s), true, nil
	case protoreflect.BytesKind:
		s, ok := raw.(string)
		if !ok {
			return protoreflect.Value{}, false, fmt.Errorf("expecting a base64 string")
		}
		b, err := decodeBase64(s)
		if err != nil {
			return protoreflect.Value{}, false, err
		}
		return protoreflect.ValueOfBytes(b), true, nil
	case protoreflect.EnumKind:
		return enumValue(fd, raw)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f, err := floatValue(raw)
		if err != nil {
			return protoreflect.Value{}, false, err
		}
		if fd.Kind() == protoreflect.FloatKind {
			return protoreflect.ValueOfFloat32(float32(f)), true, nil
		}
		return protoreflect.ValueOfFloat64(f), true, nil
	}
	return intValue(fd, raw)
}

func enumValue(fd protoreflect.FieldDescriptor, raw any) (protoreflect.Value, bool, error) {
	switch x := raw.(type) {
	case string:
		if x == "" {
			return protoreflect.Value{}, false, nil
		}
		ev := fd.Enum().Values().ByName(protoreflect.Name(x))
		if ev == nil {
			return protoreflect.Value{}, false, fmt.Errorf("%q is not a value of %s", x, fd.Enum().FullName())
		}
		return protoreflect.ValueOfEnum(ev.Number()), true, nil
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 32)
		if err != nil {
			return protoreflect.Value{}, false, fmt.Errorf("enum number %s: %w", x, err)
		}
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), true, nil
	}
	return protoreflect.Value{}, false, fmt.Errorf("expecting an enum name")
}

func floatValue(raw any) (float64, error) {
	switch x := raw.(type) {
	case json.Number:
		return strconv.ParseFloat(string(x), 64)
	case string:
		switch x {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		return strconv.ParseFloat(strings.TrimSpace(x), 64)
	}
	return 0, fmt.Errorf("expecting a number")
}

func intValue(fd protoreflect.FieldDescriptor, raw any) (protoreflect.Value, bool, error) {
	var s string
	switch x := raw.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
	default:
		return protoreflect.Value{}, false, fmt.Errorf("expecting an integer")
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := strconv.ParseInt(s, 10, 32)
		return protoreflect.ValueOfInt32(int32(n)), err == nil, err
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := strconv.ParseInt(s, 10, 64)
		return protoreflect.ValueOfInt64(n), err == nil, err
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := strconv.ParseUint(s, 10, 32)
		return protoreflect.ValueOfUint32(uint32(n)), err == nil, err
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := strconv.ParseUint(s, 10, 64)
		return protoreflect.ValueOfUint64(n), err == nil, err
	}
	return protoreflect.Value{}, false, fmt.Errorf("field %s has unsupported kind %s", fd.FullName(), fd.Kind())
}

// decodeBase64 reads standard base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
