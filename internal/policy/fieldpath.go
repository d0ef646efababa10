package policy

import (
	"strconv"
	"strings"
)

// Field paths name what a FieldError is about, in the API's terms:
// policy_statement, policy_statement[2], policy_statement[2].Action,
// policy_statement[2].Action[0]. The editor's structured form names its
// inputs s.count and s.{i}.{effect|action|resource|sid|condition}. Both
// protocols live here so parsing, the views and the handlers agree.

// PolicyField is the path of the whole policy_statement list.
const PolicyField = "policy_statement"

// StatementPath is the path of statement i: policy_statement[i].
func StatementPath(i int) string { return PolicyField + "[" + strconv.Itoa(i) + "]" }

// StatementFieldPath is the path of key (Effect, Action, ...) in statement
// i: policy_statement[i].key; with key "", the statement itself.
func StatementFieldPath(i int, key string) string {
	if key == "" {
		return StatementPath(i)
	}
	return StatementPath(i) + "." + key
}

// entryPath is the path of entry j of the list at path: path[j].
func entryPath(path string, j int) string { return path + "[" + strconv.Itoa(j) + "]" }

// Within returns the first message at path or at an entry inside it (for
// policy_statement[0].Action, also policy_statement[0].Action[2]), or "".
func (fe FieldErrors) Within(path string) string {
	for _, e := range fe {
		if e.Field == path || strings.HasPrefix(e.Field, path+"[") {
			return e.Message
		}
	}
	return ""
}

// FormCount is the structured editor's input holding the number of statements.
const FormCount = "s.count"

// Inputs of one statement in the structured editor.
const (
	FormEffect    = "effect"
	FormAction    = "action"   // one entry per line
	FormResource  = "resource" // one entry per line
	FormSid       = "sid"
	FormCondition = "condition" // a JSON object
)

// FormName names input name of statement i in the structured editor: s.{i}.{name}.
func FormName(i int, name string) string { return "s." + strconv.Itoa(i) + "." + name }
