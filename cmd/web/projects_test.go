package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/proctest"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// writeProjects writes a projects file and returns its path.
func writeProjects(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "projects.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestServeRefusesABadProjectsFileNamingTheLine(t *testing.T) {
	t.Parallel()
	path := writeProjects(t, `projects:
  - name: prod
    region: cn-north-4
    project_id: 0605767a3300d5762fb7c0186d9e1779
    credentials:
      ak: {env: PROD_AK}
      sk: {env: PROD_SK}
`)
	for _, args := range [][]string{{"serve", "--config", path}, {"serve"}} {
		env := map[string]string{"DATABASE_URL": "postgres://127.0.0.1:1/never-reached", "PROD_AK": "ak", "VPCEP_CONFIG": path}
		err := run(context.Background(), args, envOf(env), strings.NewReader(""), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), path+":7:") || !strings.Contains(err.Error(), "PROD_SK") {
			t.Errorf("web %v: err = %v, want the file's line 7 and PROD_SK named", args, err)
		}
	}
}

// TestServeProjectsFile serves two projects from a file, each at a
// simulator of its own, one with AK/SK from the environment and one as an
// IAM user whose password is in a file: both inventories are listed.
func TestServeProjectsFile(t *testing.T) {
	t.Parallel()
	user := vpcepsim.IAMUser{Name: "console", Password: "file-password-1", Domain: "acme"}
	a := simtest.Start(t, simtest.Options{Endpoints: vpcepsim.DemoEndpoints(1, time.Now())})
	b := simtest.Start(t, simtest.Options{ProjectID: "1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6",
		Endpoints: vpcepsim.RegionDemoEndpoints("ap-southeast-1", 2, time.Now()),
		IAM:       vpcepsim.IAMOptions{Users: []vpcepsim.IAMUser{user}}})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "password"), []byte(user.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "projects.yaml")
	body := fmt.Sprintf(`projects:
  - name: beijing
    region: cn-north-4
    project_id: %s
    endpoint: %s
    credentials:
      ak: {env: A_AK}
      sk: {env: A_SK}
  - name: singapore
    region: ap-southeast-1
    project_id: %s
    endpoint: %s
    iam_endpoint: %s
    credentials:
      iam_user:
        name: %s
        domain: %s
        password: {file: password}
`, a.ProjectID, a.URL, b.ProjectID, b.URL, b.URL, user.Name, user.Domain)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	dbURL := testdb.Migrated(t)
	addr := proctest.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	stderr := &proctest.LockedBuffer{}
	env := envOf(map[string]string{"DATABASE_URL": dbURL, "A_AK": a.AK, "A_SK": a.SK})
	go func() {
		done <- run(ctx, []string{"--config", path, "--listen", addr}, env, strings.NewReader(""), io.Discard, stderr)
	}()
	waitReady(t, "http://"+addr, done)
	pool := testdb.Pool(t, dbURL)
	waitInventory(t, store.NewProject(pool, a.ProjectID), 36)
	waitInventory(t, store.NewProject(pool, b.ProjectID), 36)
	if b.TokensIssued() == 0 {
		t.Error("the IAM project obtained no token")
	}
	for _, tok := range b.IssuedTokens() {
		if strings.Contains(stderr.String(), tok) {
			t.Fatal("an IAM token is in the log")
		}
	}
	if strings.Contains(stderr.String(), user.Password) || strings.Contains(stderr.String(), a.SK) {
		t.Fatal("a secret is in the log")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// TestServeRefusesGroupRolesOfUnknownProjects: a project named in
// OIDC_GROUP_ROLES that the console does not serve (a typo) stops the
// start, naming the variable and the project, before anything opens.
func TestServeRefusesGroupRolesOfUnknownProjects(t *testing.T) {
	t.Parallel()
	path := writeProjects(t, `projects:
  - name: prod
    region: cn-north-4
    project_id: 0605767a3300d5762fb7c0186d9e1779
    credentials:
      ak: {env: PROD_AK}
      sk: {env: PROD_SK}
`)
	env := map[string]string{"DATABASE_URL": "postgres://127.0.0.1:1/never-reached", "PROD_AK": "ak", "PROD_SK": "sk", "VPCEP_CONFIG": path,
		"OIDC_ISSUER": "https://idp.example", "OIDC_CLIENT_ID": "console", "OIDC_CLIENT_SECRET_ENV": "IDP_SECRET", "IDP_SECRET": "s3cret-value",
		"OIDC_REDIRECT_URL": "https://console.example/login/sso/callback", "OIDC_GROUP_ROLES": "netops=editor,auditors=viewer@prd"}
	err := run(context.Background(), []string{"serve"}, envOf(env), strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "OIDC_GROUP_ROLES") || !strings.Contains(err.Error(), "prd") || strings.Contains(err.Error(), "s3cret-value") {
		t.Errorf("err = %v, want OIDC_GROUP_ROLES and prd named, and no secret", err)
	}
}
