package audit

import (
	"reflect"
	"testing"
	"time"
)

// Every field of Filter is part of the cache key: a filter that differs
// from another in any one field never gets the other's cached page or
// count. A field added to Filter but not to keyOf fails here.
func TestCacheKeyCoversEveryFilterField(t *testing.T) {
	zero := keyOf(Filter{}, 0, 50)
	ft := reflect.TypeOf(Filter{})
	for i := range ft.NumField() {
		var f Filter
		field := reflect.ValueOf(&f).Elem().Field(i)
		switch field.Interface().(type) {
		case string:
			field.SetString("x")
		case time.Time:
			field.Set(reflect.ValueOf(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)))
		case []string:
			field.Set(reflect.ValueOf([]string{"x"}))
		default:
			t.Fatalf("Filter.%s: a field of a type this test does not know", ft.Field(i).Name)
		}
		if keyOf(f, 0, 50) == zero {
			t.Errorf("Filter.%s is not part of the cache key", ft.Field(i).Name)
		}
	}
}

func TestCacheKeyOfProjectIDs(t *testing.T) {
	key := func(ids []string) cacheKey { return keyOf(Filter{ProjectIDs: ids}, 0, 50) }
	if key(nil) == key([]string{}) {
		t.Error("every project (nil) and no project (empty) share a key")
	}
	if key([]string{"a", "b"}) != key([]string{"b", "a", "a"}) {
		t.Error("the same set of projects in another order has another key")
	}
	if key([]string{"a", "b"}) == key([]string{"ab"}) || key([]string{"a"}) == key([]string{"a", "b"}) {
		t.Error("different sets of projects share a key")
	}
}

func TestAllowsProject(t *testing.T) {
	tests := []struct {
		ids  []string
		want bool
	}{
		{nil, true},
		{[]string{}, false},
		{[]string{"a"}, true},
		{[]string{"b", "a"}, true},
		{[]string{"b"}, false},
	}
	for _, tt := range tests {
		if got := (Filter{ProjectIDs: tt.ids}).AllowsProject("a"); got != tt.want {
			t.Errorf("Filter{ProjectIDs: %#v}.AllowsProject(a) = %v, want %v", tt.ids, got, tt.want)
		}
	}
}
