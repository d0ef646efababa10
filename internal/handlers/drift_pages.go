package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/views"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Pages of changes made outside the console (drift): the list's badges,
// the banner on the endpoint page and in the editor, and Adopt. Revert is
// the rollback of the drift entry with restores=known (audit.go).

// Where Adopt returns to: the page its form was on.
const (
	backEndpoint = "endpoint"
	backEditor   = "editor"
)

// driftMarks are the list's drift badges for the endpoints of one page:
// the drift map (Store.Drifts, once per page) and, when the page has a
// drifted row, when each was seen (Store.DriftSeen: from the read model).
func (s *Server) driftMarks(ctx context.Context, st *store.Store, eps []vpcep.Endpoint) (map[string]views.DriftMark, error) {
	drifts, err := st.Drifts(ctx)
	if err != nil || len(drifts) == 0 {
		return nil, err
	}
	marks := map[string]views.DriftMark{}
	for _, ep := range eps {
		if id, ok := drifts[ep.ID]; ok {
			marks[ep.ID] = views.DriftMark{EntryID: id}
		}
	}
	if len(marks) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(marks))
	for _, m := range marks {
		ids = append(ids, m.EntryID)
	}
	seen, err := st.DriftSeen(ctx, ids)
	if err != nil {
		// The badges still say which rows drifted; only the times are missing.
		s.Logger.WarnContext(ctx, "endpoint list: reading when drifts were seen", "err", err)
		return marks, nil
	}
	for id, m := range marks {
		m.SeenAt = seen[m.EntryID]
		marks[id] = m
	}
	return marks, nil
}

// observeDriftPage compares the endpoint just read live with the version the
// console knows (recording a drift or baseline when needed) and returns the
// banner to show, or why the check failed. A failure never keeps the page
// from being shown: it is logged and said on the page.
func (s *Server) observeDriftPage(c echo.Context, ep *vpcep.Endpoint, how, back string) (*views.DriftBanner, string) {
	d := scoped(c).Drift
	if d == nil {
		return nil, ""
	}
	ctx := c.Request().Context()
	st, err := d.Observe(ctx, ep, how)
	if err != nil {
		s.Logger.ErrorContext(ctx, "drift check", "endpoint", ep.ID, "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err)
		return nil, driftCheckWords(c, err)
	}
	return s.bannerFor(ep, st, back), ""
}

// driftCheckWords says in plain words why a drift check failed, never the
// internal error itself (it is logged with the request id).
func driftCheckWords(c echo.Context, err error) string {
	switch {
	case store.Unavailable(err):
		return "the console's database could not be reached."
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "it took too long."
	}
	return "the console hit an internal error, logged with request id " + c.Response().Header().Get(echo.HeaderXRequestID) + "."
}

// bannerFor is the banner of st's open drift on ep, nil when not drifted.
func (s *Server) bannerFor(ep *vpcep.Endpoint, st *drift.Status, back string) *views.DriftBanner {
	if st == nil || !st.Drifted || st.Drift == nil {
		return nil
	}
	b := &views.DriftBanner{
		EndpointID: ep.ID, Drift: st.Drift, KnownEntryID: st.KnownEntryID,
		Attribution: st.Attribution, AttributionState: st.AttributionState, LastError: st.LastError, Back: back,
	}
	known := st.Known
	if len(known) == 0 {
		known = st.Drift.PolicyBefore
	}
	if kp, err := policy.FromJSON(known); err == nil {
		b.DiffKnown, b.Diff = true, policy.Compare(kp, policy.Policy(ep.PolicyStatement), "the known version")
	}
	return b
}

// adoptNotice is the endpoint page's notice after an adopt (?adopted=N).
func adoptNotice(c echo.Context) string {
	v := c.QueryParam("adopted")
	id, err := strconv.ParseInt(v, 10, 64)
	if v == "" || err != nil || id <= 0 {
		return ""
	}
	return fmt.Sprintf("Adopted: the policy changed outside the console is now the version the console knows (audit entry #%d).", id)
}

// adoptDrift adopts an open drift from its banner (POST /audit/{id}/adopt):
// the drifted version becomes the known one, in an adopt entry. On success
// it redirects back to the page the form was on (POST-redirect-GET) with a
// notice; a missing reason is shown at the field, keeping what was typed
// (422); a drift no longer open, or a live policy that moved again, is said
// in plain words on the page (409).
func (s *Server) adoptDrift(c echo.Context) error {
	de, err := s.getEntry(c)
	if err != nil {
		return err
	}
	p, err := s.entryProject(c, de, editor)
	if err != nil {
		return err
	}
	if de.Action != audit.ActionDrift || p.Drift == nil {
		return badRequest(fmt.Sprintf("Entry #%d is not a change made outside the console: only those can be adopted.", de.ID))
	}
	back := c.FormValue("back")
	if back != backEditor {
		back = backEndpoint
	}
	reason := c.FormValue("reason")
	ctx := c.Request().Context()
	adopted, err := p.Drift.Adopt(ctx, actor(c), de.ID, strings.TrimSpace(reason))
	var (
		invalid *drift.InvalidError
		moved   *drift.MovedError
		notOpen *drift.NotOpenError
	)
	switch {
	case err == nil:
		return c.Redirect(http.StatusSeeOther, s.prefixOf(p)+backPath(back, de.EndpointID)+"?adopted="+strconv.FormatInt(adopted.ID, 10))
	case errors.As(err, &invalid):
		return s.driftPage(c, http.StatusUnprocessableEntity, de.EndpointID, back, reason,
			policy.FieldErrors{{Field: invalid.Field, Message: invalid.Message}}, "")
	case errors.As(err, &moved):
		msg := "Nothing was adopted: the live policy changed again since the version you looked at."
		if moved.Drift != nil {
			msg += fmt.Sprintf(" The new change was recorded as entry #%d; it is shown below. Look at it, then adopt or revert it.", moved.Drift.ID)
		}
		return s.driftPage(c, http.StatusConflict, de.EndpointID, back, reason, nil, msg)
	case errors.As(err, &notOpen):
		return s.driftPage(c, http.StatusConflict, de.EndpointID, back, reason, nil,
			fmt.Sprintf("Nothing was adopted: the change #%d is no longer open. Someone adopted or reverted it, or a later change replaced it. The page below shows the endpoint as it is now.", de.ID))
	case errors.Is(err, drift.ErrBusy):
		return s.driftPage(c, http.StatusConflict, de.EndpointID, back, reason, nil,
			"Nothing was adopted: a change to this endpoint is in progress right now. Wait a moment and adopt again.")
	}
	return err // ErrNotDrift cannot come: the entry was checked to be a drift above
}

// backPath is the page Adopt returns to.
func backPath(back, endpointID string) string {
	if back == backEditor {
		return "/endpoints/" + endpointID + "/policy/edit"
	}
	return "/endpoints/" + endpointID
}

// driftPage shows the page Adopt was posted from again, read live, with
// the banner keeping the reason typed and its error, and notice on top.
func (s *Server) driftPage(c echo.Context, status int, endpointID, back, reason string, errs policy.FieldErrors, notice string) error {
	if back == backEditor {
		ep, err := s.editableEndpoint(c.Request().Context(), scoped(c), endpointID)
		if err != nil {
			return err
		}
		p := s.editorPage(c, ep)
		p.Notice = notice
		if p.Drift != nil {
			p.Drift.Reason, p.Drift.Errors = reason, errs
		}
		return render(c, status, views.PolicyEditView(p))
	}
	p, err := s.endpointPage(c, endpointID)
	if err != nil {
		return err
	}
	p.Notice = notice
	if p.Drift != nil {
		p.Drift.Reason, p.Drift.Errors = reason, errs
	}
	return render(c, status, views.EndpointView(p))
}

// planRevert plans the revert of an open drift (restores=known): a
// rollback to the version the console knew. A drift that is no longer open
// or an entry that is no drift cannot be reverted, said in plain words.
func (s *Server) planRevert(ctx context.Context, p *Project, e *audit.Entry) (*change.Rollback, error) {
	if p.Drift == nil || e.Action != audit.ActionDrift {
		return nil, &change.NotRestorableError{Reason: fmt.Sprintf("Only an open change made outside the console can be reverted to the known version; entry #%d is a %s entry.", e.ID, e.Action)}
	}
	plan, err := p.Drift.PlanRevert(ctx, e.ID)
	var notOpen *drift.NotOpenError
	switch {
	case errors.As(err, &notOpen):
		return nil, &change.NotRestorableError{Reason: fmt.Sprintf("The change #%d is no longer open: someone adopted or reverted it, or a later change replaced it. Open the endpoint to see where it stands.", e.ID)}
	case errors.Is(err, drift.ErrNotDrift):
		return nil, &change.NotRestorableError{Reason: fmt.Sprintf("Entry #%d is not a change made outside the console.", e.ID)}
	}
	return plan, err
}

// driftFacts adds to an audit entry's page what ties it to drift: a drift
// entry's adopt and attribute entries (who made it, per CTS), and the
// drift an adopt or attribute entry is about.
func (s *Server) driftFacts(ctx context.Context, p *views.AuditEntryPage) error {
	e := p.Entry
	if e.Action == audit.ActionBaseline {
		found, _ := policy.FromJSON(e.PolicyRequested)
		p.FoundJSON = policy.Pretty(found)
	}
	if e.RefersTo != nil {
		ref, err := s.Audit.Get(ctx, *e.RefersTo)
		switch {
		case errors.Is(err, audit.ErrNotFound):
		case err != nil:
			return err
		default:
			p.RefersTo = ref
		}
	}
	if e.Action != audit.ActionDrift {
		return nil
	}
	refs, err := s.Audit.ReferringTo(ctx, e.ID)
	if err != nil {
		return err
	}
	for _, r := range refs {
		switch r.Action {
		case audit.ActionAdopt:
			p.Adopts = append(p.Adopts, r)
		case audit.ActionAttribute:
			p.Attributions = append(p.Attributions, r)
		}
	}
	if proj := s.projectWithID(e.ProjectID, e.Region); proj != nil && proj.Drift != nil {
		st, err := proj.Drift.Status(ctx, e.EndpointID)
		if err != nil {
			s.Logger.WarnContext(ctx, "audit entry: drift status", "entry", e.ID, "err", err)
		} else {
			p.DriftOpen = st.Drifted && st.Drift != nil && st.Drift.ID == e.ID
			p.AttributionState = st.AttributionState
		}
	}
	return nil
}
