package policy

import "testing"

func TestFieldPaths(t *testing.T) {
	t.Parallel()
	for got, want := range map[string]string{
		StatementPath(2):                           "policy_statement[2]",
		StatementFieldPath(2, ""):                  "policy_statement[2]",
		StatementFieldPath(2, "Action"):            "policy_statement[2].Action",
		entryPath("policy_statement[2].Action", 0): "policy_statement[2].Action[0]",
		FormName(3, FormResource):                  "s.3.resource",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// The paths that parsing reports are the ones the editor looks up.
func TestWithinFindsParseErrors(t *testing.T) {
	t.Parallel()
	_, errs := ParseStatements([]byte(`[{"Effect": "Allow", "Action": ["ok", ""], "Resource": ["*"]}]`))
	if errs.Within(StatementFieldPath(0, "Action")) == "" {
		t.Fatalf("no error within Action: %v", errs)
	}
	if errs.Within(StatementFieldPath(0, "Resource")) != "" || errs.Within(StatementFieldPath(0, "Act")) != "" {
		t.Errorf("an error found where there is none: %v", errs)
	}
}
