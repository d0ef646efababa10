package handlers

import (
	"errors"
	"time"
)

// timeLayouts are the ways a time filter may be written; every one is read
// as UTC, the time the data is kept in.
var timeLayouts = []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05", time.RFC3339}

// timeHint says how to write a time filter, for the error at the field.
const timeHint = "write it as 2026-11-27 or 2026-11-27 10:00 (UTC), or RFC 3339"

// parseFilterTime reads a "from" (end false) or "to" (end true) filter: a
// time is that instant; a bare date is the start of that day for "from"
// and the end of it for "to", so "from 2026-11-01 to 2026-11-30" includes
// the 30th, as a person means it. "" is no bound.
func parseFilterTime(v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, time.UTC); err == nil {
		if end {
			return t.AddDate(0, 0, 1), nil
		}
		return t, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a time: " + timeHint)
}
