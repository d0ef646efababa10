package policy

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// JSONError is why CheckJSON refused a document: what is wrong, where (the
// byte offset), and in which member (a path such as
// policy_statement[0].Condition, "" for the document itself).
type JSONError struct {
	Path   string
	Offset int
	Msg    string

	empty bool // nothing but white space: no JSON at all
}

func (e *JSONError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s at byte %d", e.Msg, e.Offset)
	}
	return fmt.Sprintf("%s: %s at byte %d", e.Path, e.Msg, e.Offset)
}

// maxJSONDepth bounds nesting: a policy is at most four levels deep
// (document, statements, statement, Condition operator, key, values).
const maxJSONDepth = 32

// CheckJSON checks that data is exactly one JSON value that encoding/json
// would read without losing or inventing anything: well-formed, valid
// UTF-8 (raw bytes and \u escapes alike: no lone surrogate such as
// \ud800), no NUL character (Postgres cannot keep one), no member name
// twice in one object at any depth (encoding/json silently keeps the last),
// and nothing after the value but white space. root names the value in
// error paths ("" for none).
//
// encoding/json replaces invalid UTF-8 and lone surrogates with U+FFFD and
// lets the last of two equal keys win: what the admin sent would not be
// what the console applies and records, so such input is refused instead.
func CheckJSON(data []byte, root string) error {
	s := &jsonScanner{data: data}
	s.space()
	if s.pos >= len(data) {
		return &JSONError{Path: root, Offset: s.pos, Msg: "the JSON is empty", empty: true}
	}
	if err := s.value(root, 0); err != nil {
		return err
	}
	s.space()
	if s.pos < len(data) {
		what := "value"
		switch firstNonSpace(data) {
		case '{':
			what = "object"
		case '[':
			what = "array"
		}
		return &JSONError{Path: root, Offset: s.pos, Msg: "unexpected data after the JSON " + what}
	}
	return nil
}

func firstNonSpace(data []byte) byte {
	for _, b := range data {
		if b != ' ' && b != '\t' && b != '\n' && b != '\r' {
			return b
		}
	}
	return 0
}

type jsonScanner struct {
	data []byte
	pos  int
}

func (s *jsonScanner) fail(path, format string, args ...any) error {
	return &JSONError{Path: path, Offset: s.pos, Msg: fmt.Sprintf(format, args...)}
}

func (s *jsonScanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *jsonScanner) value(path string, depth int) error {
	if depth > maxJSONDepth {
		return s.fail(path, "the JSON is nested more than %d levels deep", maxJSONDepth)
	}
	if s.pos >= len(s.data) {
		return s.fail(path, "the JSON ends too early")
	}
	switch c := s.data[s.pos]; {
	case c == '{':
		return s.object(path, depth)
	case c == '[':
		return s.array(path, depth)
	case c == '"':
		_, err := s.str(path)
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number(path)
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if len(s.data)-s.pos >= len(lit) && string(s.data[s.pos:s.pos+len(lit)]) == lit {
				s.pos += len(lit)
				return nil
			}
		}
		return s.fail(path, "invalid character %s looking for a JSON value", quoteByte(s.data, s.pos))
	}
}

func quoteByte(data []byte, pos int) string {
	r, _ := utf8.DecodeRune(data[pos:])
	if r == utf8.RuneError {
		return fmt.Sprintf("byte 0x%02x", data[pos])
	}
	return strconv.QuoteRune(r)
}

func (s *jsonScanner) object(path string, depth int) error {
	s.pos++ // {
	seen := map[string]bool{}
	s.space()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		s.space()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			if s.pos >= len(s.data) {
				return s.fail(path, "the JSON ends inside an object")
			}
			return s.fail(path, "expected a member name in quotes, found %s", quoteByte(s.data, s.pos))
		}
		at := s.pos
		name, err := s.str(path)
		if err != nil {
			return err
		}
		member := memberPath(path, name)
		if seen[name] {
			return &JSONError{Path: member, Offset: at, Msg: fmt.Sprintf("duplicate key %q: each name may appear only once in an object", name)}
		}
		seen[name] = true
		s.space()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.fail(member, "expected ':' after the member name")
		}
		s.pos++
		s.space()
		if err := s.value(member, depth+1); err != nil {
			return err
		}
		s.space()
		if s.pos >= len(s.data) {
			return s.fail(path, "the JSON ends inside an object")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.fail(path, "expected ',' or '}' after an object member, found %s", quoteByte(s.data, s.pos))
		}
	}
}

func (s *jsonScanner) array(path string, depth int) error {
	s.pos++ // [
	s.space()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for i := 0; ; i++ {
		s.space()
		if err := s.value(fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
			return err
		}
		s.space()
		if s.pos >= len(s.data) {
			return s.fail(path, "the JSON ends inside an array")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.fail(path, "expected ',' or ']' after an array element, found %s", quoteByte(s.data, s.pos))
		}
	}
}

// memberPath is path.name, or path["name"] when name is not a plain word.
func memberPath(path, name string) string {
	plain := name != ""
	for _, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	switch {
	case plain && path == "":
		return name
	case plain:
		return path + "." + name
	}
	return path + "[" + strconv.Quote(name) + "]"
}

// str scans a string and returns its text.
func (s *jsonScanner) str(path string) (string, error) {
	s.pos++ // "
	var out []byte
	for {
		if s.pos >= len(s.data) {
			return "", s.fail(path, "the JSON ends inside a string")
		}
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return string(out), nil
		case c < 0x20:
			return "", s.fail(path, "control character 0x%02x in a string (write it as \\u%04x)", c, c)
		case c == '\\':
			r, err := s.escape(path)
			if err != nil {
				return "", err
			}
			out = utf8.AppendRune(out, r)
		case c < utf8.RuneSelf:
			out = append(out, c)
			s.pos++
		default:
			r, n := utf8.DecodeRune(s.data[s.pos:])
			if r == utf8.RuneError && n <= 1 {
				return "", s.fail(path, "invalid UTF-8 (byte 0x%02x) in a string", c)
			}
			out = append(out, s.data[s.pos:s.pos+n]...)
			s.pos += n
		}
	}
}

// escape reads one escape sequence, a surrogate pair as one.
func (s *jsonScanner) escape(path string) (rune, error) {
	if s.pos+1 >= len(s.data) {
		return 0, s.fail(path, "the JSON ends inside a string")
	}
	switch e := s.data[s.pos+1]; e {
	case '"', '\\', '/':
		s.pos += 2
		return rune(e), nil
	case 'b':
		s.pos += 2
		return '\b', nil
	case 'f':
		s.pos += 2
		return '\f', nil
	case 'n':
		s.pos += 2
		return '\n', nil
	case 'r':
		s.pos += 2
		return '\r', nil
	case 't':
		s.pos += 2
		return '\t', nil
	case 'u':
		r, ok := s.hex4(s.pos + 2)
		if !ok {
			return 0, s.fail(path, `invalid \u escape: four hex digits must follow`)
		}
		switch {
		case r == 0:
			return 0, s.fail(path, `the NUL character (\u0000) is not allowed`)
		case utf16.IsSurrogate(r) && r < 0xdc00:
			lo, ok := s.hex4(s.pos + 8)
			if !ok || s.data[s.pos+6] != '\\' || s.data[s.pos+7] != 'u' || lo < 0xdc00 || lo > 0xdfff {
				return 0, s.fail(path, `lone surrogate \u%04x: a high surrogate must be followed by a low one`, r)
			}
			s.pos += 12
			return utf16.DecodeRune(r, lo), nil
		case utf16.IsSurrogate(r):
			return 0, s.fail(path, `lone surrogate \u%04x: a low surrogate must follow a high one`, r)
		}
		s.pos += 6
		return r, nil
	}
	return 0, s.fail(path, "invalid escape %s in a string", quoteByte(s.data, s.pos+1))
}

// hex4 reads four hex digits at i.
func (s *jsonScanner) hex4(i int) (rune, bool) {
	if i+4 > len(s.data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(s.data[i:i+4]), 16, 32)
	if err != nil { // ParseUint takes no sign, and with base 16 no "0x" or "_"
		return 0, false
	}
	return rune(n), true
}

func (s *jsonScanner) number(path string) error {
	start := s.pos
	if s.data[s.pos] == '-' {
		s.pos++
	}
	digits := func() int {
		n := 0
		for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	switch {
	case s.pos < len(s.data) && s.data[s.pos] == '0':
		s.pos++
	case digits() == 0:
		return s.fail(path, "invalid number")
	}
	if s.pos < len(s.data) && s.data[s.pos] == '.' {
		s.pos++
		if digits() == 0 {
			return s.fail(path, "invalid number: digits must follow the decimal point")
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if digits() == 0 {
			return s.fail(path, "invalid number: digits must follow the exponent")
		}
	}
	if s.pos-start > 100 {
		s.pos = start
		return s.fail(path, "a number of more than 100 characters")
	}
	return nil
}
