package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// StatementChange is one statement's part of a diff. Unchanged statements
// are listed too, so a preview can show the whole policy.
type StatementChange struct {
	Kind             string // unchanged | added | removed | changed
	Before, After    *vpcep.PolicyStatement
	ActionsAdded     []string
	ActionsRemoved   []string
	ResourcesAdded   []string
	ResourcesRemoved []string
	EffectChanged    bool
	ConditionChanged bool
}

// Change kinds of a StatementChange.
const (
	Unchanged = "unchanged"
	Added     = "added"
	Removed   = "removed"
	Changed   = "changed"
)

// Diff is what a change does to a policy.
type Diff struct {
	Statements []StatementChange
	Lines      []LineChange // canonical JSON, line by line
	Summary    []string     // what the change means, in words
}

// HasChanges reports whether the policies differ at all.
func (d Diff) HasChanges() bool {
	for _, s := range d.Statements {
		if s.Kind != Unchanged {
			return true
		}
	}
	return false
}

// Compare diffs before against after on their canonical forms, so entry
// order and whitespace never show as changes. Statements that are equal
// pair first; the rest pair by Sid, then by position.
func Compare(before, after Policy) Diff {
	b, a := Canonical(before), Canonical(after)
	usedB := make([]bool, len(b))
	pairOf := make([]int, len(a)) // index into b, or -1
	for i := range pairOf {
		pairOf[i] = -1
	}
	key := func(s vpcep.PolicyStatement) string { return string(mustJSON(s)) }
	for i := range a {
		for j := range b {
			if !usedB[j] && key(a[i]) == key(b[j]) {
				pairOf[i], usedB[j] = j, true
				break
			}
		}
	}
	for i := range a {
		if pairOf[i] >= 0 || a[i].Sid == "" {
			continue
		}
		for j := range b {
			if !usedB[j] && b[j].Sid == a[i].Sid {
				pairOf[i], usedB[j] = j, true
				break
			}
		}
	}
	for i := range a {
		if pairOf[i] >= 0 {
			continue
		}
		for j := range b {
			if !usedB[j] && b[j].Sid == "" && a[i].Sid == "" && b[j].Effect == a[i].Effect {
				pairOf[i], usedB[j] = j, true
				break
			}
		}
	}

	var d Diff
	for i := range a {
		after := a[i]
		if pairOf[i] < 0 {
			d.Statements = append(d.Statements, StatementChange{Kind: Added, After: &after})
			continue
		}
		before := b[pairOf[i]]
		if key(before) == key(after) {
			d.Statements = append(d.Statements, StatementChange{Kind: Unchanged, Before: &before, After: &after})
			continue
		}
		d.Statements = append(d.Statements, StatementChange{
			Kind: Changed, Before: &before, After: &after,
			ActionsAdded: minus(after.Action, before.Action), ActionsRemoved: minus(before.Action, after.Action),
			ResourcesAdded: minus(after.Resource, before.Resource), ResourcesRemoved: minus(before.Resource, after.Resource),
			EffectChanged:    before.Effect != after.Effect,
			ConditionChanged: string(before.Condition) != string(after.Condition),
		})
	}
	for j := range b {
		if !usedB[j] {
			before := b[j]
			d.Statements = append(d.Statements, StatementChange{Kind: Removed, Before: &before})
		}
	}
	d.Lines = LineDiff(Pretty(b), Pretty(a))
	d.Summary = describe(b, a, d.Statements)
	return d
}

func minus(a, b []string) []string {
	var out []string
	for _, v := range a {
		if !slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}

// describe says what the change means for traffic through the endpoint.
func describe(before, after Policy, changes []StatementChange) []string {
	var out []string
	for _, c := range changes {
		switch c.Kind {
		case Added:
			out = append(out, fmt.Sprintf("%s %s on %s%s", verb(c.After.Effect, false), list(c.After.Action), resources(c.After.Resource), conditionNote(c.After)))
		case Removed:
			out = append(out, fmt.Sprintf("%s %s on %s", verb(c.Before.Effect, true), list(c.Before.Action), resources(c.Before.Resource)))
		case Changed:
			name := "a statement"
			if c.After.Sid != "" {
				name = "statement " + c.After.Sid
			}
			if c.EffectChanged {
				out = append(out, fmt.Sprintf("%s turns from %s to %s: it now %s %s on %s", name, c.Before.Effect, c.After.Effect,
					strings.ToLower(verb(c.After.Effect, false))+"s", list(c.After.Action), resources(c.After.Resource)))
				continue
			}
			v := verb(c.After.Effect, false)
			if len(c.ActionsAdded) > 0 {
				out = append(out, fmt.Sprintf("%s %s on %s", v, list(c.ActionsAdded), resources(c.After.Resource)))
			}
			if len(c.ActionsRemoved) > 0 {
				out = append(out, fmt.Sprintf("%s %s on %s", verb(c.After.Effect, true), list(c.ActionsRemoved), resources(c.Before.Resource)))
			}
			if len(c.ResourcesAdded) > 0 {
				out = append(out, fmt.Sprintf("%s %s on %s as well", v, list(c.After.Action), resources(c.ResourcesAdded)))
			}
			if len(c.ResourcesRemoved) > 0 {
				out = append(out, fmt.Sprintf("%s %s on %s", verb(c.After.Effect, true), list(c.After.Action), resources(c.ResourcesRemoved)))
			}
			if c.ConditionChanged {
				out = append(out, fmt.Sprintf("changes the condition of %s", name))
			}
		}
	}
	hadAllow, hasAllow := hasEffect(before, Allow), hasEffect(after, Allow)
	if hadAllow && !hasAllow {
		out = append(out, "removes the only Allow: all OBS traffic through this endpoint will be denied")
	}
	return out
}

func verb(effect string, removed bool) string {
	switch {
	case effect == Allow && !removed:
		return "grants"
	case effect == Allow:
		return "no longer grants"
	case !removed:
		return "denies"
	default:
		return "no longer denies"
	}
}

func conditionNote(s *vpcep.PolicyStatement) string {
	if len(s.Condition) > 0 {
		return " when " + string(s.Condition)
	}
	return ""
}

func hasEffect(p Policy, effect string) bool {
	for _, s := range p {
		if s.Effect == effect {
			return true
		}
	}
	return false
}

func list(values []string) string { return strings.Join(values, ", ") }

// resources names OBS resources the way people say them:
// "obs:*:*:object:logs-prod/*" is "objects logs-prod/*".
func resources(values []string) string {
	out := make([]string, len(values))
	for i, r := range values {
		parts := strings.SplitN(r, ":", 5)
		switch {
		case len(parts) == 5 && parts[0] == "obs" && parts[3] == "bucket":
			out[i] = "bucket " + parts[4]
		case len(parts) == 5 && parts[0] == "obs" && parts[3] == "object":
			out[i] = "objects " + parts[4]
		case r == "*" || r == "obs:*:*:*:*" || r == "obs:*:*:*:*/*":
			out[i] = "every resource (" + r + ")"
		default:
			out[i] = r
		}
	}
	return strings.Join(out, ", ")
}
