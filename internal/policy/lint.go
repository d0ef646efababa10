package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Warning is a lint finding: legal, but worth a second look. Warnings do not
// block a change; the browser asks the admin to acknowledge them.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Lint returns the warnings for p.
func Lint(p Policy) []Warning {
	var out []Warning
	add := func(code, format string, args ...any) {
		out = append(out, Warning{Code: code, Message: fmt.Sprintf(format, args...)})
	}
	seen := map[string]int{}
	for _, s := range Canonical(p) {
		key := string(mustJSON(s))
		seen[key]++
		if seen[key] == 2 {
			add("duplicate_statement", "Two statements are identical (%s %s on %s): one of them does nothing.", s.Effect, list(s.Action), list(s.Resource))
		}
	}
	for i, s := range p {
		n := i + 1
		wildAction := slices.ContainsFunc(s.Action, isWildAction)
		wildResource := slices.ContainsFunc(s.Resource, isWildResource)
		switch {
		case s.Effect == Allow && wildAction && wildResource && len(s.Condition) == 0:
			add("allows_everything", "Statement %d allows every action on every resource: the endpoint puts no limit on OBS traffic.", n)
		case s.Effect == Deny && wildAction && wildResource && len(s.Condition) == 0:
			add("denies_everything", "Statement %d denies every action on every resource: all traffic through this endpoint will be refused (lockout).", n)
		}
		texts := []struct{ what, text string }{{"Sid", s.Sid}}
		for _, a := range s.Action {
			texts = append(texts, struct{ what, text string }{"Action", a})
		}
		for _, r := range s.Resource {
			texts = append(texts, struct{ what, text string }{"Resource", r})
		}
		for _, t := range texts {
			if r, ok := invisibleIn(t.text); ok {
				add("invisible_characters", "Statement %d: %s %q contains the invisible character U+%04X (a bidirectional or zero-width control): it may read differently from what it is.", n, t.what, ShowInvisible(t.text), r)
			}
		}
		if r, ok := conditionInvisible(s.Condition); ok {
			add("invisible_characters", "Statement %d: Condition contains the invisible character U+%04X (a bidirectional or zero-width control): it may read differently from what it is.", n, r)
		}
		for _, r := range s.Resource {
			if !looksLikeResource(r) {
				add("unusual_resource", "Statement %d: resource %q does not look like an OBS or SFS resource (obs:region:account:bucket:NAME, obs:*:*:object:BUCKET/KEY, or *).", n, r)
			}
		}
	}
	for i, deny := range p {
		if deny.Effect != Deny || len(deny.Condition) > 0 {
			continue
		}
		for j, allow := range p {
			if allow.Effect == Allow && covers(deny.Action, allow.Action) && covers(deny.Resource, allow.Resource) {
				add("deny_shadows_allow", "Statement %d (Deny) covers everything statement %d (Allow) grants: the Allow has no effect.", i+1, j+1)
			}
		}
	}
	return out
}

func isWildAction(a string) bool {
	return a == "*" || a == "obs:*" || a == "obs:*:*" || a == "sfsturbo:*" || a == "sfsturbo:*:*"
}

func isWildResource(r string) bool {
	return r == "*" || r == "obs:*:*:*:*" || r == "obs:*:*:*:*/*" || r == "sfsturbo:*:*:*:*"
}

func looksLikeResource(r string) bool {
	if r == "*" {
		return true
	}
	parts := strings.Split(r, ":")
	return len(parts) >= 5 && (parts[0] == "obs" || parts[0] == "sfsturbo" || parts[0] == "sfs") && parts[4] != ""
}

// covers reports whether every entry of inner is matched by a pattern in
// outer. Patterns use * as a wildcard for any run of characters.
func covers(outer, inner []string) bool {
	for _, in := range inner {
		if !slices.ContainsFunc(outer, func(pat string) bool { return wildcardMatch(pat, in) }) {
			return false
		}
	}
	return len(inner) > 0
}

// wildcardMatch matches s against pattern, where * matches any run of characters.
func wildcardMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
