// Package custos holds the domain of Custos: its types, their validation,
// the filters and updates the services take, the error codes they return and
// the service interfaces the store implements. It imports nothing else of the
// project, so every other package can depend on it.
package custos

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error codes. Each is stable: API clients match on them, and the web layer
// maps each to one HTTP status.
const (
	EINVALID      = "invalid"        // the input is malformed or breaks a rule
	ENOTFOUND     = "not_found"      // no such object in the caller's workspace
	ECONFLICT     = "conflict"       // the object exists already or the change clashes with state
	EUNAUTHORIZED = "unauthorized"   // no valid credentials
	EFORBIDDEN    = "forbidden"      // valid credentials, missing permission
	ETOOLARGE     = "too_large"      // the request body is too large
	ERATELIMIT    = "rate_limited"   // too many requests
	EINTERNAL     = "internal"       // anything else; never shown in detail
	EUNAVAILABLE  = "unavailable"    // not ready yet, try again
	ENOTALLOWED   = "not_allowed"    // the method is not allowed on the route
	EUNSUPPORTED  = "unsupported"    // the media type is not supported
	ETOOMANY      = "too_many"       // a bulk request names too many objects
	EGONE         = "gone"           // the object existed and was erased
	ECONSENT      = "consent_needed" // the change needs a consent the contact has not given
	ERESTRICTED   = "restricted"     // the contact's processing is restricted (Art. 18); the change waits for the lifting
)

// Error is the one error type of the domain: a machine-readable code, a
// message safe to show to the caller, and optionally the input field at
// fault and the id of an existing object a conflict is about.
type Error struct {
	Code     string
	Message  string
	Field    string
	Existing int64
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("custos: %s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("custos: %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error that names the input field at fault.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Restricted returns an ERESTRICTED error that names the input field
// asking for a change the contact's restriction of processing forbids.
func Restricted(field, format string, args ...any) *Error {
	return &Error{Code: ERESTRICTED, Field: field,
		Message: "the contact's processing is restricted (GDPR Art. 18): " + fmt.Sprintf(format, args...)}
}

// NotFound returns an ENOTFOUND error for the named kind of object.
func NotFound(what string) *Error {
	return &Error{Code: ENOTFOUND, Message: what + " not found"}
}

// ErrorCode returns the code of the *Error in err's chain, EINTERNAL for any
// other error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the safe message of the *Error in err's chain, or a
// generic message for any other error, whose text may hold internals.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// CheckText fails, naming field, when s is not valid UTF-8 or holds a NUL
// character, which neither database can keep in a text column.
func CheckText(field, s string) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "is not valid UTF-8")
	} else if strings.IndexByte(s, 0) >= 0 {
		return Invalid(field, "must not contain NUL characters")
	}
	return nil
}

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
