// Package flexapi holds the domain of the Flex API v2 FlexUser resource: users,
// instances, accounts and their credentials, SIDs, and the error vocabulary that
// every other package speaks. It depends on the standard library only (and on
// golang.org/x/text for locale tags).
package flexapi

import (
	"errors"
	"fmt"
)

// Error codes say what kind of failure happened; the api package maps each to
// an HTTP status and a Twilio error code in one place.
const (
	ENOTFOUND     = "not_found"    // absent, malformed, or another account's
	EINVALID      = "invalid"      // a parameter value is unacceptable
	ECONFLICT     = "conflict"     // the resource already exists
	EUNAVAILABLE  = "unavailable"  // the store cannot be reached now
	EUNAUTHORIZED = "unauthorized" // credentials are missing or wrong
	EINTERNAL     = "internal"     // anything unexpected
	EPRECONDITION = "precondition" // If-Match named another version
)

// Error is a failure that users may see. Message is safe to show to a client;
// details for operators belong in the wrapped error, which is logged only.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given code with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal server error"
}
