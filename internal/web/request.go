package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
)

// maxBodyBytes is the largest request body the API reads.
const maxBodyBytes = 1 << 20

// decodeJSON reads the request body, which must be one JSON object of
// dst's shape with no unknown members, into dst. Its errors are domain
// errors that say what is wrong and, when it can tell, which member.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return custos.Errorf(custos.EUNSUPPORTED, "The body must be JSON, sent with Content-Type: application/json.")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return custos.Errorf(custos.EUNSUPPORTED, "The body must be JSON, sent with Content-Type: application/json.")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return custos.Errorf(custos.EUNSUPPORTED, "The body must be encoded in UTF-8.")
	}

	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	// Anything after the object, even a second object, is refused: a client
	// that sends it has a bug we should not guess around.
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return tooLargeError()
		}
		return custos.Errorf(custos.EINVALID, "The body must hold one JSON object and nothing after it.")
	}
	return nil
}

func tooLargeError() error {
	return custos.Errorf(custos.ETOOLARGE, "The body must be at most %d bytes.", maxBodyBytes)
}

// decodeError turns an error of encoding/json into a domain error.
func decodeError(err error) error {
	var (
		tooLarge  *http.MaxBytesError
		syntax    *json.SyntaxError
		typeError *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return tooLargeError()
	case errors.Is(err, io.EOF):
		return custos.Errorf(custos.EINVALID, "A JSON object is required as the body.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return custos.Errorf(custos.EINVALID, "The body ends before its JSON is complete.")
	case errors.As(err, &syntax):
		return custos.Errorf(custos.EINVALID, "The body is not valid JSON (at byte %d).", syntax.Offset)
	case errors.As(err, &typeError):
		if typeError.Field == "" {
			return custos.Errorf(custos.EINVALID, "The body must be a JSON object.")
		}
		got, _, _ := strings.Cut(typeError.Value, " ")
		return custos.Invalid(typeError.Field, "has the wrong type: expected %s, got %s", describeType(typeError.Type), article(got))
	}
	// encoding/json reports an unknown member only in its message text:
	// `json: unknown field "name"`.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unquoted, uErr := strconv.Unquote(name); uErr == nil {
			name = unquoted
		}
		return custos.Invalid(name, "is not a known member of this object")
	}
	return custos.Errorf(custos.EINVALID, "The body holds a value of the wrong form.")
}

// describeType names a Go type as a JSON client sees it.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map:
		return "an object"
	case reflect.Struct:
		return "an object"
	case reflect.Interface:
		return "a JSON value"
	}
	return "of another type"
}

// article puts "a" or "an" before a JSON kind such as "number" or "array".
func article(kind string) string {
	switch kind {
	case "":
		return "another value"
	case "array", "object":
		return "an " + kind
	case "bool":
		return "true or false"
	}
	return "a " + kind
}

// parseTime parses an optional RFC 3339 time given as a string, naming
// field in its error.
func parseTime(field string, s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		// A day alone, as a date input gives it, is its start in UTC.
		if t, err = time.Parse(time.DateOnly, *s); err != nil {
			return nil, custos.Invalid(field, "must be a time in RFC 3339 form, such as 2025-01-31T12:00:00Z, or a day, such as 2025-01-31")
		}
	}
	return &t, nil
}

// fieldError returns err with prefix+"." put before the field it names, so
// that errors about a nested object name its place in the body.
func fieldError(prefix string, err error) error {
	e := custos.AsError(err)
	if e == nil || e.Field == "" {
		return err
	}
	c := *e
	c.Field = prefix + "." + e.Field
	return &c
}
