package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
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
// they pair first when equal, then by Sid, then by what they share (see
// pairByOverlap), then Sid-less ones by Effect and position.
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
	pairByOverlap(before, after, pairOf, partnerOfB)
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

// pairByOverlap pairs the statements left by what they cover in common
// (Action × Resource), largest first: an edited statement stays one
// statement whatever else moved around it. A statement of the same Effect
// whose Sids do not disagree pairs on any overlap; one whose Sid or Effect
// changed pairs only when most of both sides' grants are shared.
func pairByOverlap(before, after Policy, pairOf, partnerOfB []int) {
	type candidate struct{ i, j, shared int }
	var cands []candidate
	for i, a := range after {
		if pairOf[i] >= 0 {
			continue
		}
		for j, b := range before {
			if partnerOfB[j] >= 0 {
				continue
			}
			shared := len(intersect(a.Action, b.Action)) * len(intersect(a.Resource, b.Resource))
			if shared == 0 {
				continue
			}
			sameKind := a.Effect == b.Effect && (a.Sid == "" || b.Sid == "" || a.Sid == b.Sid)
			mostly := 2*shared > cellCount(a) && 2*shared > cellCount(b)
			if sameKind || mostly {
				cands = append(cands, candidate{i, j, shared})
			}
		}
	}
	// Same Effect first, then the largest overlap, then the nearest position.
	sort.SliceStable(cands, func(x, y int) bool {
		cx, cy := cands[x], cands[y]
		ex, ey := after[cx.i].Effect == before[cx.j].Effect, after[cy.i].Effect == before[cy.j].Effect
		if ex != ey {
			return ex
		}
		if cx.shared != cy.shared {
			return cx.shared > cy.shared
		}
		return abs(cx.i-cx.j) < abs(cy.i-cy.j)
	})
	for _, c := range cands {
		if pairOf[c.i] < 0 && partnerOfB[c.j] < 0 {
			pairOf[c.i], partnerOfB[c.j] = c.j, c.i
		}
	}
}

func cellCount(s vpcep.PolicyStatement) int {
	return len(sortedSet(s.Action)) * len(sortedSet(s.Resource))
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
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
// one line per meaning. Gains and losses are weighed against the whole
// other policy: a grant another statement still gives is not lost, and
// one the policy before already gave is not new. beforeName is how the
// page calls the before side.
func describe(before, after Policy, changes []StatementChange, beforeName string) []string {
	had, has := newCoverage(before), newCoverage(after)
	var out []string
	for _, c := range changes {
		switch c.Kind {
		case Added:
			out = append(out, describeAdded(c, had, beforeName))
		case Removed:
			out = append(out, describeRemoved(c, has, beforeName))
		case Changed:
			out = append(out, describeChanged(c, had, has)...)
		}
	}
	hadAllow, hasAllow := hasEffect(before, Allow), hasEffect(after, Allow)
	if hadAllow && !hasAllow {
		out = append(out, "removes the only Allow: all OBS traffic through this endpoint will be denied")
	}
	return out
}

func describeAdded(c StatementChange, had *coverage, beforeName string) string {
	a := c.After
	name := statementName(c.Number, a.Sid) + " (new)"
	gained := grouped(a.Action, a.Action, a.Resource, func(act, res string) bool { return !had.covers(*a, act, res) }, "and")
	if gained == "" {
		return fmt.Sprintf("%s %s nothing %s did not already %s", name, verb(a.Effect, false), beforeName, verbBase(a.Effect))
	}
	return fmt.Sprintf("%s %s %s%s", name, verb(a.Effect, false), gained, conditionNote(a))
}

func describeRemoved(c StatementChange, has *coverage, beforeName string) string {
	b := c.Before
	name := statementName(c.BeforeNumber, b.Sid)
	lost := grouped(b.Action, b.Action, b.Resource, func(act, res string) bool { return !has.covers(*b, act, res) }, "nor")
	if lost == "" {
		return fmt.Sprintf("%s of %s is removed: other statements still %s all it did", name, beforeName, verbBase(b.Effect))
	}
	return fmt.Sprintf("%s of %s is removed: it %s %s", name, beforeName, verb(b.Effect, true), lost)
}

// describeChanged says at most once what an edited statement newly grants
// (or denies) and once what no statement does any more, with its Sid and
// Effect changes in one line.
func describeChanged(c StatementChange, had, has *coverage) []string {
	name := statementName(c.Number, c.After.Sid)
	b, a := c.Before, c.After
	inB := func(act, res string) bool { return slices.Contains(b.Action, act) && slices.Contains(b.Resource, res) }
	inA := func(act, res string) bool { return slices.Contains(a.Action, act) && slices.Contains(a.Resource, res) }
	gained := grouped(append(minus(a.Action, b.Action), a.Action...), a.Action, a.Resource, func(act, res string) bool {
		return !(inB(act, res) && !c.EffectChanged) && !had.covers(*a, act, res)
	}, "and")
	// What the statement now applies its new Effect to is not "no longer
	// granted" as well: the first line says it.
	lost := grouped(append(minus(b.Action, a.Action), b.Action...), b.Action, b.Resource, func(act, res string) bool {
		return !inA(act, res) && !has.covers(*b, act, res)
	}, "nor")

	var out []string
	var renamed []string
	switch {
	case b.Sid == a.Sid:
	case b.Sid == "":
		renamed = append(renamed, "gets the Sid "+ShowInvisible(a.Sid))
	case a.Sid == "":
		renamed = append(renamed, "loses the Sid "+ShowInvisible(b.Sid))
	default:
		renamed = append(renamed, "is renamed from "+ShowInvisible(b.Sid))
	}
	if c.EffectChanged {
		line := fmt.Sprintf("%s %s", name, strings.Join(append(renamed, fmt.Sprintf("turns from %s to %s", b.Effect, a.Effect)), " and "))
		if gained != "" {
			line += fmt.Sprintf(": it now %s %s", verb(a.Effect, false), gained)
		}
		out = append(out, line)
	} else {
		if len(renamed) > 0 {
			out = append(out, name+" "+renamed[0])
		}
		if gained != "" {
			out = append(out, fmt.Sprintf("%s now also %s %s", name, verb(a.Effect, false), gained))
		}
	}
	if lost != "" {
		out = append(out, fmt.Sprintf("%s %s %s", name, verb(b.Effect, true), lost))
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

// grouped says which cells of Action × Resource pass keep, as
// "A1, A2 on R1, R2; <join> A3 on R1": actions with the same resources
// share a part. Parts come in the order their first action has in order
// (the actions new to the statement first); within a part, actions keep
// the statement's order.
func grouped(order, actions, resourceList []string, keep func(action, resource string) bool, join string) string {
	type part struct{ actions, resources []string }
	var parts []*part
	byResources := map[string]*part{}
	var seen []string
	for _, act := range order {
		if slices.Contains(seen, act) {
			continue
		}
		seen = append(seen, act)
		var res []string
		for _, r := range resourceList {
			if keep(act, r) && !slices.Contains(res, r) {
				res = append(res, r)
			}
		}
		if len(res) == 0 {
			continue
		}
		key := strings.Join(res, "\x00")
		if p, ok := byResources[key]; ok {
			p.actions = append(p.actions, act)
			continue
		}
		p := &part{actions: []string{act}, resources: res}
		byResources[key] = p
		parts = append(parts, p)
	}
	texts := make([]string, len(parts))
	for i, p := range parts {
		slices.SortStableFunc(p.actions, func(x, y string) int { return slices.Index(actions, x) - slices.Index(actions, y) })
		texts[i] = fmt.Sprintf("%s on %s", list(p.actions), resources(p.resources))
	}
	return strings.Join(texts, "; "+join+" ")
}

// coverage answers whether a policy still gives an action on a resource
// with a statement's Effect: some statement of the same Effect, with no
// condition or the same one, whose Action and Resource patterns (with *
// and ?) match both. Matches are remembered per value, and a resource is
// matched only against the statements whose actions matched, as a policy
// may hold 50 statements of 100 × 100 entries.
type coverage struct {
	p                        Policy
	conditions               []string // each statement's canonical condition, "" for none
	actionSets, resourceSets []patternSet
	actions                  map[string][]bool // which statements' Action match a value
	resources                map[string][]int8 // which statements' Resource match a value: 0 not known yet, 1 yes, 2 no
}

func newCoverage(p Policy) *coverage {
	c := &coverage{p: p, actions: map[string][]bool{}, resources: map[string][]int8{}}
	for _, t := range p {
		c.conditions = append(c.conditions, string(canonicalCondition(t.Condition)))
		c.actionSets = append(c.actionSets, newPatternSet(t.Action))
		c.resourceSets = append(c.resourceSets, newPatternSet(t.Resource))
	}
	return c
}

func (c *coverage) covers(s vpcep.PolicyStatement, action, resource string) bool {
	byAction, ok := c.actions[action]
	if !ok {
		byAction = make([]bool, len(c.p))
		for k := range c.p {
			byAction[k] = c.actionSets[k].matches(action)
		}
		c.actions[action] = byAction
	}
	byResource, ok := c.resources[resource]
	if !ok {
		byResource = make([]int8, len(c.p))
		c.resources[resource] = byResource
	}
	cond := string(canonicalCondition(s.Condition))
	for k, t := range c.p {
		if !byAction[k] || t.Effect != s.Effect || (c.conditions[k] != "" && c.conditions[k] != cond) {
			continue
		}
		if byResource[k] == 0 {
			byResource[k] = 2
			if c.resourceSets[k].matches(resource) {
				byResource[k] = 1
			}
		}
		if byResource[k] == 1 {
			return true
		}
	}
	return false
}

// patternSet is a statement's Action or Resource list made quick to ask:
// entries without * or ? are looked up, the others globbed only when the
// value holds their longest literal run (most pairs of a large policy fail
// that test).
type patternSet struct {
	exact map[string]bool
	wild  []wildPattern
}

type wildPattern struct{ pattern, longestLiteral string }

func newPatternSet(patterns []string) patternSet {
	set := patternSet{exact: map[string]bool{}}
	for _, p := range patterns {
		if strings.ContainsAny(p, "*?") {
			set.wild = append(set.wild, wildPattern{p, longestLiteral(p)})
		} else {
			set.exact[p] = true
		}
	}
	return set
}

func (s patternSet) matches(value string) bool {
	if s.exact[value] {
		return true
	}
	for _, w := range s.wild {
		if strings.Contains(value, w.longestLiteral) && globMatch(w.pattern, value) {
			return true
		}
	}
	return false
}

// globMatch reports whether value matches pattern, where * stands for any
// run of characters and ? for one, as in IAM actions and OBS resources. A
// pattern matches itself, so "obs:object:*" covers "obs:object:*".
func globMatch(pattern, value string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == value
	}
	p, v := 0, 0
	star, mark := -1, 0
	for v < len(value) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == value[v]):
			p, v = p+1, v+1
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, v
			p++
		case star >= 0:
			mark++
			p, v = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
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

// longestLiteral is pattern's longest run without * or ?, which any value
// it matches contains.
func longestLiteral(pattern string) string {
	var longest string
	for _, run := range strings.FieldsFunc(pattern, func(r rune) bool { return r == '*' || r == '?' }) {
		if len(run) > len(longest) {
			longest = run
		}
	}
	return longest
}

// verbBase is verb's plain form: "nothing it did not already grant".
func verbBase(effect string) string {
	switch effect {
	case Allow:
		return "grant"
	case Deny:
		return "deny"
	}
	return "apply " + effect + " to"
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
