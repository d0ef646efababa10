package handlers

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/views"
)

// auditPageSize is how many entries a page of /audit shows.
const auditPageSize = 50

// readAuditFilter reads the audit filters from the query: what was typed,
// the filter it makes, and an error at each field that is not valid (the
// filter then leaves that field out). Times are UTC: 2026-11-27 10:00,
// 2026-11-27T10:00, RFC 3339 or a date.
func (s *Server) readAuditFilter(c echo.Context) (views.AuditFilter, audit.Filter) {
	vf := views.AuditFilter{
		Project:  c.QueryParam("project"),
		Region:   c.QueryParam("region"),
		Endpoint: strings.TrimSpace(c.QueryParam("endpoint")),
		Actor:    strings.TrimSpace(c.QueryParam("actor")),
		Action:   c.QueryParam("action"),
		Outcome:  c.QueryParam("outcome"),
		Text:     strings.TrimSpace(c.QueryParam("q")),
		From:     strings.TrimSpace(c.QueryParam("from")),
		To:       strings.TrimSpace(c.QueryParam("to")),
	}
	var f audit.Filter
	fail := func(field, msg string) { vf.Errors = append(vf.Errors, policy.FieldError{Field: field, Message: msg}) }
	text := func(field, v string, most int) string {
		switch {
		case len(v) > most:
			fail(field, fmt.Sprintf("At most %d characters.", most))
		case hasControlCharacter(v):
			fail(field, "Control characters are not allowed.")
		default:
			return v
		}
		return ""
	}
	// Endpoint ids are lower-case UUIDs: a prefix typed in capitals finds them too.
	f.EndpointPrefix = strings.ToLower(text("endpoint", vf.Endpoint, 64))
	f.Actor = text("actor", vf.Actor, 128)
	f.Text = text("q", vf.Text, 200)
	if vf.Action == "" || slices.Contains(audit.Actions, vf.Action) {
		f.Action = vf.Action
	} else {
		fail("action", "The action must be one of "+strings.Join(audit.Actions, ", ")+".")
	}
	if vf.Outcome == "" || slices.Contains([]string{audit.OutcomePending, audit.OutcomeSucceeded, audit.OutcomeFailed, audit.OutcomeUnknown}, vf.Outcome) {
		f.Outcome = vf.Outcome
	} else {
		fail("outcome", "The outcome must be pending, succeeded, failed or unknown.")
	}
	var err error
	if f.From, err = parseFilterTime(vf.From, false); err != nil {
		fail("from", "Not a time: "+timeHint+".")
	}
	if f.To, err = parseFilterTime(vf.To, true); err != nil {
		fail("to", "Not a time: "+timeHint+".")
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		fail("to", `"To" must be after "from".`)
		f.To = time.Time{}
	}
	s.scopeAuditFilter(c, &vf, &f, fail)
	return vf, f
}

// scopeAuditFilter restricts f to the projects the reader may view and
// reads the project and region filters. Under /p/{name}/ the project is
// that one; without a prefix (several projects) /audit shows them all.
// With one project there is nothing to choose.
func (s *Server) scopeAuditFilter(c echo.Context, vf *views.AuditFilter, f *audit.Filter, fail func(field, msg string)) {
	if len(s.Projects) == 1 {
		vf.Project, vf.Region = "", ""
		return
	}
	a := account(c)
	f.ProjectIDs = s.viewableProjectIDs(a)
	if p := scoped(c); p != nil {
		if vf.Project != "" && vf.Project != p.Name {
			fail("project", "This is project "+p.Name+"'s audit log: choose the project on /audit, which shows every project.")
		}
		vf.Project = p.Name
	}
	if vf.Project != "" {
		p := s.projectNamed(vf.Project)
		switch {
		case p == nil || a == nil || !a.RoleIn(p.Name).Allows(viewer):
			fail("project", "No project you may view has this name.")
		default:
			f.ProjectID = p.ProjectID
		}
	}
	if vf.Region != "" {
		if regions := s.regionsOf(a); !slices.Contains(regions, vf.Region) {
			fail("region", "The region must be one of "+strings.Join(regions, ", ")+".")
		} else {
			f.Region = vf.Region
		}
	}
}

// regionsOf are the regions of the projects a may view, in their order,
// once each.
func (s *Server) regionsOf(a *auth.Account) []string {
	var out []string
	for _, p := range s.viewable(a) {
		if p.Region != "" && !slices.Contains(out, p.Region) {
			out = append(out, p.Region)
		}
	}
	return out
}

// parseAuditFilter is readAuditFilter for the exports and the API, which
// answer a bad filter with 400 and its first error.
func (s *Server) parseAuditFilter(c echo.Context) (views.AuditFilter, audit.Filter, error) {
	vf, f := s.readAuditFilter(c)
	if len(vf.Errors) > 0 {
		return vf, f, badRequest(fmt.Sprintf("The %s filter: %s", vf.Errors[0].Field, vf.Errors[0].Message))
	}
	return vf, f, nil
}

// hasControlCharacter reports whether s holds a control character.
func hasControlCharacter(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

// listAudit serves /audit, newest first, a keyset page at a time, with how
// many entries match. A filter that is not valid is shown at its field,
// with what was typed, on the whole page (422), never a dead end.
func (s *Server) listAudit(c echo.Context) error {
	vf, f := s.readAuditFilter(c)
	ctx := c.Request().Context()
	p := views.AuditListPage{Base: s.base(c, "Audit log"), Filter: vf}
	if len(s.Projects) > 1 {
		p.ProjectOptions, p.RegionOptions = s.viewableNames(account(c)), s.regionsOf(account(c))
	}
	if len(vf.Errors) > 0 {
		return render(c, http.StatusUnprocessableEntity, views.AuditListView(p))
	}
	cursor := c.QueryParam("cursor")
	page, err := s.Audit.List(ctx, f, cursor, auditPageSize)
	if err != nil {
		return err // a bad cursor is answered by the error table
	}
	p.Entries, p.NextCursor, p.Paged = page.Entries, page.NextCursor, cursor != ""
	p.RowCaches = s.auditRows.caches(page.Entries)
	if p.Count, p.CountMore, err = s.Audit.Count(ctx, f); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.AuditListView(p))
}

// entryID reads the :id of an audit route.
func entryID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, echo.NewHTTPError(http.StatusNotFound)
	}
	return id, nil
}

func (s *Server) getEntry(c echo.Context) (*audit.Entry, error) {
	id, err := entryID(c)
	if err != nil {
		return nil, err
	}
	e, err := s.Audit.Get(c.Request().Context(), id) // audit.ErrNotFound is a 404 in the error table
	if err != nil {
		return nil, err
	}
	if !(audit.Filter{ProjectIDs: s.viewableProjectIDs(account(c))}).AllowsProject(e.ProjectID) {
		// An entry of a project the account may not see reads as no entry;
		// acting on one is a refusal worth recording all the same.
		if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead {
			s.event(c, auth.EventAccessDenied, m+" "+c.Request().URL.Path,
				fmt.Sprintf("entry #%d of a project without access", e.ID))
		}
		return nil, audit.ErrNotFound
	}
	return e, nil
}

// entryProject is the project an entry belongs to, when the caller may act
// on it as role (403 and a security event when not: mayIn).
func (s *Server) entryProject(c echo.Context, e *audit.Entry, role auth.Role) (*Project, error) {
	p := s.projectWithID(e.ProjectID, e.Region)
	if err := s.mayIn(c, p, role); err != nil {
		return nil, err
	}
	s.enter(c, p)
	return p, nil
}

// showEntry serves /audit/{id}.
func (s *Server) showEntry(c echo.Context) error {
	e, err := s.getEntry(c)
	if err != nil {
		return err
	}
	if p := s.projectWithID(e.ProjectID, e.Region); p != nil {
		s.enter(c, p) // the frame and switcher show the entry's project
	}
	ctx := c.Request().Context()
	p := views.AuditEntryPage{
		Base: s.base(c, fmt.Sprintf("Audit entry #%d", e.ID)), Entry: e,
		RequestBody: prettyBody(e.RequestBody), ResponseBody: prettyBody(e.ResponseBody),
		Banner: doneBanner(c.QueryParam("done"), e),
	}
	if before, err := policy.FromJSON(e.PolicyBefore); err == nil {
		requested, _ := policy.FromJSON(e.PolicyRequested)
		p.BeforeKnown, p.Diff = true, policy.Compare(before, requested, "the policy before this change")
	}
	if e.RollbackOf != nil {
		if p.RolledBack, err = s.Audit.Get(ctx, *e.RollbackOf); err != nil {
			return err
		}
	}
	if p.RolledBackBy, err = s.Audit.RolledBackBy(ctx, e.ID); err != nil {
		return err
	}
	if err := s.driftFacts(ctx, &p); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.AuditEntryView(p))
}

// prettyBody indents a JSON body; anything else is shown as it is.
func prettyBody(body string) string {
	var out bytes.Buffer
	if body == "" || json.Indent(&out, []byte(body), "", "  ") != nil {
		return body
	}
	return out.String()
}

// planRollback reads which entry to roll back and to which side.
func (s *Server) planRollback(c echo.Context, restores string) (*change.Rollback, error) {
	e, err := s.getEntry(c)
	if err != nil {
		return nil, err
	}
	side, err := change.ParseRestores(restores)
	if err != nil {
		return nil, err
	}
	p, err := s.entryProject(c, e, editor)
	if err != nil {
		return nil, err
	}
	if side == audit.RestoresKnown {
		return s.planRevert(c.Request().Context(), p, e)
	}
	return change.PlanRollback(e, side)
}

// confirmRollback shows what a rollback (or a version restore) would do.
func (s *Server) confirmRollback(c echo.Context) error {
	plan, err := s.planRollback(c, c.QueryParam("restores"))
	if err != nil {
		return err
	}
	reason := plan.DefaultReason()
	if plan.Restores == audit.RestoresKnown {
		// A revert's reason is the admin's own, typed in the drift banner.
		reason = c.QueryParam("reason")
	}
	p, err := s.rollbackPage(c, plan, views.EditorForm{Reason: reason, SubmissionKey: newSubmissionKey()}, nil)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.RollbackView(p))
}

// rollbackPage shows the rollback against the live policy. The form carries
// the fingerprint of the live policy shown, so the rollback is checked
// against what the admin confirmed.
func (s *Server) rollbackPage(c echo.Context, plan *change.Rollback, form views.EditorForm, errs policy.FieldErrors) (views.RollbackPage, error) {
	live, err := s.editableEndpoint(c.Request().Context(), scoped(c), plan.Of.EndpointID)
	if err != nil {
		return views.RollbackPage{}, err
	}
	livePolicy := policy.Policy(live.PolicyStatement)
	if form.Fingerprint == "" {
		form.Fingerprint = policy.Fingerprint(livePolicy)
	}
	p := views.RollbackPage{
		Base: s.base(c, fmt.Sprintf("Roll back #%d", plan.Of.ID)), Entry: plan.Of, Restores: plan.Restores, Live: live,
		TargetJSON: policy.Pretty(plan.Target), Diff: policy.Compare(livePolicy, plan.Target, "the live policy"),
		AlreadyThere: policy.Equal(livePolicy, plan.Target), Warnings: policy.Lint(plan.Target), Form: form, Errors: errs,
	}
	if plan.Drifted(livePolicy) {
		p.Drifted, p.DriftDiff = true, policy.Compare(plan.Left, livePolicy, "what the entry left")
	}
	return p, nil
}

// rollbackEntry applies a confirmed rollback: the same path as an edit, as
// a new entry with action=rollback.
func (s *Server) rollbackEntry(c echo.Context) error {
	plan, err := s.planRollback(c, c.FormValue("restores"))
	if err != nil {
		return err
	}
	form := views.EditorForm{Reason: c.FormValue("reason"), Fingerprint: c.FormValue("fingerprint"), SubmissionKey: c.FormValue("submission_key")}
	if k := form.SubmissionKey; k != "" && badKey(k) != "" {
		return badRequest("The form's submission key " + badKey(k) + ".")
	}
	errs := policy.ValidateReason(form.Reason)
	if len(policy.Lint(plan.Target)) > 0 && c.FormValue("ack_warnings") != "yes" {
		errs = append(errs, policy.FieldError{Field: "ack_warnings", Message: ackMessage})
	}
	if len(errs) > 0 {
		p, err := s.rollbackPage(c, plan, form, errs)
		if err != nil {
			return err
		}
		return render(c, http.StatusUnprocessableEntity, views.RollbackView(p))
	}
	req := plan.Request(actor(c), strings.TrimSpace(form.Reason), form.Fingerprint, scopedKey(c, "form", form.SubmissionKey))
	req.Acknowledged = warningCodes(policy.Lint(plan.Target)) // the box was ticked for exactly these
	res, err := scoped(c).Applier.Apply(c.Request().Context(), req)
	if err != nil {
		return err
	}
	form.BasePolicy = ""
	return s.pageChangeAnswer(c, res, form, plan.Target, &views.RollbackTarget{EntryID: plan.Of.ID, Restores: plan.Restores})
}

// endpointHistory serves /endpoints/{id}/history: the versions the console
// made, newest first, each as a diff from the one before, the live one
// marked, and a restore for every other.
func (s *Server) endpointHistory(c echo.Context) error {
	id := c.Param("id")
	if len(id) > 64 {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	ctx := c.Request().Context()
	page, err := s.Audit.List(ctx, audit.Filter{EndpointID: id, ProjectID: scoped(c).ProjectID}, "", historyLength)
	if err != nil {
		return err
	}
	p := views.HistoryPage{Base: s.base(c, "Policy history"), EndpointID: id, Complete: page.NextCursor == ""}
	if len(page.Entries) > 0 {
		p.ServiceName = page.Entries[0].EndpointServiceName
	}
	var live policy.Policy
	if ep, err := scoped(c).Upstream.GetEndpoint(ctx, id); err != nil {
		p.LiveErr = "The live policy could not be read: " + err.Error()
	} else {
		p.LiveKnown, live = true, ep.PolicyStatement
		p.ServiceName, p.LiveJSON = ep.ServiceName, policy.Pretty(ep.PolicyStatement)
	}
	p.Versions, p.OtherChanges = historyVersions(page.Entries, p.Complete)
	if p.LiveKnown {
		markCurrent(&p, live)
	}
	return render(c, http.StatusOK, views.HistoryView(p))
}

// historyVersions are the versions entries (newest first) made: one per
// succeeded change (a change made outside the console, a drift, is one
// too), and the original: the baseline (the policy as the console first
// found it), or, for a history from before baselines and when complete,
// the policy found before the oldest change. Adopt and attribute entries
// make no version of their own. others counts the changes that made none.
func historyVersions(entries []*audit.Entry, complete bool) (versions []views.HistoryVersion, others int) {
	var oldest *audit.Entry
	for _, e := range entries {
		if e.Action == audit.ActionAdopt || e.Action == audit.ActionAttribute {
			continue
		}
		if e.Outcome != audit.OutcomeSucceeded {
			others++
			continue
		}
		if e.Action == audit.ActionBaseline {
			found, _ := policy.FromJSON(e.PolicyRequested)
			versions = append(versions, views.HistoryVersion{Entry: e, Original: true,
				JSON: policy.Pretty(found), RestoreURL: restoreURL(e, audit.RestoresAfter)})
			return versions, others // the first entry of the endpoint
		}
		v := views.HistoryVersion{Entry: e, RestoreURL: restoreURL(e, audit.RestoresAfter)}
		requested, _ := policy.FromJSON(e.PolicyRequested)
		v.JSON = policy.Pretty(requested)
		if before, err := policy.FromJSON(e.PolicyBefore); err == nil {
			v.BeforeKnown, v.Diff = true, policy.Compare(before, requested, "the previous version")
		}
		versions = append(versions, v)
		oldest = e
	}
	// A baseline is the policy as first found: it is the original itself.
	if complete && oldest != nil && oldest.Action != audit.ActionBaseline {
		if before, err := policy.FromJSON(oldest.PolicyBefore); err == nil {
			versions = append(versions, views.HistoryVersion{Entry: oldest, Original: true,
				JSON: policy.Pretty(before), RestoreURL: restoreURL(oldest, audit.RestoresBefore)})
		}
	}
	return versions, others
}

// restoreURL is where restoring e's side starts, or "" when that side
// cannot be restored (change.PlanRollback decides).
func restoreURL(e *audit.Entry, side string) string {
	if _, err := change.PlanRollback(e, side); err != nil {
		return ""
	}
	return "/audit/" + strconv.FormatInt(e.ID, 10) + "/rollback?restores=" + side
}

// markCurrent marks the newest version that is the live policy, which needs
// no restore; when none is, the policy was changed outside the console.
func markCurrent(p *views.HistoryPage, live policy.Policy) {
	for i := range p.Versions {
		v := &p.Versions[i]
		raw := v.Entry.PolicyRequested
		if v.Original && v.Entry.Action != audit.ActionBaseline {
			raw = v.Entry.PolicyBefore
		}
		if vp, err := policy.FromJSON(raw); err == nil && policy.Equal(vp, live) {
			v.Current, v.RestoreURL = true, ""
			return
		}
	}
	if len(p.Versions) > 0 {
		newest, _ := policy.FromJSON(p.Versions[0].Entry.PolicyRequested)
		if p.Versions[0].Original && p.Versions[0].Entry.Action != audit.ActionBaseline {
			newest, _ = policy.FromJSON(p.Versions[0].Entry.PolicyBefore)
		}
		p.Outside, p.OutsideDiff = true, policy.Compare(newest, live, "the newest version")
	}
}

// historyLength is how many of an endpoint's newest entries its history shows.
const historyLength = 500

// errAuditUnreadable wraps a failure to read the audit log for an export
// before anything was sent: the error table answers 503 audit_unavailable.
var errAuditUnreadable = errors.New("handlers: the audit log could not be read")

// An export's status is sent only once its first entry has been read, so a
// log that cannot be read answers 503 rather than 200 with an empty file;
// an empty log still answers 200 with just the header row, or []. Past the
// status only the body can say that the log broke off: the CSV ends with
// an "# export incomplete" line, and the JSON array is left unclosed on an
// aborted connection, so that no client takes half a log for all of it.

// exportCSV streams the filtered audit log as CSV, one row per entry, as the
// rows arrive from the database.
func (s *Server) exportCSV(c echo.Context) error {
	_, f, err := s.parseAuditFilter(c)
	if err != nil {
		return err
	}
	out := &exportWriter{w: c.Response()}
	var w *csv.Writer
	start := func() {
		h := c.Response().Header()
		h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
		h.Set(echo.HeaderContentDisposition, `attachment; filename="audit.csv"`)
		c.Response().WriteHeader(http.StatusOK)
		// csv.Writer takes a bufio.Writer this large as its own buffer:
		// fewer, larger writes to the connection.
		w = csv.NewWriter(bufio.NewWriterSize(out, 64<<10))
		_ = w.Write(audit.CSVHeader())
	}
	var record []string // one slice for every row
	var last int64      // the id of the last entry written
	n := 0
	err = s.Audit.Each(c.Request().Context(), f, func(e *audit.Entry) error {
		if w == nil {
			start()
		}
		record = e.AppendCSVRecord(record)
		if err := w.Write(record); err != nil {
			return err
		}
		last = e.ID
		if n++; n%1000 == 0 {
			w.Flush()
			c.Response().Flush()
		}
		return w.Error()
	})
	if w == nil {
		if err != nil {
			return fmt.Errorf("%w: %w", errAuditUnreadable, err)
		}
		start() // an empty log, or nothing matches: the header row alone
	}
	switch {
	case err != nil && out.clientGone(c):
		s.exportAbandoned(c, "CSV", err)
	case err != nil:
		// The status is sent: the file itself must say it is incomplete.
		s.exportBroke(c, "CSV", last, err)
		w.Flush()
		fmt.Fprintf(out, "# export incomplete: the audit log could not be read past entry #%d\n", last)
		// And the transfer fails, as the JSON export's does, so a client
		// that does not read the last line still sees the export break.
		c.Response().Flush()
		panic(http.ErrAbortHandler)
	}
	w.Flush()
	return nil
}

// exportJSON streams the filtered audit log as a JSON array.
func (s *Server) exportJSON(c echo.Context) error {
	_, f, err := s.parseAuditFilter(c)
	if err != nil {
		return err
	}
	out := &exportWriter{w: c.Response()}
	var bw *bufio.Writer
	var enc *json.Encoder
	start := func() {
		h := c.Response().Header()
		h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		h.Set(echo.HeaderContentDisposition, `attachment; filename="audit.json"`)
		c.Response().WriteHeader(http.StatusOK)
		bw = bufio.NewWriterSize(out, 32<<10)
		enc = json.NewEncoder(bw)
		_, _ = bw.WriteString("[\n")
	}
	var last int64 // the id of the last entry written
	n := 0
	err = s.Audit.Each(c.Request().Context(), f, func(e *audit.Entry) error {
		if bw == nil {
			start()
		}
		if n > 0 {
			_, _ = bw.WriteString(",")
		}
		n++
		if err := enc.Encode(e); err != nil {
			return err
		}
		last = e.ID
		if bw.Buffered() > 16<<10 {
			if err := bw.Flush(); err != nil {
				return err
			}
			c.Response().Flush()
		}
		return nil
	})
	if bw == nil {
		if err != nil {
			// Nothing is sent yet: a JSON client gets the API's error
			// body, from the error table.
			err = fmt.Errorf("%w: %w", errAuditUnreadable, err)
			s.Logger.Error("audit JSON export", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "error", err)
			p := problemFor(err)
			p.setRetryAfter(c)
			return apiFail(c, p.status, apiErrorBody{Error: p.apiError()})
		}
		start() // an empty log, or nothing matches: []
	}
	switch {
	case err != nil && out.clientGone(c):
		s.exportAbandoned(c, "JSON", err)
		return nil
	case err != nil:
		// The status is sent. What was read goes out, the array stays
		// unclosed, and the connection is aborted (Echo's Recover re-panics
		// http.ErrAbortHandler for net/http), so the client sees a
		// truncated transfer rather than a complete, shorter log.
		s.exportBroke(c, "JSON", last, err)
		_ = bw.Flush()
		c.Response().Flush()
		panic(http.ErrAbortHandler)
	}
	_, _ = bw.WriteString("]\n")
	_ = bw.Flush()
	return nil
}

// exportWriter is the response as an export writes it. It remembers a
// failure to write, so that a client that went away is told apart from a
// log that could not be read.
type exportWriter struct {
	w   io.Writer
	err error
}

func (w *exportWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// clientGone reports whether the export stopped because its client left:
// a write failed, or the request was cancelled.
func (w *exportWriter) clientGone(c echo.Context) bool {
	return w.err != nil || c.Request().Context().Err() != nil
}

// exportAbandoned logs an export its client did not read to the end.
func (s *Server) exportAbandoned(c echo.Context, format string, err error) {
	s.Logger.Info("audit "+format+" export: the client went away", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "error", err)
}

// exportBroke logs an export the audit log broke off after entry last.
func (s *Server) exportBroke(c echo.Context, format string, last int64, err error) {
	s.Logger.Error("audit "+format+" export incomplete: the audit log could not be read past entry #"+strconv.FormatInt(last, 10),
		"request_id", c.Response().Header().Get(echo.HeaderXRequestID), "error", err)
}
