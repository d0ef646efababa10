package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/views"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Status convention for forms: a form re-rendered with errors at its fields
// answers 422 (htmx is configured to swap it); a conflict answers 409.

// editableEndpoint reads the endpoint live and refuses one whose policy
// cannot be edited, saying why.
func (s *Server) editableEndpoint(ctx context.Context, p *Project, id string) (*vpcep.Endpoint, error) {
	if len(id) > 64 {
		return nil, echo.NewHTTPError(http.StatusNotFound)
	}
	ep, err := p.Upstream.GetEndpoint(ctx, id)
	if err != nil {
		return nil, err
	}
	return ep, change.CheckEditable(ep)
}

// editorInput reads the live endpoint (refusing one that cannot be edited)
// and the editor form posted for it.
func (s *Server) editorInput(c echo.Context) (*vpcep.Endpoint, views.EditorForm, error) {
	ep, err := s.editableEndpoint(c.Request().Context(), scoped(c), c.Param("id"))
	if err != nil {
		return nil, views.EditorForm{}, err
	}
	form, err := readEditorForm(c)
	return ep, form, err
}

// editorOpInput reads the form posted to the editor. The script's syncs
// and buttons (answered with the editor fragment) only convert between the
// form and the JSON: they read nothing live, so an upstream hiccup cannot
// break syncing and a Tab costs no API call. The live endpoint is checked
// when the editor opens, on Preview and on Apply. A whole-page answer (no
// script; back from the preview) shows the endpoint's name, so it reads it.
func (s *Server) editorOpInput(c echo.Context) (*vpcep.Endpoint, views.EditorForm, error) {
	if !isFragment(c) {
		return s.editorInput(c)
	}
	form, err := readEditorForm(c)
	return &vpcep.Endpoint{ID: c.Param("id")}, form, err
}

// editPolicy serves the editor, loaded with the live policy.
func (s *Server) editPolicy(c echo.Context) error {
	ep, err := s.editableEndpoint(c.Request().Context(), scoped(c), c.Param("id"))
	if err != nil {
		return err
	}
	p := s.editorPage(c, ep)
	p.Notice = adoptNotice(c)
	return render(c, http.StatusOK, views.PolicyEditView(p))
}

// editorPage is the editor loaded with ep's live policy, after checking it
// for a change made outside the console: a drift is shown before the form,
// so the admin knows what they edit on top of.
func (s *Server) editorPage(c echo.Context, ep *vpcep.Endpoint) views.PolicyEditPage {
	live := policy.Policy(ep.PolicyStatement)
	form := formFromPolicy(live, views.EditorForm{
		Fingerprint:   policy.Fingerprint(live),
		BasePolicy:    policy.CanonicalJSON(live),
		SubmissionKey: newSubmissionKey(),
	})
	if len(form.Statements) == 0 {
		form.Statements = []views.StatementForm{{Effect: policy.Allow}}
	}
	p := views.PolicyEditPage{Base: s.base(c, "Edit policy"), Endpoint: ep, Form: form}
	p.Drift, p.DriftError = s.observeDriftPage(c, ep, drift.ByEditor, backEditor)
	return p
}

// editorOp applies an editor button (add, remove-N, up-N, down-N,
// use-form) or a sync after a change to either view, and re-renders the
// editor. "back" and "rebase" load a proposal carried from the preview or
// the conflict page. The editor's script posts here after each change and
// takes from the answer only the view the admin did not edit; without the
// script the buttons post the form and the page comes back whole.
func (s *Server) editorOp(c echo.Context) error {
	ep, form, err := s.editorOpInput(c)
	if err != nil {
		return err
	}
	p := views.PolicyEditPage{Base: s.base(c, "Edit policy"), Endpoint: ep}
	if form.SubmissionKey == "" {
		form.SubmissionKey = newSubmissionKey()
	}

	op := c.FormValue("op")
	sy := syncViews(form)
	if op == "use-form" {
		sy = syncFromForm(form)
	}
	form = sy.Form
	p.Notes, p.JSONInvalid, p.Errors = sy.Notes, sy.JSONInvalid, sy.Errors
	switch {
	case op == "" || op == "back" || op == "use-form":
	case op == "rebase":
		p.Notice = "Your change is loaded on top of the live policy. Check it, then preview and apply again."
	case sy.JSONInvalid:
		// The buttons act on the form, which does not show the JSON being
		// edited: acting now would throw that edit away.
		p.Notice = "Nothing was changed: the raw JSON has an error. Fix it, or choose \"Use the form instead\"."
	default:
		if err := applyEditorButton(&form, op); err != nil {
			return err
		}
		sy = syncFromForm(form)
		form, p.Errors = sy.Form, sy.Errors
	}
	p.Form = form
	// A plain form post with unreadable JSON is a form with an error (422).
	// The editor script's background sync is not: its answer is the state of
	// both views, and a 422 would be a failed request in the browser console
	// on every keystroke that leaves the JSON broken for a moment.
	status := http.StatusOK
	if p.JSONInvalid && !isFragment(c) {
		status = http.StatusUnprocessableEntity
	}
	return s.renderEditor(c, status, p)
}

// applyEditorButton applies add, remove-N, up-N or down-N to the form.
func applyEditorButton(form *views.EditorForm, op string) error {
	if op == "add" {
		form.Statements = append(form.Statements, views.StatementForm{Effect: policy.Allow})
		return nil
	}
	verb, n, _ := strings.Cut(op, "-")
	i, err := strconv.Atoi(n)
	if err != nil || i < 0 || i >= len(form.Statements) {
		return badRequest("Unknown editor action.")
	}
	st := form.Statements
	switch verb {
	case "remove":
		form.Statements = append(st[:i], st[i+1:]...)
	case "up":
		if i > 0 {
			st[i-1], st[i] = st[i], st[i-1]
		}
	case "down":
		if i < len(st)-1 {
			st[i+1], st[i] = st[i], st[i+1]
		}
	default:
		return badRequest("Unknown editor action.")
	}
	return nil
}

// renderEditor answers htmx (and the editor's script) with the editor
// fragment and others with the page.
func (s *Server) renderEditor(c echo.Context, status int, p views.PolicyEditPage) error {
	if isFragment(c) {
		return render(c, status, views.PolicyEditor(p))
	}
	return render(c, status, views.PolicyEditView(p))
}

// editorWithErrors re-renders the editor after a refused preview or apply.
func (s *Server) editorWithErrors(c echo.Context, ep *vpcep.Endpoint, sy synced, reason policy.FieldErrors) error {
	return render(c, http.StatusUnprocessableEntity, views.PolicyEditView(views.PolicyEditPage{
		Base: s.base(c, "Edit policy"), Endpoint: ep, Form: sy.Form, Errors: append(sy.Errors, reason...),
		Notes: sy.Notes, JSONInvalid: sy.JSONInvalid,
	}))
}

// previewPolicy validates the proposal and shows what it would change.
func (s *Server) previewPolicy(c echo.Context) error {
	ep, form, err := s.editorInput(c)
	if err != nil {
		return err
	}
	proposed, sy := chosenPolicy(form)
	reasonErrs := policy.ValidateReason(form.Reason)
	if len(sy.Errors) > 0 || len(reasonErrs) > 0 {
		return s.editorWithErrors(c, ep, sy, reasonErrs)
	}
	form = sy.Form
	if form.SubmissionKey == "" {
		form.SubmissionKey = newSubmissionKey()
	}
	p := s.previewPage(c, ep, form, proposed, nil)
	p.Notes = sy.Notes
	return render(c, http.StatusOK, views.PolicyPreviewView(p))
}

func (s *Server) previewPage(c echo.Context, ep *vpcep.Endpoint, form views.EditorForm, proposed policy.Policy, errs policy.FieldErrors) views.PolicyPreviewPage {
	live := policy.Policy(ep.PolicyStatement)
	p := views.PolicyPreviewPage{
		Base: s.base(c, "Preview"), Endpoint: ep, Form: form,
		ProposedJSON:    policy.Pretty(proposed),
		Diff:            policy.Compare(live, proposed, "the live policy"),
		Warnings:        policy.Lint(proposed),
		Errors:          errs,
		LiveFingerprint: policy.Fingerprint(live),
		LiveJSON:        policy.CanonicalJSON(live),
	}
	if form.Fingerprint != p.LiveFingerprint {
		origin := s.liveOrigin(c.Request().Context(), ep.ID, live)
		p.Stale = &origin
	}
	return p
}

// liveOriginDepth is how many of an endpoint's newest entries are read to
// find the change that made its live policy.
const liveOriginDepth = 20

// liveOrigin names the change that left the live policy: the endpoint's
// newest audit entry that changed it, when that entry left this policy.
// When it left another, or none did, the policy was changed outside the
// console. It only reads the log.
func (s *Server) liveOrigin(ctx context.Context, endpointID string, live policy.Policy) views.LiveOrigin {
	page, err := s.Audit.List(ctx, audit.Filter{EndpointID: endpointID}, "", liveOriginDepth)
	if err != nil {
		s.Logger.WarnContext(ctx, "editor: reading who changed the live policy", "endpoint", endpointID, "err", err)
		return views.LiveOrigin{}
	}
	want := policy.Fingerprint(live)
	for _, e := range page.Entries {
		left, ok := policyLeftBy(e)
		if e.EndpointID != endpointID || !ok {
			continue
		}
		if policy.Fingerprint(left) != want {
			break
		}
		at := e.StartedAt
		if e.FinishedAt != nil {
			at = *e.FinishedAt
		}
		return views.LiveOrigin{LookedUp: true, EntryID: e.ID, Actor: e.Actor, At: at}
	}
	return views.LiveOrigin{LookedUp: true}
}

// policyLeftBy returns the policy an entry left live, when it changed it:
// what was read back after it, else what a succeeded change requested.
// Failed and pending entries changed nothing (yet).
func policyLeftBy(e *audit.Entry) (policy.Policy, bool) {
	if e.Outcome != audit.OutcomeSucceeded && e.Outcome != audit.OutcomeUnknown {
		return nil, false
	}
	if len(e.ReadbackPolicy) > 0 {
		if p, err := policy.FromJSON(e.ReadbackPolicy); err == nil {
			return p, true
		}
	}
	if e.Outcome != audit.OutcomeSucceeded {
		return nil, false
	}
	p, err := policy.FromJSON(e.PolicyRequested)
	return p, err == nil
}

// ackMessage asks for the acknowledgement of lint warnings.
const ackMessage = "Tick the box to confirm you have read the warnings, or go back and change the policy."

// updatePolicy applies the previewed change.
func (s *Server) updatePolicy(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	form, err := readEditorForm(c)
	if err != nil {
		return err
	}
	form.JSONBase, form.Source = "", views.SourceJSON // the proposal travels in policy_json
	proposed, sy := chosenPolicy(form)
	if reasonErrs := policy.ValidateReason(form.Reason); len(sy.Errors) > 0 || len(reasonErrs) > 0 {
		ep, err := s.editableEndpoint(ctx, scoped(c), id)
		if err != nil {
			return err
		}
		return s.editorWithErrors(c, ep, sy, reasonErrs)
	}
	warnings := policy.Lint(proposed)
	if len(warnings) > 0 && c.FormValue("ack_warnings") != "yes" {
		ep, err := s.editableEndpoint(ctx, scoped(c), id)
		if err != nil {
			return err
		}
		return render(c, http.StatusUnprocessableEntity, views.PolicyPreviewView(
			s.previewPage(c, ep, form, proposed, policy.FieldErrors{{Field: "ack_warnings", Message: ackMessage}})))
	}
	res, err := scoped(c).Applier.Apply(ctx, change.Request{
		Actor: actor(c), EndpointID: id, Policy: proposed, Reason: strings.TrimSpace(form.Reason),
		Fingerprint: form.Fingerprint, SubmissionKey: scopedKey(c, "form", form.SubmissionKey), Action: audit.ActionUpdate,
		Acknowledged: warningCodes(warnings), // the preview's box was ticked for exactly these
	})
	if err != nil {
		return err
	}
	return s.pageChangeAnswer(c, res, form, proposed, nil)
}

func (s *Server) conflictPage(c echo.Context, res *change.Result, form views.EditorForm, yours policy.Policy, rollback *views.RollbackTarget) views.ConflictPage {
	theirs := policy.Policy(res.Endpoint.PolicyStatement)
	p := views.ConflictPage{
		Base: s.base(c, "Conflict"), EndpointID: res.Entry.EndpointID, EntryID: res.Entry.ID,
		TheirsToYours: policy.Compare(theirs, yours, "the live policy"), YoursJSON: policy.Pretty(yours), Reason: form.Reason,
		LiveFingerprint: policy.Fingerprint(theirs), LiveJSON: policy.CanonicalJSON(theirs), Rollback: rollback,
		Origin: s.liveOrigin(c.Request().Context(), res.Entry.EndpointID, theirs),
	}
	if base, err := policy.FromJSON([]byte(form.BasePolicy)); err == nil && policy.Fingerprint(base) == form.Fingerprint {
		p.BaseKnown = true
		p.BaseToTheirs, p.BaseToYours = policy.Compare(base, theirs, "the policy you started from"), policy.Compare(base, yours, "the policy you started from")
	}
	return p
}
