// Package static embeds the console's CSS, JavaScript and vendored front-end
// libraries, so the binary serves them itself and works offline.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"sync"
)

// FS holds the assets, served under /static/.
//
//go:embed app.css copy.js editor.js favicon.svg vendor
var FS embed.FS

var (
	versionsOnce sync.Once
	versions     map[string]string
)

// Path returns the URL of an asset with a content hash in its query, so the
// server can let browsers cache assets for a year and still roll out changes.
func Path(name string) string {
	return "/static/" + name + "?v=" + version(name)
}

// IsCurrent reports whether v is the content hash of the asset name as this
// binary serves it: only such a URL may be cached for a year.
func IsCurrent(name, v string) bool {
	want := version(name)
	return want != "" && v == want
}

// version is the content hash of an asset, "" for no such asset.
func version(name string) string {
	versionsOnce.Do(func() {
		versions = map[string]string{}
		_ = fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := FS.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			versions[p] = hex.EncodeToString(sum[:6])
			return nil
		})
	})
	return versions[name]
}
