// Package policytest holds the table of malformed policies that the policy
// parser, the HTML form and the JSON API are each tested against.
package policytest

import "strings"

// MalformedPolicies is the table of bad input shared by the parser, form and API tests:
// each raw editor document, the field its error is at, and a piece of the
// message.
var MalformedPolicies = []struct {
	Name, Doc, Field, Message string
}{
	{"empty input", ``, "doc", "it is empty"},
	{"not JSON", `policy`, "doc", "The JSON has an error at line 1, column 1"},
	{"truncated", `{"policy_statement": [`, "doc", "The JSON has an error at line 1, column 23"},
	{"trailing data", `{"policy_statement": []} {}`, "doc", "The JSON has an error at line 1, column 26: unexpected data after the JSON object"},
	{"duplicate key", `{"policy_statement": [{"Effect": "Deny", "Effect": "Allow", "Action": ["a"], "Resource": ["*"]}]}`, "doc", `duplicate key "Effect"`},
	{"duplicate key in Condition", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"], "Condition": {"StringEquals": {"obs:prefix": ["a/"], "obs:prefix": ["b/"]}}}]}`, "doc", `duplicate key "obs:prefix"`},
	{"lone surrogate", `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:\ud800"], "Resource": ["*"]}]}`, "doc", `lone surrogate \ud800`},
	{"NUL in Sid", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"], "Sid": "a\u0000"}]}`, "doc", "NUL"},
	{"control character in Resource", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["obs:\u001b"]}]}`, "policy_statement[0].Resource[0]", "control characters"},
	{"array at top", `[]`, "doc", "must be a JSON object"},
	{"null at top", `null`, "doc", "must be a JSON object"},
	{"unknown top-level key", `{"policy_statement": [], "policy_document": {}}`, "doc", `Unknown key "policy_document"`},
	{"missing policy_statement", `{}`, "policy_statement", "policy_statement is required"},
	{"policy_statement not an array", `{"policy_statement": {"Effect": "Allow"}}`, "policy_statement", "must be an array"},
	{"policy_statement null", `{"policy_statement": null}`, "policy_statement", "must be an array"},
	{"no statements", `{"policy_statement": []}`, "policy_statement", "at least one statement"},
	{"statement not an object", `{"policy_statement": ["Allow"]}`, "policy_statement[0]", "must be a JSON object"},
	{"unknown statement key", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"], "Principal": "*"}]}`, "policy_statement[0]", `Unknown key "Principal"`},
	{"lower-case key", `{"policy_statement": [{"effect": "Allow", "Action": ["a"], "Resource": ["*"]}]}`, "policy_statement[0]", `Unknown key "effect"`},
	{"missing Effect", `{"policy_statement": [{"Action": ["a"], "Resource": ["*"]}]}`, "policy_statement[0].Effect", "Effect is required"},
	{"Effect lower case", `{"policy_statement": [{"Effect": "allow", "Action": ["a"], "Resource": ["*"]}]}`, "policy_statement[0].Effect", `not "allow"`},
	{"Effect with space", `{"policy_statement": [{"Effect": "Allow ", "Action": ["a"], "Resource": ["*"]}]}`, "policy_statement[0].Effect", "exactly Allow or Deny"},
	{"Effect not a string", `{"policy_statement": [{"Effect": true, "Action": ["a"], "Resource": ["*"]}]}`, "policy_statement[0].Effect", "must be the string"},
	{"missing Action", `{"policy_statement": [{"Effect": "Allow", "Resource": ["*"]}]}`, "policy_statement[0].Action", "Action is required"},
	{"Action a string", `{"policy_statement": [{"Effect": "Allow", "Action": "obs:*", "Resource": ["*"]}]}`, "policy_statement[0].Action", "must be an array of strings"},
	{"Action empty", `{"policy_statement": [{"Effect": "Allow", "Action": [], "Resource": ["*"]}]}`, "policy_statement[0].Action", "at least one entry"},
	{"Action entry a number", `{"policy_statement": [{"Effect": "Allow", "Action": [1], "Resource": ["*"]}]}`, "policy_statement[0].Action[0]", "must be strings"},
	{"Action entry empty", `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:*", ""], "Resource": ["*"]}]}`, "policy_statement[0].Action[1]", "must not be empty"},
	{"Action entry padded", `{"policy_statement": [{"Effect": "Allow", "Action": [" obs:*"], "Resource": ["*"]}]}`, "policy_statement[0].Action[0]", "spaces"},
	{"missing Resource", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"]}]}`, "policy_statement[0].Resource", "Resource is required"},
	{"Resource null", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": null}]}`, "policy_statement[0].Resource", "must be an array"},
	{"Resource entry blank", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["   "]}]}`, "policy_statement[0].Resource[0]", "must not be empty"},
	{"Resource entry too long", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["` + strings.Repeat("r", 513) + `"]}]}`, "policy_statement[0].Resource[0]", "at most 512 bytes"},
	{"Condition a string", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"], "Condition": "ip"}]}`, "policy_statement[0].Condition", "must be a JSON object"},
	{"Sid a number", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"], "Sid": 7}]}`, "policy_statement[0].Sid", "Sid must be a string"},
	{"second statement bad", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"]}, {"Effect": "Block", "Action": ["a"], "Resource": ["*"]}]}`, "policy_statement[1].Effect", `not "Block"`},
	{"too many statements", `{"policy_statement": [` + strings.TrimSuffix(strings.Repeat(`{"Effect":"Allow","Action":["a"],"Resource":["*"]},`, 51), ",") + `]}`, "policy_statement", "at most 50"},
	{"too many actions", `{"policy_statement": [{"Effect": "Allow", "Action": [` + strings.TrimSuffix(strings.Repeat(`"a",`, 101), ",") + `], "Resource": ["*"]}]}`, "policy_statement[0].Action", "at most 100"},
	{"body over 64 KiB", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"], "Sid": "` + strings.Repeat("s", 70000) + `"}]}`, "doc", "64 KiB"},
}
