package projects_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/projects"
)

const (
	pidA = "0605767a3300d5762fb7c0186d9e1779"
	pidB = "1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6"
	pidC = "abcdefabcdefabcdefabcdefabcdef01"
)

// env is a fake environment.
func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// writeConfig writes body as projects.yaml, with a secret file next to it,
// and returns the file's path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sk.txt"), []byte("file-sk-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.txt"), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "projects.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var goodEnv = map[string]string{
	"PROD_AK": "env-ak-value", "EU_PASSWORD": "env-password-value", "AP_TOKEN": "env-token-value",
}

const goodFile = `
projects:
  - name: prod-cn
    region: cn-north-4
    project_id: 0605767a3300d5762fb7c0186d9e1779
    cts_endpoint: https://cts.cn-north-4.myhuaweicloud.com
    credentials:
      ak: {env: PROD_AK}
      sk: {file: sk.txt}
  - name: eu
    region: eu-west-101
    project_id: 1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6
    credentials:
      iam_user:
        name: console
        domain: acme
        password: {env: EU_PASSWORD}
  - name: lab
    region: xx-lab-1
    project_id: abcdefabcdefabcdefabcdefabcdef01
    endpoint: https://vpcep.lab.example.com/
    iam_endpoint: http://127.0.0.1:9999
    credentials:
      token: {env: AP_TOKEN}
`

func TestLoadGoodFile(t *testing.T) {
	t.Parallel()
	cfg, err := projects.Load(writeConfig(t, goodFile), env(goodEnv))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []projects.Project{
		{
			Name: "prod-cn", Region: "cn-north-4", ProjectID: pidA,
			Endpoint:    "https://vpcep.cn-north-4.myhuaweicloud.com",
			IAMEndpoint: "https://iam.cn-north-4.myhuaweicloud.com",
			CTSEndpoint: "https://cts.cn-north-4.myhuaweicloud.com",
			Credentials: projects.Credentials{Kind: projects.CredentialAKSK, AK: "env-ak-value", SK: "file-sk-value"},
			Line:        3,
		},
		{
			// Outside myhuaweicloud.com: both endpoints from the SDK's tables.
			Name: "eu", Region: "eu-west-101", ProjectID: pidB,
			Endpoint:    "https://vpcep.eu-west-101.myhuaweicloud.eu",
			IAMEndpoint: "https://iam.eu-west-101.myhuaweicloud.eu",
			Credentials: projects.Credentials{Kind: projects.CredentialIAMUser, IAMUser: projects.IAMUser{
				Name: "console", Domain: "acme", Password: "env-password-value",
			}},
			Line: 10,
		},
		{
			Name: "lab", Region: "xx-lab-1", ProjectID: pidC,
			Endpoint:    "https://vpcep.lab.example.com",
			IAMEndpoint: "http://127.0.0.1:9999",
			Credentials: projects.Credentials{Kind: projects.CredentialToken, Token: "env-token-value"},
			Line:        18,
		},
	}
	if diff := cmp.Diff(want, cfg.Projects); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

// project is one project's YAML with the given credentials block (indented
// under credentials:) and extra keys.
func project(name, extra, creds string) string {
	return fmt.Sprintf("  - name: %s\n    region: cn-north-4\n    project_id: %s\n%s    credentials:\n%s", name, pidA, extra, creds)
}

const aksk = "      ak: {env: PROD_AK}\n      sk: {file: sk.txt}\n"

func TestLoadRefusesBadFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		// want are the substrings the error must contain, each.
		want []string
	}{
		{
			name: "unset environment variable",
			body: "projects:\n" + project("p1", "", "      ak: {env: NOT_SET}\n      sk: {file: sk.txt}\n"),
			want: []string{":6:", `project "p1"`, "credentials.ak", "NOT_SET is not set"},
		},
		{
			name: "missing file",
			body: "projects:\n" + project("p1", "", "      ak: {env: PROD_AK}\n      sk: {file: nowhere.txt}\n"),
			want: []string{":7:", `project "p1"`, "credentials.sk", "cannot read nowhere.txt", "no such file"},
		},
		{
			name: "empty file",
			body: "projects:\n" + project("p1", "", "      token: {file: empty.txt}\n"),
			want: []string{":6:", `project "p1"`, "credentials.token", "empty.txt is empty"},
		},
		{
			name: "both env and file",
			body: "projects:\n" + project("p1", "", "      token: {env: AP_TOKEN, file: sk.txt}\n"),
			want: []string{":6:", "credentials.token", "exactly one of"},
		},
		{
			name: "unknown key in a reference",
			body: "projects:\n" + project("p1", "", "      token: {vault: x}\n"),
			want: []string{":6:", "credentials.token", `unknown key "vault"`},
		},
		{
			name: "literal AK",
			body: "projects:\n" + project("p1", "", "      ak: AKLITERALVALUE000000\n      sk: {file: sk.txt}\n"),
			want: []string{":6:", `project "p1"`, "credentials.ak", "never written in the file"},
		},
		{
			name: "literal password",
			body: "projects:\n" + project("p1", "", "      iam_user:\n        name: u\n        domain: d\n        password: hunter2\n"),
			want: []string{":9:", "credentials.iam_user.password", "never written in the file"},
		},
		{
			name: "unknown field",
			body: "projects:\n" + project("p1", "    regoin: cn-north-1\n", aksk),
			want: []string{"projects.yaml:5: field regoin not found in a project (want name, region,"},
		},
		{
			name: "unknown credentials field",
			body: "projects:\n" + project("p1", "", "      password: {env: X}\n"),
			want: []string{"projects.yaml:6: field password not found in credentials"},
		},
		{
			name: "projects not a list",
			body: "projects: prod\n",
			want: []string{"projects.yaml:1:", "into the list of projects"},
		},
		{
			name: "malformed YAML",
			body: "projects:\n  - name: p1\n    region: cn-north-4: x\n",
			want: []string{"projects.yaml:3: mapping values are not allowed"},
		},
		{
			name: "duplicate key",
			body: "projects:\n  - name: p1\n    region: cn-north-4\n    region: x\n",
			want: []string{"projects.yaml:4:", `"region" already defined at line 3`},
		},
		{
			name: "duplicate names",
			body: "projects:\n" + project("p1", "", aksk) + project("p1", "", aksk),
			want: []string{":8:", `project "p1"`, "already used by the project at line 2"},
		},
		{
			name: "duplicate project ids",
			body: "projects:\n" + project("p1", "", aksk) + project("p2", "", aksk),
			want: []string{":10:", `project "p2"`, "project_id", "already the project id of p1 (line 2)"},
		},
		{
			name: "name not a slug",
			body: "projects:\n" + project("Prod CN", "", aksk),
			want: []string{":2:", "name", `"Prod CN" is not a slug`},
		},
		{
			name: "bad project id",
			body: "projects:\n  - name: p1\n    region: cn-north-4\n    project_id: 1234\n    credentials:\n" + aksk,
			want: []string{":4:", "project_id", `"1234" is not a project id`},
		},
		{
			name: "unknown region without endpoint",
			body: "projects:\n  - name: p1\n    region: mars-north-1\n    project_id: " + pidA + "\n    credentials:\n" + aksk,
			want: []string{":3:", `project "p1"`, "region", "mars-north-1", "give the project an endpoint"},
		},
		{
			name: "iam_user in a region IAM does not know",
			body: "projects:\n  - name: p1\n    region: mars-north-1\n    endpoint: https://vpcep.mars.example\n    project_id: " + pidA +
				"\n    credentials:\n      iam_user: {name: u, domain: d, password: {env: EU_PASSWORD}}\n",
			want: []string{":7:", `project "p1"`, "iam_endpoint"},
		},
		{
			name: "plain http endpoint",
			body: "projects:\n" + project("p1", "    endpoint: http://vpcep.example.com\n", aksk),
			want: []string{":5:", "endpoint", "must be https"},
		},
		{
			name: "ak without sk",
			body: "projects:\n" + project("p1", "", "      ak: {env: PROD_AK}\n"),
			want: []string{`project "p1"`, "ak and sk go together"},
		},
		{
			name: "two kinds of credentials",
			body: "projects:\n" + project("p1", "", aksk+"      token: {env: AP_TOKEN}\n"),
			want: []string{`project "p1"`, "exactly one of"},
		},
		{
			name: "no credentials",
			body: "projects:\n  - name: p1\n    region: cn-north-4\n    project_id: " + pidA + "\n",
			want: []string{":2:", `project "p1"`, "credentials", "required"},
		},
		{
			name: "empty file",
			body: "# nothing yet\n",
			want: []string{"projects.yaml: the file is empty"},
		},
		{
			name: "no projects",
			body: "projects: []\n",
			want: []string{"no projects"},
		},
		{
			name: "anchor and merge key",
			body: "base: &base\n  region: cn-north-4\nprojects:\n  - <<: *base\n    name: p1\n    project_id: " + pidA + "\n    credentials:\n" + aksk,
			want: []string{"projects.yaml:1:7:", "anchors, aliases and merge keys are not supported"},
		},
		{
			name: "inline merge key",
			body: "projects:\n  - <<: {region: cn-north-4}\n    name: p1\n    project_id: " + pidA + "\n    credentials:\n" + aksk,
			want: []string{"projects.yaml:2:", "anchors, aliases and merge keys are not supported"},
		},
		{
			name: "alias bomb",
			body: "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nprojects:\n" + project("p1", "", aksk),
			want: []string{"projects.yaml:1:4:", "anchors, aliases and merge keys are not supported"},
		},
		{
			name: "a second document",
			body: "projects:\n" + project("p1", "", aksk) + "---\nprojects:\n" + project("p2", "", aksk),
			want: []string{"projects.yaml:8:", "a second YAML document"},
		},
		{
			name: "a key twice in a reference",
			body: "projects:\n" + project("p1", "", "      token: {env: AP_TOKEN, env: PROD_AK}\n"),
			want: []string{":6:", "credentials.token", "env given twice"},
		},
		{
			name: "user and password in an endpoint",
			body: "projects:\n" + project("p1", "    endpoint: https://admin:pa55word@vpcep.example.com\n", aksk),
			want: []string{":5:", "endpoint", "must not hold a user or password"},
		},
		{
			name: "a path in an endpoint",
			body: "projects:\n" + project("p1", "    cts_endpoint: https://cts.example.com/v3/\n", aksk),
			want: []string{":5:", "cts_endpoint", "without a path"},
		},
		{
			name: "secret file is a directory",
			body: "projects:\n" + project("p1", "", "      token: {file: .}\n"),
			want: []string{":6:", "credentials.token", "cannot read .", "is a directory"},
		},
		{
			name: "secret file is a device",
			body: "projects:\n" + project("p1", "", "      token: {file: /dev/zero}\n"),
			want: []string{":6:", "credentials.token", "not a regular file"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := projects.Load(writeConfig(t, tt.body), env(goodEnv))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, secret := range goodEnv {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q reveals a secret", err)
				}
			}
			for _, literal := range []string{"hunter2", "AKLITERALVALUE000000", "file-sk-value", "pa55word"} {
				if strings.Contains(err.Error(), literal) {
					t.Errorf("error %q reveals the secret %q", err, literal)
				}
			}
		})
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	t.Parallel()
	body := "projects:\n" + project("p1", "", "      ak: {env: NOT_SET}\n      sk: {env: ALSO_NOT_SET}\n")
	_, err := projects.Load(writeConfig(t, body), env(nil))
	for _, w := range []string{"NOT_SET", "ALSO_NOT_SET"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not name %s", err, w)
		}
	}
}

// TestLoadReportsTwentyProblems: past 20 problems, the rest are counted.
func TestLoadReportsTwentyProblems(t *testing.T) {
	t.Parallel()
	body := "projects:\n"
	for i := range 25 {
		body += fmt.Sprintf("  - name: p%d\n    region: cn-north-4\n    project_id: bad\n    credentials:\n%s", i, aksk)
	}
	_, err := projects.Load(writeConfig(t, body), env(goodEnv))
	if err == nil || strings.Count(err.Error(), "is not a project id") != 20 || !strings.HasSuffix(err.Error(), "…and 5 more") {
		t.Errorf("error %v, want 20 problems and …and 5 more", err)
	}
}

// TestLoadSizeLimits: a projects file over 1 MiB and a secret file over
// 64 KiB are refused, neither read whole.
func TestLoadSizeLimits(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "projects:\n"+project("p1", "", "      token: {file: big.txt}\n"))
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "big.txt"), bytes.Repeat([]byte("t"), 64<<10+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := projects.Load(path, env(goodEnv)); err == nil || !strings.Contains(err.Error(), "larger than 64 KiB") {
		t.Errorf("a 64 KiB + 1 secret file: %v, want refused", err)
	}
	big := writeConfig(t, "projects:\n"+project("p1", "", aksk)+"#"+strings.Repeat("x", 1<<20)+"\n")
	if _, err := projects.Load(big, env(goodEnv)); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("a projects file over 1 MiB: %v, want refused", err)
	}
}

// TestLoadKeepsSpacesInSecrets: only the line breaks around a secret are
// trimmed; a password may start or end with a space.
func TestLoadKeepsSpacesInSecrets(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "projects:\n"+project("p1", "", "      token: {file: spaced.txt}\n")+
		strings.Replace(project("p2", "", "      token: {env: SPACED}\n"), pidA, pidB, 1))
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "spaced.txt"), []byte(" tok en \r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := projects.Load(path, env(map[string]string{"SPACED": "\tpass word \n"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Projects[0].Credentials.Token.Reveal(); got != " tok en " {
		t.Errorf("file secret %q, want %q", got, " tok en ")
	}
	if got := cfg.Projects[1].Credentials.Token.Reveal(); got != "\tpass word " {
		t.Errorf("env secret %q, want %q", got, "\tpass word ")
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := projects.Load(filepath.Join(t.TempDir(), "absent.yaml"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Errorf("error = %v, want one naming the file", err)
	}
}

func TestSecretsDoNotPrintOrLog(t *testing.T) {
	t.Parallel()
	cfg, err := projects.Load(writeConfig(t, goodFile), env(goodEnv))
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	for _, p := range cfg.Projects {
		logger.Info("project", "credentials", p.Credentials, "project", p)
		fmt.Fprintf(&logged, "%v %+v %#v %s\n", p, p, p, p.Credentials)
	}
	for _, secret := range append([]string{"file-sk-value"}, values(goodEnv)...) {
		if strings.Contains(logged.String(), secret) {
			t.Errorf("output reveals %q:\n%s", secret, logged.String())
		}
	}
	if got := cfg.Projects[0].Credentials.SK.Reveal(); got != "file-sk-value" {
		t.Errorf("Reveal = %q", got)
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestExampleFileLoads keeps the documented example working.
func TestExampleFileLoads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	body, err := os.ReadFile("testdata/projects.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "sk")
	if err := os.WriteFile(secret, []byte("sk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "projects.yaml")
	body = []byte(strings.Replace(string(body), "/run/secrets/prod_beijing_sk", secret, 1))
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := projects.Load(path, env(map[string]string{
		"PROD_BEIJING_AK": "ak", "PROD_DUBLIN_IAM_PASSWORD": "pw", "LAB_TOKEN": "tok",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var kinds []projects.CredentialKind
	for _, p := range cfg.Projects {
		kinds = append(kinds, p.Credentials.Kind)
	}
	want := []projects.CredentialKind{projects.CredentialAKSK, projects.CredentialIAMUser, projects.CredentialToken}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}
