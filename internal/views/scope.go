package views

import "context"

// prefixKey is where the request's project URL prefix travels to the
// templates, which all receive the request's context.
type prefixKey struct{}

// WithPrefix returns ctx carrying the URL prefix of the request's project:
// "/p/{name}" when the console serves several projects, "" with one.
func WithPrefix(ctx context.Context, prefix string) context.Context {
	return context.WithValue(ctx, prefixKey{}, prefix)
}

// Prefix is the URL prefix of the request's project ("" when none).
func Prefix(ctx context.Context) string {
	p, _ := ctx.Value(prefixKey{}).(string)
	return p
}

// at is path (which starts with "/") in the request's project.
func at(ctx context.Context, path string) string { return Prefix(ctx) + path }

// entryPrefixKey carries how to find the URL prefix of an audit entry's
// project: an entry links to its endpoint in its own project, whatever the
// page it is shown on.
type entryPrefixKey struct{}

// WithEntryPrefixes returns ctx carrying prefixOf, which maps an entry's
// project id and region to its project's URL prefix.
func WithEntryPrefixes(ctx context.Context, prefixOf func(projectID, region string) string) context.Context {
	return context.WithValue(ctx, entryPrefixKey{}, prefixOf)
}

// endpointOf is the URL of an entry's endpoint (plus rest) in the entry's
// project.
func endpointOf(ctx context.Context, projectID, region, endpointID, rest string) string {
	prefix := ""
	if f, ok := ctx.Value(entryPrefixKey{}).(func(string, string) string); ok {
		prefix = f(projectID, region)
	}
	return prefix + "/endpoints/" + endpointID + rest
}

// projectOf is the name of an entry's project when the console serves
// several ("" with one, or when it no longer serves the entry's).
func projectOf(ctx context.Context, projectID, region string) string {
	if f, ok := ctx.Value(entryPrefixKey{}).(func(string, string) string); ok {
		if prefix := f(projectID, region); len(prefix) > len("/p/") {
			return prefix[len("/p/"):]
		}
	}
	return ""
}
