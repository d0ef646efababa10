package audit

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// csvColumns is the layout of a CSV export: fields by name, in the
// export's order. New columns go at the end, so scripts that read older
// exports by position keep working.
var csvColumns = []string{"id", "started_at", "finished_at", "actor", "project_id", "region", "endpoint_id",
	"endpoint_service_name", "action", "reason", "rollback_of", "restores", "outcome", "response_status",
	"request_id", "error_code", "error_message", "readback_matches", "duration_ms", "note",
	"policy_before", "policy_requested", "hash", "prev_hash", "final_hash", "format_version", "acknowledged_warnings",
	"detected_by", "refers_to", "attribution"}

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
// as an empty cell. Every cell passes through CSVCell, so that a
// spreadsheet never runs text an actor typed as a formula.
func (e *Entry) CSVRecord() []string { return e.AppendCSVRecord(nil) }

// AppendCSVRecord is CSVRecord appended to record[:0]: an export reuses one
// slice for all its rows.
func (e *Entry) AppendCSVRecord(record []string) []string {
	record = record[:0]
	for _, f := range csvFields {
		record = append(record, CSVCell(f.text(e)))
	}
	return record
}

// CSVCell neutralises a cell a spreadsheet would take for a formula, as
// OWASP recommends for CSV injection: a cell that begins with =, +, -, @,
// a tab or a carriage return gets a single quote in front, and is otherwise
// kept as it is. Spreadsheets show the quote-prefixed text as text; a
// script reading the export strips one leading quote from such a cell.
// None of the console's own cells (numbers, times, hashes, policies as JSON
// arrays) begins with one of these characters, so only text an actor typed
// (a reason, an upstream message) is ever changed.
func CSVCell(s string) string {
	// A cell that already begins with a quote gets one more, so that
	// stripping one leading quote always gives the text back exactly.
	if StartsFormula(s) || strings.HasPrefix(s, "'") {
		return "'" + s
	}
	return s
}

// StartsFormula reports whether a spreadsheet would read s as a formula
// (or, for a tab or a carriage return, could be made to): the cells
// CSVCell prefixes.
func StartsFormula(s string) bool {
	// Spaces and invisible characters in front do not protect a cell: a
	// tool that trims them on import would see the formula.
	if s != "" && s[0] != ' ' && s[0] < utf8.RuneSelf {
		// Nothing to trim (the common cell, spared TrimLeft's cost).
		return strings.IndexByte("=+-@\t\r|", s[0]) >= 0
	}
	s = strings.TrimLeft(s, " \u00a0\u200b\u200c\u200d\u2060\ufeff")
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '|':
		return true
	}
	return strings.HasPrefix(s, "\uff1d") // a fullwidth equals sign, which some spreadsheets read as =
}
