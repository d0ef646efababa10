package audit

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// legacyCSVRecord is the row internal/handlers exportCSV wrote at commit
// 5c56403.
func legacyCSVRecord(e *Entry) []string {
	optInt := func(n *int) string {
		if n == nil {
			return ""
		}
		return strconv.Itoa(*n)
	}
	optBool := func(b *bool) string {
		if b == nil {
			return ""
		}
		return strconv.FormatBool(*b)
	}
	rollbackOf := ""
	if e.RollbackOf != nil {
		rollbackOf = strconv.FormatInt(*e.RollbackOf, 10)
	}
	finished := ""
	if e.FinishedAt != nil {
		finished = e.FinishedAt.UTC().Format(time.RFC3339Nano)
	}
	return []string{strconv.FormatInt(e.ID, 10), e.StartedAt.UTC().Format(time.RFC3339Nano), finished,
		e.Actor, e.ProjectID, e.Region, e.EndpointID, e.EndpointServiceName, e.Action, e.Reason, rollbackOf,
		e.Restores, e.Outcome, optInt(e.ResponseStatus), e.RequestID, e.ErrorCode, e.ErrorMessage,
		optBool(e.ReadbackMatches), optInt(e.DurationMS), e.Note, string(e.PolicyBefore),
		string(e.PolicyRequested), e.Hash, e.PrevHash, e.FinalHash}
}

func TestCSVIsTheExportBeforePlusFormatVersion(t *testing.T) {
	t.Parallel()
	header := []string{"id", "started_at", "finished_at", "actor", "project_id", "region", "endpoint_id",
		"endpoint_service_name", "action", "reason", "rollback_of", "restores", "outcome", "response_status",
		"request_id", "error_code", "error_message", "readback_matches", "duration_ms", "note",
		"policy_before", "policy_requested", "hash", "prev_hash", "final_hash"}
	if diff := cmp.Diff(append(header, "format_version"), CSVHeader()); diff != "" {
		t.Errorf("CSVHeader mismatch (-want +got):\n%s", diff)
	}
	pending := fullEntry()
	pending.Outcome, pending.FinishedAt, pending.ResponseStatus, pending.ReadbackMatches, pending.DurationMS = OutcomePending, nil, nil, nil, nil
	pending.RollbackOf, pending.FormatVersion = nil, 2
	for _, e := range []*Entry{fullEntry(), pending, {}} {
		want := append(legacyCSVRecord(e), strconv.Itoa(e.FormatVersion))
		if diff := cmp.Diff(want, e.CSVRecord()); diff != "" {
			t.Errorf("CSVRecord mismatch (-want +got):\n%s", diff)
		}
	}
}
