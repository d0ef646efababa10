package audit

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/vpcep-console/vpcep-console/internal/cts"
)

// column is how one field is kept on an Entry: where a scan puts it, what
// INSERT or UPDATE binds, how it is hashed and how an export shows it.
type column interface {
	dest(e *Entry) any
	arg(e *Entry) any
	appendHashed(b []byte, e *Entry) []byte
	text(e *Entry) string
}

// textColumn is a text column held in a Go string. When null, NULL is ""
// both ways: stored as NULL, hashed as "".
type textColumn struct {
	get  func(*Entry) *string
	null bool
}

func (c textColumn) dest(e *Entry) any {
	if c.null {
		return (*nullText)(c.get(e))
	}
	return c.get(e)
}

func (c textColumn) arg(e *Entry) any {
	if s := *c.get(e); c.null && s == "" {
		return nil
	}
	return *c.get(e)
}

func (c textColumn) appendHashed(b []byte, e *Entry) []byte { return appendJSONString(b, *c.get(e)) }
func (c textColumn) text(e *Entry) string                   { return *c.get(e) }

// jsonColumn is a text column of JSON kept byte for byte in a
// json.RawMessage; NULL and "" are a nil RawMessage, hashed as "".
type jsonColumn struct {
	get  func(*Entry) *json.RawMessage
	null bool
}

func (c jsonColumn) dest(e *Entry) any { return (*jsonText)(c.get(e)) }

func (c jsonColumn) arg(e *Entry) any {
	if raw := *c.get(e); c.null && len(raw) == 0 {
		return nil
	}
	return string(*c.get(e))
}

func (c jsonColumn) appendHashed(b []byte, e *Entry) []byte {
	return appendJSONString(b, string(*c.get(e)))
}
func (c jsonColumn) text(e *Entry) string { return string(*c.get(e)) }

// stringsColumn is a nullable text column holding a list of strings as a
// compact JSON array, held in a []string: an empty list is stored as NULL,
// hashed as [] and shown as "" (NULL reads back as an empty, non-nil list,
// so the JSON exports say [] rather than null).
type stringsColumn struct{ get func(*Entry) *[]string }

func (c stringsColumn) dest(e *Entry) any { return (*jsonStringList)(c.get(e)) }

func (c stringsColumn) arg(e *Entry) any {
	if len(*c.get(e)) == 0 {
		return nil
	}
	return c.text(e)
}

func (c stringsColumn) appendHashed(b []byte, e *Entry) []byte {
	b = append(b, '[')
	for i, s := range *c.get(e) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

func (c stringsColumn) text(e *Entry) string {
	if len(*c.get(e)) == 0 {
		return ""
	}
	return string(c.appendHashed(nil, e))
}

// timeColumn is a timestamptz column, NOT NULL, read as UTC.
type timeColumn struct{ get func(*Entry) *time.Time }

func (c timeColumn) dest(e *Entry) any { return (*utcTime)(c.get(e)) }
func (c timeColumn) arg(e *Entry) any  { return *c.get(e) }
func (c timeColumn) appendHashed(b []byte, e *Entry) []byte {
	return appendJSONString(b, timeText(*c.get(e)))
}
func (c timeColumn) text(e *Entry) string { return c.get(e).UTC().Format(time.RFC3339Nano) }

// optTimeColumn is a nullable timestamptz column held in a *time.Time,
// read as UTC; NULL is hashed as "".
type optTimeColumn struct{ get func(*Entry) **time.Time }

func (c optTimeColumn) dest(e *Entry) any { return optUTCTime{c.get(e)} }
func (c optTimeColumn) arg(e *Entry) any  { return *c.get(e) }

func (c optTimeColumn) appendHashed(b []byte, e *Entry) []byte {
	if t := *c.get(e); t != nil {
		return appendJSONString(b, timeText(*t))
	}
	return appendJSONString(b, "")
}

func (c optTimeColumn) text(e *Entry) string {
	if t := *c.get(e); t != nil {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return ""
}

// timeText is how times are hashed: UTC, microseconds (Postgres's precision).
func timeText(t time.Time) string { return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano) }

// intColumn is a NOT NULL integer column.
type intColumn[T int | int64] struct{ get func(*Entry) *T }

func (c intColumn[T]) dest(e *Entry) any { return c.get(e) }
func (c intColumn[T]) arg(e *Entry) any  { return *c.get(e) }
func (c intColumn[T]) appendHashed(b []byte, e *Entry) []byte {
	return strconv.AppendInt(b, int64(*c.get(e)), 10)
}
func (c intColumn[T]) text(e *Entry) string { return strconv.FormatInt(int64(*c.get(e)), 10) }

// optIntColumn is a nullable integer column held in a pointer; NULL is
// hashed as null.
type optIntColumn[T int | int64] struct{ get func(*Entry) **T }

func (c optIntColumn[T]) dest(e *Entry) any { return c.get(e) }
func (c optIntColumn[T]) arg(e *Entry) any  { return *c.get(e) }

func (c optIntColumn[T]) appendHashed(b []byte, e *Entry) []byte {
	if n := *c.get(e); n != nil {
		return strconv.AppendInt(b, int64(*n), 10)
	}
	return append(b, "null"...)
}

func (c optIntColumn[T]) text(e *Entry) string {
	if n := *c.get(e); n != nil {
		return strconv.FormatInt(int64(*n), 10)
	}
	return ""
}

// optBoolColumn is a nullable boolean column held in a *bool; NULL is
// hashed as null.
type optBoolColumn struct{ get func(*Entry) **bool }

func (c optBoolColumn) dest(e *Entry) any { return c.get(e) }
func (c optBoolColumn) arg(e *Entry) any  { return *c.get(e) }

func (c optBoolColumn) appendHashed(b []byte, e *Entry) []byte {
	if v := *c.get(e); v != nil {
		return strconv.AppendBool(b, *v)
	}
	return append(b, "null"...)
}

func (c optBoolColumn) text(e *Entry) string {
	if v := *c.get(e); v != nil {
		return strconv.FormatBool(*v)
	}
	return ""
}

// nullText scans a nullable text column into a string, NULL as "".
type nullText string

func (t *nullText) ScanText(v pgtype.Text) error {
	*t = nullText(v.String) // "" when !v.Valid
	return nil
}

// jsonText scans a text column of JSON into a json.RawMessage, NULL and ""
// as nil.
type jsonText []byte

func (j *jsonText) ScanText(v pgtype.Text) error {
	*j = nil
	if v.String != "" {
		*j = jsonText(v.String)
	}
	return nil
}

// jsonStringList scans a nullable text column of a JSON array of strings,
// NULL as an empty list.
type jsonStringList []string

func (j *jsonStringList) ScanText(v pgtype.Text) error {
	*j = jsonStringList{}
	if !v.Valid || v.String == "" {
		return nil
	}
	return json.Unmarshal([]byte(v.String), (*[]string)(j))
}

// utcTime scans a NOT NULL timestamptz as UTC, as it is hashed and shown.
type utcTime time.Time

func (t *utcTime) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid {
		return errors.New("NULL in a NOT NULL timestamp")
	}
	*t = utcTime(v.Time.UTC())
	return nil
}

// optUTCTime scans a nullable timestamptz into a *time.Time, as UTC.
type optUTCTime struct{ p **time.Time }

func (o optUTCTime) ScanTimestamptz(v pgtype.Timestamptz) error {
	*o.p = nil
	if v.Valid {
		t := v.Time.UTC()
		*o.p = &t
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json's
// Marshal wrote strings when format version 1 was defined (Go 1.26): <, >,
// & and U+2028/U+2029 as \u escapes; \b \f \n \r \t short; other control
// bytes as \u00xx; each invalid UTF-8 byte as \ufffd; everything else as
// it is. It is spelled out here, not delegated, so that what a hash covers
// never moves with a later encoding/json.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// tracesColumn is the attribution column: a nullable text column holding
// the CTS traces of an attribute entry as a JSON array in the audit's own
// encoding (storedTrace, appendTraces). An Entry holds it twice: as the
// text stored (attributionText), which is what is written, hashed and
// shown, and decoded (Attribution), for reading. Hashing the stored bytes,
// not a re-encoding of the decoded traces, makes any edit of the text an
// alteration Verify sees, and keeps every hash independent of cts.Trace. No
// traces are NULL, hashed as "" (as policy_before's NULL is).
type tracesColumn struct{}

func (tracesColumn) dest(e *Entry) any { return tracesText{e} }

func (c tracesColumn) arg(e *Entry) any {
	if s := c.text(e); s != "" {
		return s
	}
	return nil
}

func (c tracesColumn) appendHashed(b []byte, e *Entry) []byte {
	return appendJSONString(b, c.text(e))
}

// text is the stored text; an Entry built by hand rather than by Begin,
// Append or a scan has none, and stores its traces' encoding.
func (tracesColumn) text(e *Entry) string {
	if e.attributionText != "" || len(e.Attribution) == 0 {
		return e.attributionText
	}
	return string(appendTraces(nil, e.Attribution))
}

// storedTrace is one CTS trace as audit format 4 stores it in attribution:
// these keys, in this order, each a JSON string (appendJSONString), time in
// UTC as RFC 3339 with nanoseconds. It is part of the format: never change
// it; recording more of a trace is a new format version with a new field.
// It is the audit's own so that a change to cts.Trace changes no entry.
type storedTrace struct {
	TraceID    string `json:"trace_id"`
	TraceName  string `json:"trace_name"`
	ResourceID string `json:"resource_id"`
	User       string `json:"user"`
	SourceIP   string `json:"source_ip"`
	Time       string `json:"time"`
	RequestID  string `json:"request_id"`
}

// appendTraces appends traces as attribution stores them: a compact JSON
// array of storedTrace, spelled out here (as appendJSONString is) so that
// it never moves with cts.Trace or encoding/json.
func appendTraces(b []byte, traces []cts.Trace) []byte {
	b = append(b, '[')
	for i, t := range traces {
		if i > 0 {
			b = append(b, ',')
		}
		for j, kv := range [...][2]string{
			{"trace_id", t.TraceID},
			{"trace_name", t.TraceName},
			{"resource_id", t.ResourceID},
			{"user", t.User},
			{"source_ip", t.SourceIP},
			{"time", t.Time.UTC().Format(time.RFC3339Nano)},
			{"request_id", t.RequestID},
		} {
			if j == 0 {
				b = append(b, '{')
			} else {
				b = append(b, ',')
			}
			b = appendJSONString(b, kv[0])
			b = append(b, ':')
			b = appendJSONString(b, kv[1])
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// decodeTraces reads stored attribution text back into traces, times in
// UTC; nil for "". Text that is not an array of storedTrace reads as one
// trace naming it, so that it shows rather than fails to read (its hash,
// over the text, tells whether it was altered).
func decodeTraces(text string) []cts.Trace {
	if text == "" {
		return nil
	}
	var stored []storedTrace
	if err := json.Unmarshal([]byte(text), &stored); err != nil {
		return []cts.Trace{{TraceID: "unreadable: " + text}}
	}
	out := make([]cts.Trace, len(stored))
	for i, s := range stored {
		at, err := time.Parse(time.RFC3339Nano, s.Time)
		if err != nil {
			return []cts.Trace{{TraceID: "unreadable: " + text}}
		}
		out[i] = cts.Trace{TraceID: s.TraceID, TraceName: s.TraceName, ResourceID: s.ResourceID, User: s.User,
			SourceIP: s.SourceIP, Time: at.UTC(), RequestID: s.RequestID}
	}
	return out
}

// setAttribution records traces on an entry being built: the text to store
// and hash, and the traces as reading it back gives them (so the entry
// Begin returns equals the one Get reads).
func (e *Entry) setAttribution(traces []cts.Trace) {
	e.attributionText, e.Attribution = "", nil
	if len(traces) > 0 {
		e.attributionText = string(appendTraces(nil, traces))
		e.Attribution = decodeTraces(e.attributionText)
	}
}

// tracesText scans the attribution column into an entry: the text as
// stored (NULL as "") and its traces.
type tracesText struct{ e *Entry }

func (t tracesText) ScanText(v pgtype.Text) error {
	t.e.attributionText = v.String // "" when !v.Valid
	t.e.Attribution = decodeTraces(v.String)
	return nil
}
