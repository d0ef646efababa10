package audit

import "slices"

// csvColumns is the layout of a CSV export: fields by name, in the
// export's order. New columns go at the end, so scripts that read older
// exports by position keep working.
var csvColumns = []string{"id", "started_at", "finished_at", "actor", "project_id", "region", "endpoint_id",
	"endpoint_service_name", "action", "reason", "rollback_of", "restores", "outcome", "response_status",
	"request_id", "error_code", "error_message", "readback_matches", "duration_ms", "note",
	"policy_before", "policy_requested", "hash", "prev_hash", "final_hash", "format_version"}

// csvFields are the fields of csvColumns, in that order.
var csvFields = func() []field {
	out := make([]field, len(csvColumns))
	for i, name := range csvColumns {
		j := slices.IndexFunc(entryFields, func(f field) bool { return f.name == name })
		if j < 0 {
			panic("audit: CSV column " + name + " is not a field")
		}
		out[i] = entryFields[j]
	}
	return out
}()

// CSVHeader is the header row of a CSV export of the log: the column names
// of CSVRecord.
func CSVHeader() []string { return slices.Clone(csvColumns) }

// CSVRecord is e as a row of a CSV export, in CSVHeader's order: times in
// RFC 3339 UTC, policies as stored, and an absent number, boolean or time
// as an empty cell.
func (e *Entry) CSVRecord() []string {
	out := make([]string, len(csvFields))
	for i, f := range csvFields {
		out[i] = f.text(e)
	}
	return out
}
