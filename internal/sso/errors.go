package sso

import "fmt"

// Reasons a sign-in through the identity provider fails, as FlowError.Reason:
// stable words for security events and metrics.
const (
	ReasonBadState            = "bad_state"            // the state is unknown, used already or expired
	ReasonProviderUnreachable = "provider_unreachable" // discovery, token or userinfo endpoint down
	ReasonWrongIssuer         = "wrong_issuer"         // discovery or the ID token names another issuer
	ReasonWrongAudience       = "wrong_audience"       // the ID token is for another client
	ReasonExpired             = "expired"              // the ID token expired more than the allowed skew ago
	ReasonClockSkew           = "clock_skew"           // the ID token was issued (or starts) in the future, beyond the allowed skew
	ReasonBadSignature        = "bad_signature"        // the ID token's signature does not verify, or it is no JWT
	ReasonNonceMismatch       = "nonce_mismatch"       // the ID token belongs to another sign-in attempt
	ReasonExchangeFailed      = "exchange_failed"      // the token endpoint refused the code, or sent no ID token
	ReasonInvalidToken        = "invalid_token"        // any other flaw of the ID token or the userinfo answer
	ReasonNoGroup             = "no_group"             // none of the user's groups is mapped to a role
	ReasonProviderRefused     = "provider_refused"     // the provider sent the browser back with an error (the user cancelled)
	ReasonDisabled            = "disabled"             // the console's account of the person is disabled
)

// messages are what the sign-in page says for each reason: plain words,
// nothing from the provider's answer.
var messages = map[string]string{
	ReasonBadState:            "This sign-in link was already used or has expired. Please start the sign-in again.",
	ReasonProviderUnreachable: "The identity provider could not be reached. Please try again in a moment.",
	ReasonWrongIssuer:         "The identity provider answered as a different issuer than the one configured, so nobody was signed in. An administrator should check OIDC_ISSUER.",
	ReasonWrongAudience:       "The identity provider's answer was meant for another application, so nobody was signed in.",
	ReasonExpired:             "The identity provider's answer had expired, so nobody was signed in. Please start the sign-in again; if this repeats, the clocks of the console and the provider disagree.",
	ReasonClockSkew:           "The clocks of the console and the identity provider disagree by more than a minute, so nobody was signed in. An administrator should check them.",
	ReasonBadSignature:        "The identity provider's answer did not carry a valid signature, so nobody was signed in.",
	ReasonNonceMismatch:       "The identity provider's answer belongs to another sign-in attempt, so nobody was signed in. Please start the sign-in again.",
	ReasonExchangeFailed:      "The identity provider did not complete the sign-in. Please start it again.",
	ReasonInvalidToken:        "The identity provider's answer was not valid, so nobody was signed in.",
	ReasonNoGroup:             "Your account at the identity provider is in no group that has access to this console. Ask an administrator to add you to one.",
}

// FlowError is a failed sign-in: Reason says why (one of the Reason
// constants), Message says it in plain words for the page, Err holds the
// cause for the log. None of them holds a token, a code or the client
// secret.
type FlowError struct {
	Reason  string
	Message string
	Err     error
}

func (e *FlowError) Error() string {
	if e.Err == nil {
		return "sso: " + e.Reason
	}
	return fmt.Sprintf("sso: %s: %v", e.Reason, e.Err)
}

func (e *FlowError) Unwrap() error { return e.Err }

// flowError builds the FlowError of reason with its message.
func flowError(reason string, err error) *FlowError {
	return &FlowError{Reason: reason, Message: messages[reason], Err: err}
}
