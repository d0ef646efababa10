package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// FieldError is one problem with the input, at the field it concerns, e.g.
// "policy_statement[0].Effect".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// FieldErrors are every problem found, in input order.
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	if len(fe) == 0 {
		return "no errors"
	}
	return fe[0].Field + ": " + fe[0].Message
}

// For returns the message for field, or "".
func (fe FieldErrors) For(field string) string {
	for _, e := range fe {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// statementKeys are the only keys a statement may have.
var statementKeys = map[string]bool{"Effect": true, "Action": true, "Resource": true, "Condition": true, "Sid": true}

// ParseDocument parses the raw editor's JSON, {"policy_statement": [...]},
// rejecting unknown keys, and validates the policy. field prefixes error
// fields (e.g. "policy_json"). Syntax errors name the line and column.
func ParseDocument(data []byte, field string) (Policy, FieldErrors) {
	p, errs, _ := readDocument(data, field, false)
	if p == nil {
		return nil, errs
	}
	return p, dedupe(append(errs, Validate(p)...))
}

// EditorRead is the raw editor's JSON as the structured view reads it.
type EditorRead struct {
	// Policy is what the structured view shows; nil when Errors say the
	// JSON cannot be shown there.
	Policy Policy
	// Errors are the problems the structured view cannot show: syntax,
	// unknown keys, values of the wrong type. What Validate finds (an empty
	// Action, a bad Effect) is left to the structured view and the preview.
	Errors FieldErrors
	// Notes say what was read differently from how it was written.
	Notes []string
}

// ReadEditorDocument reads the raw editor's JSON for the structured view.
// Unlike ParseDocument it does not validate, so an unfinished statement
// still reaches the form, and it reads an Effect written in another case
// ("allow") as Allow or Deny, saying so in Notes: the form can only show
// those two, and an admin who typed "allow" means Allow.
func ReadEditorDocument(data []byte, field string) EditorRead {
	p, errs, notes := readDocument(data, field, true)
	if len(errs) > 0 {
		return EditorRead{Errors: errs, Notes: notes}
	}
	return EditorRead{Policy: p, Notes: notes}
}

// readDocument reads the document's structure without validating the
// policy: p is nil when the document itself is unreadable.
func readDocument(data []byte, field string, foldEffect bool) (Policy, FieldErrors, []string) {
	if len(data) > MaxBodyBytes {
		return nil, FieldErrors{{field, fmt.Sprintf("The policy is %d bytes; at most %d (64 KiB) are allowed.", len(data), MaxBodyBytes)}}, nil
	}
	if err := CheckJSON(data, ""); err != nil {
		return nil, FieldErrors{{field, SyntaxErrorMessage(data, err)}}, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil || top == nil {
		return nil, FieldErrors{{field, `The policy must be a JSON object: {"policy_statement": [...]}.`}}, nil
	}
	for k := range top {
		if k != "policy_statement" {
			return nil, FieldErrors{{field, fmt.Sprintf("Unknown key %q: only \"policy_statement\" is allowed.", k)}}, nil
		}
	}
	raw, ok := top["policy_statement"]
	if !ok {
		return nil, FieldErrors{{PolicyField, "policy_statement is required."}}, nil
	}
	return readStatements(raw, foldEffect)
}

// SyntaxErrorMessage says what CheckJSON found in data, where a person
// looks for it: line and column, not a byte offset.
func SyntaxErrorMessage(data []byte, err error) string {
	var je *JSONError
	if !errors.As(err, &je) {
		return "Not well-formed JSON: " + err.Error() + "."
	}
	if je.empty {
		return "Not well-formed JSON: it is empty."
	}
	where := ""
	if je.Path != "" {
		where = " (in " + je.Path + ")"
	}
	line, col := LineColumn(data, je.Offset)
	return fmt.Sprintf("The JSON has an error at line %d, column %d: %s%s.", line, col, je.Msg, where)
}

// LineColumn returns the 1-based line and column of byte offset in data,
// as an editor counts them: a column is a character (not a byte), and CRLF
// (how a browser posts a textarea's line breaks) is one line break.
func LineColumn(data []byte, offset int) (line, col int) {
	offset = min(max(offset, 0), len(data))
	line, col = 1, 1
	for _, r := range string(data[:offset]) {
		switch r {
		case '\n':
			line, col = line+1, 1
		case '\r':
		default:
			col++
		}
	}
	return line, col
}

// ParseStatements parses and validates a policy_statement JSON array.
func ParseStatements(raw json.RawMessage) (Policy, FieldErrors) {
	if err := CheckJSON(raw, PolicyField); err != nil {
		return nil, FieldErrors{JSONFieldError(err, PolicyField)}
	}
	return parseStatements(raw)
}

// ParseCheckedStatements is ParseStatements for a policy_statement that
// CheckJSON has already accepted as a member of a larger document (an API
// request body), so it is not scanned again.
func ParseCheckedStatements(raw json.RawMessage) (Policy, FieldErrors) {
	return parseStatements(raw)
}

// parseStatements is ParseStatements after CheckJSON.
func parseStatements(raw json.RawMessage) (Policy, FieldErrors) {
	p, errs, _ := readStatements(raw, false)
	if p == nil {
		return nil, errs
	}
	return p, dedupe(append(errs, Validate(p)...))
}

// readStatements reads a checked policy_statement array without validating
// it: p is nil when it is not an array. With foldEffect an Effect that is
// Allow or Deny in another case is read as such, and a note says so.
func readStatements(raw json.RawMessage, foldEffect bool) (Policy, FieldErrors, []string) {
	var items []json.RawMessage
	if err := decodeChecked(raw, &items); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, FieldErrors{{PolicyField, "policy_statement must be an array of statements."}}, nil
	}
	var errs FieldErrors
	var notes []string
	p := make(Policy, 0, len(items))
	for i, item := range items {
		where := StatementPath(i)
		var obj map[string]json.RawMessage
		if err := decodeChecked(item, &obj); err != nil || obj == nil {
			errs = append(errs, FieldError{where, "Each statement must be a JSON object."})
			continue
		}
		var unknown []string
		for k := range obj {
			if !statementKeys[k] {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			errs = append(errs, FieldError{where, fmt.Sprintf("Unknown key %q: a statement has Effect, Action, Resource and optionally Sid and Condition (names are case-sensitive).", unknown[0])})
			continue
		}
		var s vpcep.PolicyStatement
		if raw, ok := obj["Effect"]; !ok {
			errs = append(errs, FieldError{where + ".Effect", "Effect is required: Allow or Deny."})
		} else if err := json.Unmarshal(raw, &s.Effect); err != nil {
			errs = append(errs, FieldError{where + ".Effect", "Effect must be the string Allow or Deny."})
		} else if folded := foldedEffect(s.Effect); foldEffect && folded != s.Effect {
			notes = append(notes, fmt.Sprintf("Statement %d: Effect %q is read as %q.", i+1, s.Effect, folded))
			s.Effect = folded
		}
		s.Action = stringList(obj, "Action", where, &errs)
		s.Resource = stringList(obj, "Resource", where, &errs)
		if raw, ok := obj["Sid"]; ok {
			if err := json.Unmarshal(raw, &s.Sid); err != nil {
				errs = append(errs, FieldError{where + ".Sid", "Sid must be a string."})
			}
		}
		if raw, ok := obj["Condition"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			s.Condition = append(json.RawMessage(nil), raw...)
		}
		p = append(p, s)
	}
	return p, errs, notes
}

// foldedEffect is effect as Allow or Deny when it is one of them in another
// case, else effect unchanged (a padded "Allow " stays an error).
func foldedEffect(effect string) string {
	for _, e := range []string{Allow, Deny} {
		if strings.EqualFold(effect, e) {
			return e
		}
	}
	return effect
}

// JSONFieldError is a CheckJSON error as a field error: at the member it
// concerns (field when it concerns the whole document).
func JSONFieldError(err error, field string) FieldError {
	var je *JSONError
	if errors.As(err, &je) && je.Path != "" {
		return FieldError{je.Path, jsonErrorMessage(err)}
	}
	return FieldError{field, jsonErrorMessage(err)}
}

// jsonErrorMessage says what CheckJSON found, as a sentence.
func jsonErrorMessage(err error) string {
	var je *JSONError
	if !errors.As(err, &je) {
		return "Not well-formed JSON: " + err.Error() + "."
	}
	where := ""
	if je.Path != "" {
		where = " (in " + je.Path + ")"
	}
	if je.empty {
		return "Not well-formed JSON: it is empty."
	}
	return fmt.Sprintf("Not well-formed JSON: %s at byte %d%s.", je.Msg, je.Offset, where)
}

// stringList reads obj[key] as an array of strings, recording type errors;
// Validate checks emptiness and bounds.
func stringList(obj map[string]json.RawMessage, key, where string, errs *FieldErrors) []string {
	raw, ok := obj[key]
	if !ok {
		*errs = append(*errs, FieldError{where + "." + key, key + " is required: a non-empty array of strings."})
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		*errs = append(*errs, FieldError{where + "." + key, key + " must be an array of strings, e.g. [\"obs:object:GetObject\"]."})
		return nil
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		var s string
		if err := json.Unmarshal(item, &s); err != nil {
			*errs = append(*errs, FieldError{entryPath(where+"."+key, i), key + " entries must be strings."})
			continue
		}
		out = append(out, s)
	}
	return out
}

// Validate checks a policy however it was entered: at least one statement,
// Effect exactly Allow or Deny, non-empty Action and Resource lists of
// non-empty strings, a Condition that is a JSON object, and the bounds.
func Validate(p Policy) FieldErrors {
	var errs FieldErrors
	if len(p) == 0 {
		return FieldErrors{{PolicyField, "A policy needs at least one statement."}}
	}
	if len(p) > MaxStatements {
		errs = append(errs, FieldError{PolicyField, fmt.Sprintf("%d statements; at most %d are allowed.", len(p), MaxStatements)})
	}
	for i, s := range p {
		where := StatementPath(i)
		if s.Effect != Allow && s.Effect != Deny {
			msg := fmt.Sprintf("Effect must be exactly Allow or Deny, not %q.", s.Effect)
			if s.Effect == "" {
				msg = "Effect is required: Allow or Deny."
			}
			errs = append(errs, FieldError{where + ".Effect", msg})
		}
		for _, list := range []struct {
			key    string
			values []string
		}{{"Action", s.Action}, {"Resource", s.Resource}} {
			field := where + "." + list.key
			if len(list.values) == 0 {
				errs = append(errs, FieldError{field, list.key + " needs at least one entry."})
				continue
			}
			if len(list.values) > MaxEntries {
				errs = append(errs, FieldError{field, fmt.Sprintf("%d entries; at most %d are allowed.", len(list.values), MaxEntries)})
			}
			for j, v := range list.values {
				if msg := checkString(v); msg != "" {
					errs = append(errs, FieldError{entryPath(field, j), list.key + " entries " + msg})
				}
			}
		}
		if len(s.Sid) > MaxStringLength || !utf8.ValidString(s.Sid) || hasControl(s.Sid) {
			errs = append(errs, FieldError{where + ".Sid", fmt.Sprintf("Sid must be valid text of at most %d bytes, without control characters.", MaxStringLength)})
		}
		if len(s.Condition) > 0 {
			if msg := checkCondition(s.Condition, where+".Condition"); msg != "" {
				errs = append(errs, FieldError{where + ".Condition", msg})
			}
		}
	}
	return errs
}

// checkCondition returns what is wrong with a non-empty Condition at path,
// or "".
func checkCondition(cond json.RawMessage, path string) string {
	if len(cond) > MaxConditionSize {
		return fmt.Sprintf("Condition is %d bytes; at most %d are allowed.", len(cond), MaxConditionSize)
	}
	if err := CheckJSON(cond, path); err != nil {
		return jsonErrorMessage(err)
	}
	var obj map[string]any
	if decodeNumbers(cond, &obj) != nil || obj == nil {
		return `Condition must be a JSON object, e.g. {"StringEquals": {"obs:prefix": ["logs/"]}}.`
	}
	if conditionStrings(obj, hasControl) {
		return "Condition keys and values must not contain control characters."
	}
	return ""
}

func checkString(v string) string {
	switch {
	case strings.TrimSpace(v) == "":
		return "must not be empty."
	case len(v) > MaxStringLength:
		return fmt.Sprintf("must be at most %d bytes.", MaxStringLength)
	case !utf8.ValidString(v):
		return "must be valid UTF-8 text."
	case hasControl(v):
		return "must not contain control characters."
	case strings.TrimSpace(v) != v:
		return "must not start or end with spaces."
	}
	return ""
}

// hasControl reports whether v has a control character (C0, DEL or C1).
func hasControl(v string) bool {
	return strings.ContainsFunc(v, unicode.IsControl)
}

// ValidateReason checks the reason every change must give: text, with line
// breaks and tabs but no other control character (a NUL cannot even be
// stored).
func ValidateReason(reason string) FieldErrors {
	switch r := strings.TrimSpace(reason); {
	case !utf8.ValidString(r):
		return FieldErrors{{"reason", "The reason must be valid UTF-8 text."}}
	case strings.ContainsFunc(r, func(c rune) bool { return c != '\n' && c != '\r' && c != '\t' && unicode.IsControl(c) }):
		return FieldErrors{{"reason", "The reason must not contain control characters (line breaks and tabs are fine)."}}
	case r == "":
		return FieldErrors{{"reason", "Say why this change is made: the reason is recorded in the audit log."}}
	case len(r) > MaxReasonLength:
		return FieldErrors{{"reason", fmt.Sprintf("The reason is %d bytes; at most %d are allowed.", len(r), MaxReasonLength)}}
	}
	return nil
}

// decodeChecked decodes data, which CheckJSON has accepted (one
// well-formed value, nothing after it), into v; a value of the wrong type
// is reported with its offset.
func decodeChecked(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Errorf("expected %s, found a JSON %s at byte %d", typ.Type, typ.Value, typ.Offset)
	}
	return err
}

func dedupe(errs FieldErrors) FieldErrors {
	seen := map[string]bool{}
	var out FieldErrors
	for _, e := range errs {
		if !seen[e.Field] {
			seen[e.Field] = true
			out = append(out, e)
		}
	}
	return out
}

// decodeNumbers decodes raw into v keeping numbers as json.Number: a
// Condition's numbers are the admin's, sent and compared exactly, however
// large (1e400 is valid JSON, if no float64).
func decodeNumbers(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}
