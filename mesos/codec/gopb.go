package codec

// This file fills a protobuf message straight from one of mesh's Go
// values, following the value's JSON field tags: the same result as
// encoding it to JSON and reading that with JSONToProto (the tests hold
// the two to the same bytes), without the JSON in between. Events are
// encoded once per subscriber, so this is the hot direction.

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"
)

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))

// goField maps one struct field to the message field of the same name.
type goField struct {
	index     int
	name      string
	omitEmpty bool
	fd        protoreflect.FieldDescriptor
}

type planKey struct {
	t  reflect.Type
	md protoreflect.FullName
}

var plans sync.Map // planKey → []goField

// plan lists the fields of struct type t that message md has, by their
// JSON names; the others are left out, as unknown JSON keys are.
func plan(t reflect.Type, md protoreflect.MessageDescriptor) []goField {
	key := planKey{t, md.FullName()}
	if p, ok := plans.Load(key); ok {
		return p.([]goField)
	}
	var out []goField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			continue
		}
		out = append(out, goField{index: i, name: name, omitEmpty: strings.Contains(","+opts+",", ",omitempty,"), fd: fd})
	}
	plans.Store(key, out)
	return out
}

// fillFromGo sets m's fields from v, a struct (or a pointer to one).
func fillFromGo(m protoreflect.Message, v reflect.Value) error {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return fmt.Errorf("expecting a struct for %s, got %s", m.Descriptor().FullName(), v.Type())
	}
	for _, f := range plan(v.Type(), m.Descriptor()) {
		fv := v.Field(f.index)
		if f.omitEmpty && isEmpty(fv) {
			continue
		}
		if err := setFromGo(m, f.fd, fv); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

// isEmpty is encoding/json's test for omitempty.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

func setFromGo(m protoreflect.Message, fd protoreflect.FieldDescriptor, v reflect.Value) error {
	if v.Type() == rawMessageType {
		return setFromRaw(m, fd, v.Bytes())
	}
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
		return nil // JSON null: unset
	}
	switch {
	case fd.IsList():
		if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
			return fmt.Errorf("expecting a slice, got %s", v.Type())
		}
		l := m.Mutable(fd).List()
		for i := 0; i < v.Len(); i++ {
			pv, ok, err := goValue(l.NewElement, fd, v.Index(i))
			if err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
			if ok {
				l.Append(pv)
			}
		}
	case fd.IsMap():
		if v.Kind() != reflect.Map || v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("expecting a map with string keys, got %s", v.Type())
		}
		mp := m.Mutable(fd).Map()
		iter := v.MapRange()
		for iter.Next() {
			key, err := mapKey(fd.MapKey(), iter.Key().String())
			if err != nil {
				return err
			}
			pv, ok, err := goValue(mp.NewValue, fd.MapValue(), iter.Value())
			if err != nil {
				return fmt.Errorf("[%q]: %w", iter.Key().String(), err)
			}
			if ok {
				mp.Set(key, pv)
			}
		}
	default:
		pv, ok, err := goValue(func() protoreflect.Value { return m.NewField(fd) }, fd, v)
		if err != nil {
			return err
		}
		if ok {
			m.Set(fd, pv)
		}
	}
	return nil
}

// setFromRaw fills a field from JSON kept verbatim.
func setFromRaw(m protoreflect.Message, fd protoreflect.FieldDescriptor, raw []byte) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var x any
	if err := unmarshalNumbers(raw, &x); err != nil {
		return err
	}
	return fillField(m, fd, x)
}

// goValue converts one Go value for fd; ok is false when the value leaves
// the field unset.
func goValue(newMsg func() protoreflect.Value, fd protoreflect.FieldDescriptor, v reflect.Value) (protoreflect.Value, bool, error) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return protoreflect.Value{}, false, nil
		}
		v = v.Elem()
	}
	if v.Type() == rawMessageType {
		if b := v.Bytes(); len(b) > 0 && string(b) != "null" {
			var x any
			if err := unmarshalNumbers(b, &x); err != nil {
				return protoreflect.Value{}, false, err
			}
			return jsonValue(newMsg, fd, x)
		}
		return protoreflect.Value{}, false, nil
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		pv := newMsg()
		if err := fillFromGo(pv.Message(), v); err != nil {
			return protoreflect.Value{}, false, err
		}
		return pv, true, nil
	case protoreflect.StringKind:
		if v.Kind() == reflect.String {
			return protoreflect.ValueOfString(v.String()), true, nil
		}
	case protoreflect.BytesKind:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return protoreflect.ValueOfBytes(append([]byte{}, v.Bytes()...)), true, nil
		}
	case protoreflect.EnumKind:
		if v.Kind() == reflect.String {
			return enumValue(fd, v.String())
		}
	case protoreflect.BoolKind:
		if v.Kind() == reflect.Bool {
			return protoreflect.ValueOfBool(v.Bool()), true, nil
		}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		if f, ok := goFloat(v); ok {
			if fd.Kind() == protoreflect.FloatKind {
				return protoreflect.ValueOfFloat32(float32(f)), true, nil
			}
			return protoreflect.ValueOfFloat64(f), true, nil
		}
	default:
		return goInt(fd, v)
	}
	return protoreflect.Value{}, false, fmt.Errorf("a %s cannot be a %s", v.Type(), fd.Kind())
}

func goFloat(v reflect.Value) (float64, bool) {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint()), true
	}
	return 0, false
}

// goInt converts a Go integer to an integer field, refusing one that does
// not fit (as reading its JSON would).
func goInt(fd protoreflect.FieldDescriptor, v reflect.Value) (protoreflect.Value, bool, error) {
	var n int64  // the value, when it fits an int64
	var u uint64 // the value, when it is not negative
	fitsInt, neg := true, false
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n = v.Int()
		u, neg = uint64(n), n < 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u = v.Uint()
		n, fitsInt = int64(u), u <= math.MaxInt64
	default:
		return protoreflect.Value{}, false, fmt.Errorf("a %s cannot be a %s", v.Type(), fd.Kind())
	}
	ok := false
	var pv protoreflect.Value
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		ok, pv = fitsInt && n >= math.MinInt32 && n <= math.MaxInt32, protoreflect.ValueOfInt32(int32(n))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		ok, pv = fitsInt, protoreflect.ValueOfInt64(n)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		ok, pv = !neg && u <= math.MaxUint32, protoreflect.ValueOfUint32(uint32(u))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		ok, pv = !neg, protoreflect.ValueOfUint64(u)
	default:
		return protoreflect.Value{}, false, fmt.Errorf("field %s has unsupported kind %s", fd.FullName(), fd.Kind())
	}
	if !ok {
		return protoreflect.Value{}, false, fmt.Errorf("%v does not fit a %s", v, fd.Kind())
	}
	return pv, true, nil
}
