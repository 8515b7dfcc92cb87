package sasl

import "errors"

// ErrUnknownUser is what a Lookup or PlainVerify returns when there is no
// such account. The exchange then fails exactly as for a wrong password.
var ErrUnknownUser = errors.New("sasl: unknown user")

// SASL failure conditions (RFC 6120 §6.5).
const (
	Aborted              = "aborted"
	AccountDisabled      = "account-disabled"
	CredentialsExpired   = "credentials-expired"
	EncryptionRequired   = "encryption-required"
	IncorrectEncoding    = "incorrect-encoding"
	InvalidAuthzid       = "invalid-authzid"
	InvalidMechanism     = "invalid-mechanism"
	MalformedRequest     = "malformed-request"
	MechanismTooWeak     = "mechanism-too-weak"
	NotAuthorized        = "not-authorized"
	TemporaryAuthFailure = "temporary-auth-failure"
)

// Failure ends an exchange. Condition and Text are safe to send to the
// client in <failure/> (RFC 6120 §6.4.5); in particular Text is the same for
// a wrong password and an unknown user. Error, for logs, also names the
// cause (such as ErrUnknownUser or a storage error), which Unwrap returns.
type Failure struct {
	Condition, Text string

	cause error
}

func (f *Failure) Error() string {
	s := "sasl: " + f.Condition
	if f.Text != "" {
		s += ": " + f.Text
	}
	if f.cause != nil {
		s += " (" + f.cause.Error() + ")"
	}
	return s
}

// Unwrap returns the cause of f, if the server knows one.
func (f *Failure) Unwrap() error { return f.cause }

func fail(cond, text string) *Failure { return &Failure{Condition: cond, Text: text} }

// Failures shared by several mechanisms. They are built per use, so a
// caller cannot alter a shared value.
func notAuthorized(cause error) *Failure {
	return &Failure{Condition: NotAuthorized, Text: "authentication failed", cause: cause}
}

func malformed(text string) *Failure { return fail(MalformedRequest, text) }

// errBadProof is the cause of a not-authorized failure for a wrong
// password; it is never sent to the client.
var errBadProof = errors.New("sasl: wrong password")
