package handlers

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/views"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// changePage is where the browser is taken after a change.
type changePage int

const (
	toEntry    changePage = iota // the change's audit entry, with the message as a banner
	toConflict                   // the conflict page, to rebase or give up
	toMessage                    // a plain page with the message
)

// changeAnswer is how the console answers one outcome of a change.
type changeAnswer struct {
	// recorded is the entry outcome this answer can be given for: the
	// entry page shows the answer's banner only while the entry agrees.
	recorded string
	status   int    // the API's status
	code     string // the API's error code; "" when the change is the answer
	page     changePage
	message  string // plain words, for the page and the API
}

// changeAnswers is the one table from a change's outcome to its answer, on
// a page and in the API. A new outcome is one line here.
var changeAnswers = map[change.Outcome]changeAnswer{
	change.Applied:    {audit.OutcomeSucceeded, http.StatusOK, "", toEntry, "The change was applied and recorded."},
	change.Unchanged:  {audit.OutcomeSucceeded, http.StatusOK, "", toMessage, "The live policy already is the one requested, so nothing was sent to the upstream."},
	change.Conflict:   {audit.OutcomeFailed, http.StatusConflict, "conflict", toConflict, "The live policy is not the one the change was made against: someone changed it. Nothing was sent."},
	change.Failed:     {audit.OutcomeFailed, http.StatusBadGateway, "upstream", toEntry, "The change did not take effect; it is recorded below with the upstream's answer."},
	change.Unknown:    {audit.OutcomeUnknown, http.StatusAccepted, "unknown", toEntry, "The change was sent, but what the upstream holds now is not what the console expected; it is recorded as unknown. Check the live policy."},
	change.Unsettled:  {audit.OutcomePending, http.StatusAccepted, "unsettled", toEntry, "The change was sent but no answer came back yet. The entry stays pending until the live policy settles it (within minutes)."},
	change.Duplicate:  {"", http.StatusConflict, "duplicate_submission", toEntry, "This change was already submitted (the form was sent twice); here is the one change it made."},
	change.Unrecorded: {audit.OutcomePending, http.StatusServiceUnavailable, "audit_unavailable", toEntry, "Nothing was sent, but the console could not record how the change ended (its database failed). The entry stays pending until the reconciler settles it."},
	change.LockLost:   {audit.OutcomeFailed, http.StatusServiceUnavailable, "lock_lost", toEntry, "The console lost its connection to its database while holding this endpoint, so nothing was sent. Submit the change again."},
}

// answerFor looks up the answer to an outcome; one missing from the table
// is a bug, answered as an internal error.
func answerFor(o change.Outcome) (changeAnswer, error) {
	a, ok := changeAnswers[o]
	if !ok {
		return a, fmt.Errorf("handlers: no answer for the change outcome %q", o)
	}
	return a, nil
}

// doneBanner is the banner of the entry page a change redirected to, with
// ?done=outcome. It is shown only while the entry agrees with it: a shared
// or reloaded link never claims what the entry does not say (a duplicate
// agrees with any outcome: it only says the form was sent twice).
func doneBanner(done string, e *audit.Entry) string {
	a, ok := changeAnswers[change.Outcome(done)]
	if !ok || a.page != toEntry || (a.recorded != "" && a.recorded != e.Outcome) {
		return ""
	}
	return a.message
}

// pageChangeAnswer answers a change made in the browser. form and proposed
// are carried to the conflict page, so the admin can rebase without retyping.
func (s *Server) pageChangeAnswer(c echo.Context, res *change.Result, form views.EditorForm, proposed policy.Policy, rollback *views.RollbackTarget) error {
	a, err := answerFor(res.Outcome)
	if err != nil {
		return err
	}
	switch a.page {
	case toConflict:
		return render(c, a.status, views.ConflictView(s.conflictPage(c, res, form, proposed, rollback)))
	case toMessage:
		return render(c, http.StatusOK, views.MessageView(views.MessagePage{
			Base: s.base(c, "Nothing to change"), Heading: "Nothing to change", Message: a.message,
			Links: []views.Link{
				{Label: fmt.Sprintf("The audit entry #%d", res.Entry.ID), URL: entryPath(res.Entry.ID)},
				{Label: "The endpoint", URL: here(c, "/endpoints/"+res.Entry.EndpointID)},
			},
		}))
	}
	retryAfter(c, a)
	return c.Redirect(http.StatusSeeOther, entryPath(res.Entry.ID)+"?done="+string(res.Outcome))
}

// apiChange is the answer to a change through the API that took place (or
// needed none).
type apiChange struct {
	Entry     *audit.Entry     `json:"entry"`
	Endpoint  *vpcep.Endpoint  `json:"endpoint"`
	Warnings  []policy.Warning `json:"warnings"`
	Unchanged bool             `json:"unchanged,omitempty"`
	Message   string           `json:"message"`
}

// apiChangeAnswer answers a change made through the API.
func apiChangeAnswer(c echo.Context, res *change.Result, warnings []policy.Warning) error {
	a, err := answerFor(res.Outcome)
	if err != nil {
		return err
	}
	if warnings == nil {
		warnings = []policy.Warning{}
	}
	if a.code == "" {
		return c.JSON(a.status, apiChange{Entry: res.Entry, Endpoint: res.Endpoint, Warnings: warnings,
			Unchanged: res.Outcome == change.Unchanged, Message: a.message})
	}
	body := apiErrorBody{Error: apiError{Code: a.code, Message: fmt.Sprintf("%s (Entry #%d.)", a.message, res.Entry.ID)}, Entry: res.Entry}
	if ue := res.UpstreamError(); ue != nil {
		body.Error.Status, body.Error.UpstreamCode, body.Error.RequestID = ue.Status, ue.Code, ue.RequestID
		if ue.Message != "" {
			body.Error.Message += " The upstream said: " + ue.Message
		}
	}
	if res.Outcome == change.Conflict && res.Endpoint != nil {
		body.Live, body.Fingerprint = res.Endpoint, policy.Fingerprint(res.Endpoint.PolicyStatement)
	}
	retryAfter(c, a)
	return apiFail(c, a.status, body)
}

// retryAfter says when to try again after an answer that passes: the
// database or the console's hold on it coming back.
func retryAfter(c echo.Context, a changeAnswer) {
	if a.status == http.StatusServiceUnavailable {
		problem{retryAfter: databaseRetryAfter}.setRetryAfter(c)
	}
}

func entryPath(id int64) string { return "/audit/" + strconv.FormatInt(id, 10) }
