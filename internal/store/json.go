package store

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// appendJSON appends v encoded as encodeJSONReflect would, byte for byte,
// for the values contacts are made of (strings, booleans, lists of
// strings, objects of those, the sealed personal values), without
// reflection: the bulk path encodes several values per contact, and blind
// indexes are keyed hashes of these bytes, so they must not change. It
// reports false for anything else, and for strings that need escaping.
func appendJSON(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case string:
		return appendJSONString(b, v)
	case bool:
		if v {
			return append(b, "true"...), true
		}
		return append(b, "false"...), true
	case []string:
		if v == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendJSONString(b, s); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case map[string]any:
		return appendJSONObject(b, v)
	case personal:
		b = append(b, '{')
		var ok bool
		if v.Email != "" {
			b = append(b, `"email":`...)
			if b, ok = appendJSONString(b, v.Email); !ok {
				return b, false
			}
		}
		if len(v.Fields) > 0 {
			if v.Email != "" {
				b = append(b, ',')
			}
			b = append(b, `"fields":`...)
			if b, ok = appendJSONObject(b, v.Fields); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	}
	return b, false
}

// appendJSONValue appends v as encodeJSON writes it.
func appendJSONValue(b []byte, v any) []byte {
	if out, ok := appendJSON(b, v); ok {
		return out
	}
	return append(b, encodeJSONReflect(v)...)
}

// jsonObject writes a JSON object member by member; the caller adds the
// keys in order, as encoding/json sorts those of a map.
type jsonObject struct{ b []byte }

func (o *jsonObject) add(key string, v any) {
	o.key(key)
	o.b = appendJSONValue(o.b, v)
}

// addString is add of a string, which it need not box.
func (o *jsonObject) addString(key, v string) {
	o.key(key)
	o.b = appendJSONStringValue(o.b, v)
}

func (o *jsonObject) key(key string) {
	if o.b == nil {
		o.b = append(make([]byte, 0, 128), '{')
	} else {
		o.b = append(o.b, ',')
	}
	o.b = append(appendJSONStringValue(o.b, key), ':')
}

// appendJSONStringValue appends s as encodeJSON writes it.
func appendJSONStringValue(b []byte, s string) []byte {
	if out, ok := appendJSONString(b, s); ok {
		return out
	}
	return append(b, encodeJSONReflect(s)...)
}

// bytes returns the object, "{}" when it has no member.
func (o *jsonObject) bytes() []byte {
	if o.b == nil {
		return []byte("{}")
	}
	return append(o.b, '}')
}

// appendJSONObject appends m with its keys in order, as encoding/json does.
func appendJSONObject(b []byte, m map[string]any) ([]byte, bool) {
	if m == nil {
		return append(b, "null"...), true
	}
	var buf [16]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendJSONString(b, k); !ok {
			return b, false
		}
		b = append(b, ':')
		if b, ok = appendJSON(b, m[k]); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendJSONString appends s quoted when encoding/json writes it as it
// is between quotes: valid UTF-8 without control characters, quotes,
// backslashes or the line and paragraph separators (U+2028, U+2029),
// which it escapes. Any other string reports false.
func appendJSONString(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return b, false
		}
	}
	if !utf8.ValidString(s) || strings.Contains(s, "\u2028") || strings.Contains(s, "\u2029") {
		return b, false
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}
