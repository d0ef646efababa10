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

// tracesColumn is a nullable text column holding a list of CTS traces as
// compact JSON, held in a []cts.Trace: an empty list is stored as NULL,
// hashed as [] and shown as "". Times are kept in UTC, so that the JSON
// read back encodes to the bytes that were hashed.
type tracesColumn struct{ get func(*Entry) *[]cts.Trace }

func (c tracesColumn) dest(e *Entry) any { return (*jsonTraces)(c.get(e)) }

func (c tracesColumn) arg(e *Entry) any {
	if len(*c.get(e)) == 0 {
		return nil
	}
	return c.text(e)
}

func (c tracesColumn) appendHashed(b []byte, e *Entry) []byte {
	if len(*c.get(e)) == 0 {
		return append(b, "[]"...)
	}
	return append(b, c.text(e)...)
}

func (c tracesColumn) text(e *Entry) string {
	if len(*c.get(e)) == 0 {
		return ""
	}
	out, err := json.Marshal(*c.get(e))
	if err != nil {
		return ""
	}
	return string(out)
}

// jsonTraces scans a nullable text column of a JSON array of traces, NULL
// as nil. Text that is not such an array reads as one trace naming it, so
// that Verify reports the entry as altered rather than failing to read it.
type jsonTraces []cts.Trace

func (j *jsonTraces) ScanText(v pgtype.Text) error {
	*j = nil
	if !v.Valid || v.String == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(v.String), (*[]cts.Trace)(j)); err != nil {
		*j = jsonTraces{{TraceID: "unreadable: " + v.String}}
	}
	return nil
}

// utcTraces is traces with their times in UTC (see tracesColumn).
func utcTraces(traces []cts.Trace) []cts.Trace {
	if len(traces) == 0 {
		return nil
	}
	out := make([]cts.Trace, len(traces))
	for i, t := range traces {
		t.Time = t.Time.UTC()
		out[i] = t
	}
	return out
}
