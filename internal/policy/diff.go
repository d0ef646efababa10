package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// StatementChange is one statement's part of a diff. Unchanged statements
// are listed too, so a preview can show the whole policy. Before and After
// are the statements as written (entries in the admin's order).
type StatementChange struct {
	Kind             string // unchanged | added | removed | changed
	Number           int    // 1-based position in the after policy, as the editor and lint number it; 0 when removed
	BeforeNumber     int    // 1-based position in the before policy; 0 when added
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
	Statements []StatementChange // in the after policy's order, removed ones where they were
	Lines      []LineChange      // the JSON, line by line
	Summary    []string          // what the change means, in words: one line per meaning
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

// Compare diffs before against after. Statements are compared on their
// canonical forms, so entry order and whitespace never show as changes;
// they pair first when equal, then by Sid, then by Effect and position.
// Everything shown keeps after's order and numbers, which are the admin's:
// "statement 3" in the diff, the summary and a lint warning is the third
// statement in the editor. A removed statement is shown after the
// statement that followed its predecessor. beforeName names the before
// side in the summary ("the live policy", "the previous version"), as the
// page showing the diff calls it.
func Compare(before, after Policy, beforeName string) Diff {
	key := func(s vpcep.PolicyStatement) string { return string(mustJSON(Canonical(Policy{s})[0])) }
	bKeys, aKeys := make([]string, len(before)), make([]string, len(after))
	for j := range before {
		bKeys[j] = key(before[j])
	}
	for i := range after {
		aKeys[i] = key(after[i])
	}
	partnerOfB := make([]int, len(before)) // index into after, or -1
	pairOf := make([]int, len(after))      // index into before, or -1
	for j := range partnerOfB {
		partnerOfB[j] = -1
	}
	for i := range pairOf {
		pairOf[i] = -1
	}
	pairWhere := func(match func(i, j int) bool) {
		for i := range after {
			if pairOf[i] >= 0 {
				continue
			}
			for j := range before {
				if partnerOfB[j] < 0 && match(i, j) {
					pairOf[i], partnerOfB[j] = j, i
					break
				}
			}
		}
	}
	pairWhere(func(i, j int) bool { return aKeys[i] == bKeys[j] })
	pairWhere(func(i, j int) bool { return after[i].Sid != "" && after[i].Sid == before[j].Sid })
	pairWhere(func(i, j int) bool {
		return after[i].Sid == "" && before[j].Sid == "" && after[i].Effect == before[j].Effect
	})

	// Removed statements, by the after statement they are shown behind (-1: first).
	removedAfter := map[int][]int{}
	anchor := -1
	for j := range before {
		if partnerOfB[j] >= 0 {
			anchor = partnerOfB[j]
			continue
		}
		removedAfter[anchor] = append(removedAfter[anchor], j)
	}

	var d Diff
	var beforeShown, afterShown Policy // the two sides of the line diff, aligned
	addRemoved := func(anchor int) {
		for _, j := range removedAfter[anchor] {
			b := before[j]
			d.Statements = append(d.Statements, StatementChange{Kind: Removed, BeforeNumber: j + 1, Before: &b})
			beforeShown = append(beforeShown, b)
		}
	}
	addRemoved(-1)
	for i := range after {
		a := after[i]
		afterShown = append(afterShown, a)
		switch j := pairOf[i]; {
		case j < 0:
			d.Statements = append(d.Statements, StatementChange{Kind: Added, Number: i + 1, After: &a})
		case aKeys[i] == bKeys[j]:
			b := before[j]
			d.Statements = append(d.Statements, StatementChange{Kind: Unchanged, Number: i + 1, BeforeNumber: j + 1, Before: &b, After: &a})
			beforeShown = append(beforeShown, a) // the same, up to order: shown as written now
		default:
			b := before[j]
			d.Statements = append(d.Statements, changedStatement(i, j, b, a))
			beforeShown = append(beforeShown, alignedTo(b, a))
		}
		addRemoved(i)
	}
	d.Lines = LineDiff(Pretty(beforeShown), Pretty(afterShown))
	d.Summary = describe(before, after, d.Statements, beforeName)
	return d
}

func changedStatement(i, j int, b, a vpcep.PolicyStatement) StatementChange {
	return StatementChange{
		Kind: Changed, Number: i + 1, BeforeNumber: j + 1, Before: &b, After: &a,
		ActionsAdded: minus(a.Action, b.Action), ActionsRemoved: minus(b.Action, a.Action),
		ResourcesAdded: minus(a.Resource, b.Resource), ResourcesRemoved: minus(b.Resource, a.Resource),
		EffectChanged:    b.Effect != a.Effect,
		ConditionChanged: string(canonicalCondition(b.Condition)) != string(canonicalCondition(a.Condition)),
	}
}

func canonicalCondition(c json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(c)) == 0 || string(bytes.TrimSpace(c)) == "null" {
		return nil
	}
	return canonicalJSON(c)
}

// alignedTo returns b with its entries in a's order (those a lacks after
// them), so the line diff shows what changed, not how entries were ordered.
func alignedTo(b, a vpcep.PolicyStatement) vpcep.PolicyStatement {
	order := func(was, now []string) []string {
		out := make([]string, 0, len(was))
		for _, v := range now {
			if slices.Contains(was, v) && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		for _, v := range was {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	b.Action, b.Resource = order(b.Action, a.Action), order(b.Resource, a.Resource)
	if string(canonicalCondition(b.Condition)) == string(canonicalCondition(a.Condition)) {
		b.Condition = a.Condition
	}
	return b
}

func minus(a, b []string) []string {
	var out []string
	for _, v := range a {
		if !slices.Contains(b, v) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func intersect(a, b []string) []string {
	var out []string
	for _, v := range a {
		if slices.Contains(b, v) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// describe says what the change means for traffic through the endpoint,
// one line per meaning: a changed statement says once what it now also
// grants (or denies) and once what it no longer does, however many of its
// entries changed.
func describe(before, after Policy, changes []StatementChange, beforeName string) []string {
	var out []string
	for _, c := range changes {
		switch c.Kind {
		case Added:
			out = append(out, fmt.Sprintf("%s (new) %s %s on %s%s", statementName(c.Number, c.After.Sid), verb(c.After.Effect, false), list(c.After.Action), resources(c.After.Resource), conditionNote(c.After)))
		case Removed:
			out = append(out, fmt.Sprintf("%s of %s is removed: it %s %s on %s", statementName(c.BeforeNumber, c.Before.Sid), beforeName, verb(c.Before.Effect, true), list(c.Before.Action), resources(c.Before.Resource)))
		case Changed:
			out = append(out, describeChanged(c)...)
		}
	}
	hadAllow, hasAllow := hasEffect(before, Allow), hasEffect(after, Allow)
	if hadAllow && !hasAllow {
		out = append(out, "removes the only Allow: all OBS traffic through this endpoint will be denied")
	}
	return out
}

func describeChanged(c StatementChange) []string {
	name := statementName(c.Number, c.After.Sid)
	b, a := c.Before, c.After
	if c.EffectChanged {
		return []string{fmt.Sprintf("%s turns from %s to %s: it now %s %s on %s", name, b.Effect, a.Effect,
			verb(a.Effect, false), list(a.Action), resources(a.Resource))}
	}
	var out []string
	// What the statement covers is Action × Resource; what it gains and
	// loses is each the union of two disjoint rectangles.
	common := intersect(a.Action, b.Action)
	if gained := rectangles(minus(a.Action, b.Action), a.Resource, common, minus(a.Resource, b.Resource), "and"); gained != "" {
		out = append(out, fmt.Sprintf("%s now also %s %s", name, verb(a.Effect, false), gained))
	}
	if lost := rectangles(minus(b.Action, a.Action), b.Resource, common, minus(b.Resource, a.Resource), "nor"); lost != "" {
		out = append(out, fmt.Sprintf("%s %s %s", name, verb(a.Effect, true), lost))
	}
	if c.ConditionChanged {
		switch {
		case len(canonicalCondition(a.Condition)) == 0:
			out = append(out, fmt.Sprintf("%s loses its condition: it applies always", name))
		default:
			out = append(out, fmt.Sprintf("%s applies only when %s", name, canonicalCondition(a.Condition)))
		}
	}
	return out
}

// rectangles says "A1 on R1; <join> A2 on R2", leaving out an empty part.
func rectangles(actions1, resources1, actions2, resources2 []string, join string) string {
	var parts []string
	if len(actions1) > 0 && len(resources1) > 0 {
		parts = append(parts, fmt.Sprintf("%s on %s", list(actions1), resources(resources1)))
	}
	if len(actions2) > 0 && len(resources2) > 0 {
		parts = append(parts, fmt.Sprintf("%s on %s", list(actions2), resources(resources2)))
	}
	if len(parts) == 2 {
		return parts[0] + "; " + join + " " + parts[1]
	}
	return strings.Join(parts, "")
}

// statementName is how the summary names statement n: "Statement 2 (Sid)".
func statementName(n int, sid string) string {
	if sid != "" {
		return fmt.Sprintf("Statement %d (%s)", n, ShowInvisible(sid))
	}
	return fmt.Sprintf("Statement %d", n)
}

func verb(effect string, removed bool) string {
	switch {
	case effect == Allow && !removed:
		return "grants"
	case effect == Allow:
		return "no longer grants"
	case effect == Deny && !removed:
		return "denies"
	case effect == Deny:
		return "no longer denies"
	case !removed:
		return "applies " + effect + " to"
	default:
		return "no longer applies " + effect + " to"
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
