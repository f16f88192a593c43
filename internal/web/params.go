package web

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
)

// pathID returns the positive integer path parameter name. Anything else
// is ENOTFOUND naming what, not EINVALID: a probe learns nothing from the
// answer that it would not learn from an id that does not exist.
func pathID(r *http.Request, name, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, custos.NotFound(what)
	}
	return id, nil
}

// encodeCursor turns the position of the next page into the opaque cursor
// clients send back; 0, no next page, becomes null.
func encodeCursor(next int64) *string {
	if next <= 0 {
		return nil
	}
	c := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(next, 10)))
	return &c
}

// decodeCursor reverses encodeCursor; "" is the first page (0). Only a
// cursor encodeCursor could have made is accepted.
func decodeCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, custos.Invalid("cursor", "is not a valid cursor")
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != string(b) {
		return 0, custos.Invalid("cursor", "is not a valid cursor")
	}
	return n, nil
}

// queryParams is a request's query string, read one parameter at a time
// so that each error names its parameter.
type queryParams struct {
	values url.Values
}

// readQuery parses the query string and refuses a parameter that is not in
// allowed, or not prefixed by one of prefixes, or given more than once.
func readQuery(r *http.Request, allowed []string, prefixes ...string) (queryParams, error) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return queryParams{}, custos.Errorf(custos.EINVALID, "The query string is malformed.")
	}
	return checkQuery(values, allowed, prefixes...)
}

// checkQuery is readQuery over parsed values.
func checkQuery(values url.Values, allowed []string, prefixes ...string) (queryParams, error) {
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		known := slices.Contains(allowed, name)
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) && len(name) > len(p) {
				known = true
			}
		}
		if !known {
			return queryParams{}, custos.Invalid(name, "is not a known query parameter")
		} else if len(values[name]) > 1 {
			return queryParams{}, custos.Invalid(name, "must be given at most once")
		}
	}
	return queryParams{values: values}, nil
}

// str returns the parameter, or nil when it was not given.
func (q queryParams) str(name string) *string {
	if !q.values.Has(name) {
		return nil
	}
	v := q.values.Get(name)
	return &v
}

// id returns the parameter as a positive integer, or nil when not given.
func (q queryParams) id(name string) (*int64, error) {
	s := q.str(name)
	if s == nil {
		return nil, nil
	}
	n, err := strconv.ParseInt(*s, 10, 64)
	if err != nil || n <= 0 {
		return nil, custos.Invalid(name, "must be a positive integer")
	}
	return &n, nil
}

// limit returns the page size parameter, 0 (the default) when not given.
func (q queryParams) limit() (int, error) {
	s := q.str("limit")
	if s == nil {
		return 0, nil
	}
	n, err := strconv.Atoi(*s)
	if err != nil || n < 1 || n > custos.MaxLimit {
		return 0, custos.Invalid("limit", "must be an integer between 1 and %d", custos.MaxLimit)
	}
	return n, nil
}

// cursor returns the decoded cursor parameter, 0 when not given.
func (q queryParams) cursor() (int64, error) {
	return decodeCursor(q.values.Get("cursor"))
}

// pageQuery lists the query parameters of a route that answers pages of
// one kind: the cursor and the page size.
var pageQuery = []string{"cursor", "limit"}

// readPage reads the cursor and page size of such a route, each error
// naming its parameter.
func readPage(r *http.Request) (cursor int64, limit int, err error) {
	q, err := readQuery(r, pageQuery)
	if err != nil {
		return 0, 0, err
	}
	if cursor, err = q.cursor(); err != nil {
		return 0, 0, err
	}
	limit, err = q.limit()
	return cursor, limit, err
}

// ids returns the parameter as comma-separated positive integers, nil
// when not given.
func (q queryParams) ids(name string) ([]int64, error) {
	s := q.str(name)
	if s == nil {
		return nil, nil
	}
	out := []int64{}
	for part := range strings.SplitSeq(*s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		n, err := strconv.ParseInt(part, 10, 64)
		if err != nil || n <= 0 {
			return nil, custos.Invalid(name, "must be positive integers separated by commas")
		}
		out = append(out, n)
	}
	return out, nil
}

// time returns the parameter as an RFC 3339 time, nil when not given.
func (q queryParams) time(name string) (*time.Time, error) {
	return parseTime(name, q.str(name))
}
