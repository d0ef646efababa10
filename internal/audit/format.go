package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// CurrentFormatVersion is the format version Begin writes new entries
// with. Version 1 is the format from before versions existed; version 2
// adds format_version itself to what hash covers, so lowering an entry's
// version is detected like any other edit; version 3 adds
// acknowledged_warnings, the lint warnings the actor acknowledged; version
// 4 adds detected_by, refers_to and attribution, for the entries of changes
// made outside the console (drift, baseline, adopt, attribute);
// attribution is hashed as the text stored, in the audit's own encoding of
// traces (storedTrace), never as a re-encoding of cts.Trace.
const CurrentFormatVersion = 4

// stage is when a field is written.
type stage int

const (
	atStart    stage = iota + 1 // by Begin's INSERT; the trigger keeps it unchanged
	atFinalise                  // by Finalise's UPDATE, once
)

// digest is which of an entry's hashes covers a field.
type digest int

const (
	unhashed    digest = iota // final_hash itself: nothing covers it
	byHash                    // hash: what was recorded at the start
	byFinalHash               // final_hash: hash and what finalising recorded
)

// A field is one column of audit_entries and, from version since on, one
// key of the JSON its digest hashes.
type field struct {
	name    string // the column name and the hashed JSON key
	since   int    // the first format version whose hashes cover it
	written stage
	covered digest
	column
}

// entryFields is THE list of an entry's fields: the SELECT, INSERT and
// UPDATE column lists, scanning and what each format version hashes all
// derive from it. Hashed JSON keys appear in this order, so a new field
// goes anywhere with since set to a new version (and that version becomes
// CurrentFormatVersion); an existing field's since, name or encoding never
// changes, or old entries stop verifying. A column the database adds for
// a new start field is kept unchanged by the trigger without editing it;
// a new finalise field must be added to the trigger's list too.
var entryFields = []field{
	{"format_version", 2, atStart, byHash, intColumn[int]{func(e *Entry) *int { return &e.FormatVersion }}},
	{"id", 1, atStart, byHash, intColumn[int64]{func(e *Entry) *int64 { return &e.ID }}},
	{"submission_key", 1, atStart, byHash, textColumn{func(e *Entry) *string { return &e.SubmissionKey }, true}},
	{"started_at", 1, atStart, byHash, timeColumn{func(e *Entry) *time.Time { return &e.StartedAt }}},
	{"actor", 1, atStart, byHash, textColumn{func(e *Entry) *string { return &e.Actor }, false}},
	{"project_id", 1, atStart, byHash, textColumn{func(e *Entry) *string { return &e.ProjectID }, false}},
	{"region", 1, atStart, byHash, textColumn{func(e *Entry) *string { return &e.Region }, false}},
	{"endpoint_id", 1, atStart, byHash, textColumn{func(e *Entry) *string { return &e.EndpointID }, false}},
	{"endpoint_service_name", 1, atStart, byHash, textColumn{func(e *Entry) *string { return &e.EndpointServiceName }, false}},
	{"action", 1, atStart, byHash, textColumn{func(e *Entry) *string { return &e.Action }, false}},
	{"reason", 1, atStart, byHash, textColumn{func(e *Entry) *string { return &e.Reason }, false}},
	{"rollback_of", 1, atStart, byHash, optIntColumn[int64]{func(e *Entry) **int64 { return &e.RollbackOf }}},
	{"restores", 1, atStart, byHash, textColumn{func(e *Entry) *string { return &e.Restores }, true}},
	{"policy_before", 1, atStart, byHash, jsonColumn{func(e *Entry) *json.RawMessage { return &e.PolicyBefore }, false}},
	{"policy_requested", 1, atStart, byHash, jsonColumn{func(e *Entry) *json.RawMessage { return &e.PolicyRequested }, false}},
	{"acknowledged_warnings", 3, atStart, byHash, stringsColumn{func(e *Entry) *[]string { return &e.AcknowledgedWarnings }}},
	{"detected_by", 4, atStart, byHash, textColumn{func(e *Entry) *string { return &e.DetectedBy }, true}},
	{"refers_to", 4, atStart, byHash, optIntColumn[int64]{func(e *Entry) **int64 { return &e.RefersTo }}},
	{"attribution", 4, atStart, byHash, tracesColumn{}},
	{"prev_hash", 1, atStart, byHash, textColumn{func(e *Entry) *string { return &e.PrevHash }, false}},
	// hash is written at the start but, as the link to the start, is the
	// first thing final_hash covers.
	{"hash", 1, atStart, byFinalHash, textColumn{func(e *Entry) *string { return &e.Hash }, false}},
	{"outcome", 1, atFinalise, byFinalHash, textColumn{func(e *Entry) *string { return &e.Outcome }, false}},
	{"finished_at", 1, atFinalise, byFinalHash, optTimeColumn{func(e *Entry) **time.Time { return &e.FinishedAt }}},
	{"request_body", 1, atFinalise, byFinalHash, textColumn{func(e *Entry) *string { return &e.RequestBody }, true}},
	{"response_status", 1, atFinalise, byFinalHash, optIntColumn[int]{func(e *Entry) **int { return &e.ResponseStatus }}},
	{"response_body", 1, atFinalise, byFinalHash, textColumn{func(e *Entry) *string { return &e.ResponseBody }, true}},
	{"request_id", 1, atFinalise, byFinalHash, textColumn{func(e *Entry) *string { return &e.RequestID }, true}},
	{"error_code", 1, atFinalise, byFinalHash, textColumn{func(e *Entry) *string { return &e.ErrorCode }, true}},
	{"error_message", 1, atFinalise, byFinalHash, textColumn{func(e *Entry) *string { return &e.ErrorMessage }, true}},
	{"readback_matches", 1, atFinalise, byFinalHash, optBoolColumn{func(e *Entry) **bool { return &e.ReadbackMatches }}},
	{"readback_policy", 1, atFinalise, byFinalHash, jsonColumn{func(e *Entry) *json.RawMessage { return &e.ReadbackPolicy }, true}},
	{"duration_ms", 1, atFinalise, byFinalHash, optIntColumn[int]{func(e *Entry) **int { return &e.DurationMS }}},
	{"note", 1, atFinalise, byFinalHash, textColumn{func(e *Entry) *string { return &e.Note }, true}},
	{"final_hash", 1, atFinalise, unhashed, textColumn{func(e *Entry) *string { return &e.FinalHash }, true}},
}

// derivedColumns are columns of audit_entries the database derives from
// fields (search_document, from reason and note, for q). They are not
// fields: no hash covers them, the fields they are made of are.
var derivedColumns = []string{"search_document"}

// currentFormat is what New's Log reads, writes and verifies with.
var currentFormat = newFormat(CurrentFormatVersion, entryFields)

// format is a field list with the version Begin writes and the SQL derived
// from the list. A Log holds one, so a test can extend it.
type format struct {
	version     int
	fields      []field
	columns     string // the SELECT list, in fields order (scan's order)
	insertSQL   string // Begin's INSERT of the start fields
	finaliseSQL string // Finalise's UPDATE of the finalise fields; $1 is the id
}

// newFormat derives the SQL of fields, written at version. It panics on a
// list that cannot be right, since that is a mistake in this file.
func newFormat(version int, fields []field) *format {
	f := &format{version: version, fields: fields}
	var names, inserted, placeholders, set []string
	seen := map[string]bool{}
	for _, fd := range fields {
		if seen[fd.name] || fd.since < 1 || fd.since > version || (fd.written != atStart && fd.written != atFinalise) {
			panic(fmt.Sprintf("audit: bad field %q in format %d", fd.name, version))
		}
		seen[fd.name] = true
		names = append(names, fd.name)
		switch fd.written {
		case atStart:
			inserted = append(inserted, fd.name)
			placeholders = append(placeholders, "$"+strconv.Itoa(len(inserted)))
		case atFinalise:
			set = append(set, fd.name+" = $"+strconv.Itoa(len(set)+2))
		}
	}
	if !seen["id"] || !seen["format_version"] {
		panic("audit: a format needs id and format_version")
	}
	f.columns = strings.Join(names, ", ")
	f.insertSQL = `INSERT INTO audit_entries (` + strings.Join(inserted, ", ") + `) VALUES (` + strings.Join(placeholders, ", ") + `)`
	// outcome = 'pending' makes finalising happen once even when two
	// replicas race to settle the same entry.
	f.finaliseSQL = `UPDATE audit_entries SET ` + strings.Join(set, ", ") + ` WHERE id = $1 AND outcome = 'pending'`
	return f
}

// knows reports whether version is one f can hash.
func (f *format) knows(version int) bool { return version >= 1 && version <= f.version }

// insertArgs are the values insertSQL binds for e.
func (f *format) insertArgs(e *Entry) []any {
	var args []any
	for _, fd := range f.fields {
		if fd.written == atStart {
			args = append(args, fd.arg(e))
		}
	}
	return args
}

// finaliseArgs are the values finaliseSQL binds for e. Fields newer than
// e's own version are written NULL: its final hash does not cover them.
func (f *format) finaliseArgs(e *Entry) []any {
	args := []any{e.ID}
	for _, fd := range f.fields {
		switch {
		case fd.written != atFinalise:
		case fd.since > e.FormatVersion:
			args = append(args, nil)
		default:
			args = append(args, fd.arg(e))
		}
	}
	return args
}

// newerFieldSet names a field newer than e's format version that holds a
// value, or "". No hash of e covers such a field, so it must be empty (a
// field added in a later version is nullable: older rows hold NULL).
func (f *format) newerFieldSet(e *Entry) string {
	for _, fd := range f.fields {
		if fd.since > e.FormatVersion && fd.name != "format_version" && fd.text(e) != "" {
			return fd.name
		}
	}
	return ""
}

// scan reads a row selected with columns.
func (f *format) scan(row pgx.CollectableRow) (*Entry, error) {
	e := new(Entry)
	dests := make([]any, len(f.fields))
	for i, fd := range f.fields {
		dests[i] = fd.dest(e)
	}
	if err := row.Scan(dests...); err != nil {
		return nil, err
	}
	return e, nil
}

// content is the JSON d hashes for e: an object of the fields d covers at
// e's own format version, in list order. For version 1 these are byte for
// byte the startContent and finalContent structs json.Marshal-ed before
// versions existed.
func (f *format) content(e *Entry, d digest) []byte {
	b := make([]byte, 0, 1024)
	b = append(b, '{')
	for _, fd := range f.fields {
		if fd.covered != d || fd.since > e.FormatVersion {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendJSONString(b, fd.name)
		b = append(b, ':')
		b = fd.appendHashed(b, e)
	}
	return append(b, '}')
}

// hash is SHA-256 of the content d covers, in hex.
func (f *format) hash(e *Entry, d digest) string {
	sum := sha256.Sum256(f.content(e, d))
	return hex.EncodeToString(sum[:])
}
