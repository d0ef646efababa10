package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/views"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Status convention for forms: a form re-rendered with errors at its fields
// answers 422 (htmx is configured to swap it); a conflict answers 409.

// editableEndpoint reads the endpoint live and refuses one whose policy
// cannot be edited, saying why.
func (s *Server) editableEndpoint(ctx context.Context, id string) (*vpcep.Endpoint, error) {
	if len(id) > 64 {
		return nil, echo.NewHTTPError(http.StatusNotFound)
	}
	ep, err := s.Upstream.GetEndpoint(ctx, id)
	if err != nil {
		return nil, err
	}
	return ep, change.CheckEditable(ep)
}

// editorInput reads the live endpoint (refusing one that cannot be edited)
// and the editor form posted for it.
func (s *Server) editorInput(c echo.Context) (*vpcep.Endpoint, views.EditorForm, error) {
	ep, err := s.editableEndpoint(c.Request().Context(), c.Param("id"))
	if err != nil {
		return nil, views.EditorForm{}, err
	}
	form, err := readEditorForm(c)
	return ep, form, err
}

// editPolicy serves the editor, loaded with the live policy.
func (s *Server) editPolicy(c echo.Context) error {
	ep, err := s.editableEndpoint(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	live := policy.Policy(ep.PolicyStatement)
	form := formFromPolicy(live, views.EditorForm{
		Fingerprint:   policy.Fingerprint(live),
		BasePolicy:    policy.CanonicalJSON(live),
		SubmissionKey: newSubmissionKey(),
	})
	if len(form.Statements) == 0 {
		form.Statements = []views.StatementForm{{Effect: policy.Allow}}
	}
	return render(c, http.StatusOK, views.PolicyEditView(views.PolicyEditPage{
		Base: s.base(c, "Edit policy"), Endpoint: ep, Form: form,
	}))
}

// editorOp applies an editor button (add, remove-N, up-N, down-N) or a sync
// after a change to either view, and re-renders the editor. "back" and
// "rebase" load a proposal carried from the preview or the conflict page.
func (s *Server) editorOp(c echo.Context) error {
	ep, form, err := s.editorInput(c)
	if err != nil {
		return err
	}
	p := views.PolicyEditPage{Base: s.base(c, "Edit policy"), Endpoint: ep}
	if form.SubmissionKey == "" {
		form.SubmissionKey = newSubmissionKey()
	}

	// Bring both views to the one the admin last edited.
	if jsonEdited(form) {
		parsed, errs := policy.ParseDocument([]byte(form.RawJSON), "policy_json")
		if len(errs) > 0 {
			// Keep both views as typed and say what is wrong with the JSON.
			p.Form, p.Errors = form, atRawView(errs)
			return s.renderEditor(c, http.StatusUnprocessableEntity, p)
		}
		form = formFromPolicy(parsed, form)
	} else {
		structured, _ := structuredPolicy(form)
		form.RawJSON = policy.Pretty(structured)
		form.JSONBase = form.RawJSON
	}

	op := c.FormValue("op")
	switch {
	case op == "" || op == "back":
	case op == "rebase":
		p.Notice = "Your change is loaded on top of the live policy. Check it, then preview and apply again."
	case op == "add":
		form.Statements = append(form.Statements, views.StatementForm{Effect: policy.Allow})
	default:
		verb, n, _ := strings.Cut(op, "-")
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || i >= len(form.Statements) {
			return badRequest("Unknown editor action.")
		}
		switch verb {
		case "remove":
			form.Statements = append(form.Statements[:i], form.Statements[i+1:]...)
		case "up":
			if i > 0 {
				form.Statements[i-1], form.Statements[i] = form.Statements[i], form.Statements[i-1]
			}
		case "down":
			if i < len(form.Statements)-1 {
				form.Statements[i+1], form.Statements[i] = form.Statements[i], form.Statements[i+1]
			}
		default:
			return badRequest("Unknown editor action.")
		}
	}
	if op != "" && op != "back" && op != "rebase" {
		structured, _ := structuredPolicy(form)
		form.RawJSON = policy.Pretty(structured)
		form.JSONBase = form.RawJSON
	}
	p.Form = form
	return s.renderEditor(c, http.StatusOK, p)
}

// renderEditor answers htmx with the editor fragment and others with the page.
func (s *Server) renderEditor(c echo.Context, status int, p views.PolicyEditPage) error {
	if isFragment(c) {
		return render(c, status, views.PolicyEditor(p))
	}
	return render(c, status, views.PolicyEditView(p))
}

// previewPolicy validates the proposal and shows what it would change.
func (s *Server) previewPolicy(c echo.Context) error {
	ep, form, err := s.editorInput(c)
	if err != nil {
		return err
	}
	proposed, errs := chosenPolicy(form)
	errs = append(errs, policy.ValidateReason(form.Reason)...)
	if len(errs) > 0 {
		return render(c, http.StatusUnprocessableEntity, views.PolicyEditView(views.PolicyEditPage{
			Base: s.base(c, "Edit policy"), Endpoint: ep, Form: form, Errors: errs,
		}))
	}
	if form.SubmissionKey == "" {
		form.SubmissionKey = newSubmissionKey()
	}
	return render(c, http.StatusOK, views.PolicyPreviewView(s.previewPage(c, ep, form, proposed, nil)))
}

func (s *Server) previewPage(c echo.Context, ep *vpcep.Endpoint, form views.EditorForm, proposed policy.Policy, errs policy.FieldErrors) views.PolicyPreviewPage {
	return views.PolicyPreviewPage{
		Base: s.base(c, "Preview"), Endpoint: ep, Form: form,
		ProposedJSON: policy.Pretty(proposed),
		Diff:         policy.Compare(ep.PolicyStatement, proposed),
		Warnings:     policy.Lint(proposed),
		Errors:       errs,
	}
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
	form.JSONBase = "" // the proposal travels in policy_json
	proposed, errs := chosenPolicy(form)
	errs = append(errs, policy.ValidateReason(form.Reason)...)
	if len(errs) > 0 {
		ep, err := s.editableEndpoint(ctx, id)
		if err != nil {
			return err
		}
		return render(c, http.StatusUnprocessableEntity, views.PolicyEditView(views.PolicyEditPage{
			Base: s.base(c, "Edit policy"), Endpoint: ep, Form: form, Errors: errs,
		}))
	}
	if len(policy.Lint(proposed)) > 0 && c.FormValue("ack_warnings") != "yes" {
		ep, err := s.editableEndpoint(ctx, id)
		if err != nil {
			return err
		}
		return render(c, http.StatusUnprocessableEntity, views.PolicyPreviewView(
			s.previewPage(c, ep, form, proposed, policy.FieldErrors{{Field: "ack_warnings", Message: ackMessage}})))
	}
	res, err := s.Applier.Apply(ctx, change.Request{
		Actor: actor(c), EndpointID: id, Policy: proposed, Reason: strings.TrimSpace(form.Reason),
		Fingerprint: form.Fingerprint, SubmissionKey: scopedKey(c, "form", form.SubmissionKey), Action: audit.ActionUpdate,
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
		TheirsToYours: policy.Compare(theirs, yours), YoursJSON: policy.Pretty(yours), Reason: form.Reason,
		LiveFingerprint: policy.Fingerprint(theirs), LiveJSON: policy.CanonicalJSON(theirs), Rollback: rollback,
	}
	if base, err := policy.FromJSON([]byte(form.BasePolicy)); err == nil && policy.Fingerprint(base) == form.Fingerprint {
		p.BaseKnown = true
		p.BaseToTheirs, p.BaseToYours = policy.Compare(base, theirs), policy.Compare(base, yours)
	}
	return p
}
