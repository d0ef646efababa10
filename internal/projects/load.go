package projects

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The file's shape. Decoding is strict (KnownFields): a misspelt key is an
// error naming its line, not a setting silently ignored.
type rawFile struct {
	Projects []rawProject `yaml:"projects"`
}

type rawProject struct {
	Name        string         `yaml:"name"`
	Region      string         `yaml:"region"`
	ProjectID   string         `yaml:"project_id"`
	Endpoint    string         `yaml:"endpoint"`
	IAMEndpoint string         `yaml:"iam_endpoint"`
	CTSEndpoint string         `yaml:"cts_endpoint"`
	Credentials rawCredentials `yaml:"credentials"`
}

type rawCredentials struct {
	AK      *secretRef  `yaml:"ak"`
	SK      *secretRef  `yaml:"sk"`
	Token   *secretRef  `yaml:"token"`
	IAMUser *rawIAMUser `yaml:"iam_user"`
}

type rawIAMUser struct {
	Name     string     `yaml:"name"`
	Password *secretRef `yaml:"password"`
	Domain   string     `yaml:"domain"`
}

// secretRef says where a secret is: {env: NAME} or {file: PATH}. A scalar
// in its place is a secret written in the file, kept (as Literal, without
// its value) only to be refused with its line.
type secretRef struct {
	Env, File    string
	Literal      bool
	Line, Column int
	problem      string // a malformed reference, said at its line
}

// UnmarshalYAML reads a reference strictly: one of env or file, nothing else.
func (r *secretRef) UnmarshalYAML(n *yaml.Node) error {
	r.Line, r.Column = n.Line, n.Column
	if n.Kind != yaml.MappingNode {
		r.Literal = true
		return nil
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if line, dup := seen[key.Value]; dup {
			r.problem = fmt.Sprintf("%s given twice (first at line %d)", key.Value, line)
			continue
		}
		seen[key.Value] = key.Line
		if value.Kind != yaml.ScalarNode {
			r.problem = fmt.Sprintf("%s must be a string", key.Value)
			continue
		}
		switch key.Value {
		case "env":
			r.Env = value.Value
		case "file":
			r.File = value.Value
		default:
			r.problem = fmt.Sprintf("unknown key %q (want env or file)", key.Value)
		}
	}
	if r.problem == "" && (r.Env == "") == (r.File == "") {
		r.problem = "give exactly one of {env: NAME} or {file: PATH}"
	}
	return nil
}

// Size limits: a projects file lists a few projects, and a secret file
// holds one key, token or password.
const (
	maxFileSize   = 1 << 20
	maxSecretSize = 64 << 10
	// maxProblems are reported, then how many more there are.
	maxProblems = 20
)

// Load reads the projects file at path. Secrets are read from where it
// points: an environment variable through getenv, or a regular file (a
// relative path is taken from the configuration file's directory; line
// breaks around the value, such as a final newline, are trimmed). The
// first maxProblems problems are reported, each naming the file, line and
// column and, past the syntax, the project and field.
func Load(path string, getenv func(string) string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("projects file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("projects file: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: the file is larger than 1 MiB: not a projects file", path)
	}
	return parse(path, data, getenv)
}

func parse(path string, data []byte, getenv func(string) string) (*Config, error) {
	var doc yaml.Node
	nodes := yaml.NewDecoder(bytes.NewReader(data))
	if err := nodes.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(path, err)
	}
	var second yaml.Node
	if err := nodes.Decode(&second); err == nil {
		return nil, fmt.Errorf("%s:%d: a second YAML document (after ---): the file is one document", path, max(second.Line, 1))
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(path, err)
	}
	// Before decoding, which would expand them: an alias is a way to
	// build an enormous document from a small file, and a merge key
	// (<<: *anchor) hides where a project's fields come from.
	if n := firstAnchorOrAlias(&doc); n != nil {
		return nil, fmt.Errorf("%s:%d:%d: anchors, aliases and merge keys are not supported: write each project in full", path, n.Line, n.Column)
	}
	var raw rawFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the file is empty (it lists projects under the key projects)", path)
		}
		return nil, yamlError(path, err)
	}
	if len(raw.Projects) == 0 {
		return nil, fmt.Errorf("%s: no projects (the file lists them under the key projects)", path)
	}
	items := projectNodes(&doc)
	r := resolver{path: path, dir: filepath.Dir(path), getenv: getenv}
	cfg := &Config{}
	firstLine := map[string]int{}
	// A project id is the project's key in the database: two entries with
	// one id would share, and overwrite, one inventory.
	idOwner := map[string]Project{}
	for i, rp := range raw.Projects {
		node := &yaml.Node{Line: 1, Column: 1}
		if i < len(items) {
			node = items[i]
		}
		p := r.project(rp, node)
		if first, ok := firstLine[p.Name]; ok && p.Name != "" {
			r.errorf(fieldNode(node, "name"), p.Name, "name", "already used by the project at line %d: names must be unique", first)
		} else {
			firstLine[p.Name] = node.Line
		}
		if owner, ok := idOwner[p.ProjectID]; ok && projectIDPattern.MatchString(p.ProjectID) {
			r.errorf(fieldNode(node, "project_id"), p.Name, "project_id", "%s is already the project id of %s (line %d): each project is listed once", p.ProjectID, owner.Name, owner.Line)
		} else {
			idOwner[p.ProjectID] = p
		}
		cfg.Projects = append(cfg.Projects, p)
	}
	if len(r.errs) > 0 {
		return nil, joinProblems(r.errs)
	}
	return cfg, nil
}

// joinProblems joins the first maxProblems of errs, then says how many
// more there are.
func joinProblems(errs []error) error {
	if len(errs) > maxProblems {
		errs = append(errs[:maxProblems:maxProblems], fmt.Errorf("…and %d more", len(errs)-maxProblems))
	}
	return errors.Join(errs...)
}

// firstAnchorOrAlias is the first node under n that has an anchor, is an
// alias or is a merge key, or nil.
func firstAnchorOrAlias(n *yaml.Node) *yaml.Node {
	if n.Anchor != "" || n.Kind == yaml.AliasNode || (n.Kind == yaml.ScalarNode && n.Tag == "!!merge") {
		return n
	}
	for _, c := range n.Content {
		if found := firstAnchorOrAlias(c); found != nil {
			return found
		}
	}
	return nil
}

// yamlLinePrefix is how yaml.v3 starts a message that has a line.
var yamlLinePrefix = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// rawTypeNames says where a key belongs in the file's words rather than
// the decoder's Go types.
var rawTypeNames = strings.NewReplacer(
	"in type projects.rawFile", "at the top level (want projects)",
	"in type projects.rawProject", "in a project (want name, region, project_id, endpoint, iam_endpoint, cts_endpoint, credentials)",
	"in type projects.rawCredentials", "in credentials (want ak and sk, token, or iam_user)",
	"in type projects.rawIAMUser", "in iam_user (want name, password, domain)",
	"into projects.rawFile", "into the file's top level",
	"into projects.rawProject", "into a project",
	"into projects.rawCredentials", "into credentials",
	"into projects.rawIAMUser", "into iam_user",
	"into []projects.rawProject", "into the list of projects",
)

// yamlError names the file in a parser or decoder error, each of its
// messages as path:line: message.
func yamlError(path string, err error) error {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	out := make([]error, 0, len(msgs))
	for _, m := range msgs {
		m = rawTypeNames.Replace(m)
		if sub := yamlLinePrefix.FindStringSubmatch(m); sub != nil {
			m = path + ":" + sub[1] + ": " + m[len(sub[0]):]
		} else {
			m = path + ": " + strings.TrimPrefix(m, "yaml: ")
		}
		out = append(out, errors.New(m))
	}
	return joinProblems(out)
}

// projectNodes are the nodes of the projects list's items, in order, for
// the lines of what is wrong in them.
func projectNodes(doc *yaml.Node) []*yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	list := fieldNode(doc.Content[0], "projects")
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil
	}
	return list.Content
}

// fieldNode is the value at keys under the mapping n, or nil.
func fieldNode(n *yaml.Node, keys ...string) *yaml.Node {
	for _, key := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}

// resolver checks projects and reads their secrets, keeping every problem.
type resolver struct {
	path   string
	dir    string
	getenv func(string) string
	errs   []error
}

// errorf records a problem with field of project name, at n (or, when the
// field is absent, wherever the caller points).
func (r *resolver) errorf(n *yaml.Node, name, field, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	who := fmt.Sprintf("project %q", name)
	if name == "" {
		who = "project"
	}
	r.errs = append(r.errs, fmt.Errorf("%s:%d:%d: %s: %s: %s", r.path, line, col, who, field, fmt.Sprintf(format, args...)))
}

func (r *resolver) project(rp rawProject, node *yaml.Node) Project {
	p := Project{
		Name: rp.Name, Region: rp.Region, ProjectID: rp.ProjectID,
		Endpoint: strings.TrimRight(rp.Endpoint, "/"), IAMEndpoint: strings.TrimRight(rp.IAMEndpoint, "/"),
		CTSEndpoint: strings.TrimRight(rp.CTSEndpoint, "/"), Line: node.Line,
	}
	at := func(keys ...string) *yaml.Node {
		if n := fieldNode(node, keys...); n != nil {
			return n
		}
		return node
	}
	switch {
	case p.Name == "":
		r.errorf(node, "", "name", "is required")
	case !ValidName(p.Name):
		r.errorf(at("name"), "", "name", "%q is not a slug (lower-case letters, digits and inner hyphens, at most 63): it becomes the URL prefix /p/{name}/", p.Name)
		p.Name = "" // said once, here; not again in every message below
	}
	name := p.Name
	switch {
	case p.Region == "":
		r.errorf(at("region"), name, "region", "is required (e.g. cn-north-4)")
	case p.Endpoint == "":
		ep, err := vpcep.VPCEPEndpoint(p.Region)
		if err != nil {
			r.errorf(at("region"), name, "region", "%q is not in the SDK's VPCEP region table: give the project an endpoint", p.Region)
		}
		p.Endpoint = ep
	}
	if !projectIDPattern.MatchString(p.ProjectID) {
		r.errorf(at("project_id"), name, "project_id", "%q is not a project id (32 lower-case hex digits)", p.ProjectID)
	}
	for _, f := range []struct {
		key   string
		value string
	}{{"endpoint", p.Endpoint}, {"iam_endpoint", p.IAMEndpoint}, {"cts_endpoint", p.CTSEndpoint}} {
		if fieldNode(node, f.key) != nil {
			if msg := checkURL(f.value); msg != "" {
				r.errorf(at(f.key), name, f.key, "%q %s", redactURL(f.value), msg)
			}
		}
	}
	if p.IAMEndpoint == "" && p.Region != "" {
		p.IAMEndpoint, _ = vpcep.IAMEndpoint(p.Region) // needed only for iam_user, checked there
	}
	p.Credentials = r.credentials(rp.Credentials, name, node, &p)
	return p
}

// checkURL says what is wrong with an endpoint URL, or "". Plain http is
// for a simulator on this machine only.
func checkURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "is not an https URL"
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "must be https (plain http only on localhost)"
	}
	if u.User != nil {
		return "must not hold a user or password (credentials go under credentials)"
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "must be the service's base URL, without a path, query or fragment"
	}
	return ""
}

// redactURL is s with any password in it replaced, for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (r *resolver) credentials(rc rawCredentials, name string, node *yaml.Node, p *Project) Credentials {
	credNode := fieldNode(node, "credentials")
	if credNode == nil {
		r.errorf(node, name, "credentials", "are required: ak and sk, token, or iam_user")
		return Credentials{}
	}
	kinds := 0
	if rc.AK != nil || rc.SK != nil {
		kinds++
	}
	if rc.Token != nil {
		kinds++
	}
	if rc.IAMUser != nil {
		kinds++
	}
	if kinds != 1 {
		r.errorf(credNode, name, "credentials", "give exactly one of: ak and sk, token, or iam_user")
		return Credentials{}
	}
	var c Credentials
	switch {
	case rc.AK != nil || rc.SK != nil:
		c.Kind = CredentialAKSK
		if rc.AK == nil || rc.SK == nil {
			r.errorf(credNode, name, "credentials", "ak and sk go together")
			return c
		}
		c.AK = r.secret(rc.AK, name, "credentials.ak")
		c.SK = r.secret(rc.SK, name, "credentials.sk")
	case rc.Token != nil:
		c.Kind = CredentialToken
		c.Token = r.secret(rc.Token, name, "credentials.token")
	default:
		c.Kind = CredentialIAMUser
		u := rc.IAMUser
		userNode := fieldNode(credNode, "iam_user")
		c.IAMUser = IAMUser{Name: u.Name, Domain: u.Domain}
		if u.Name == "" {
			r.errorf(userNode, name, "credentials.iam_user.name", "is required")
		}
		if u.Domain == "" {
			r.errorf(userNode, name, "credentials.iam_user.domain", "is required (the account name the user belongs to)")
		}
		if u.Password == nil {
			r.errorf(userNode, name, "credentials.iam_user.password", "is required ({env: NAME} or {file: PATH})")
		} else {
			c.IAMUser.Password = r.secret(u.Password, name, "credentials.iam_user.password")
		}
		if p.IAMEndpoint == "" {
			r.errorf(userNode, name, "credentials.iam_user", "no IAM endpoint: region %q is not in the SDK's IAM region table; give the project an iam_endpoint", p.Region)
		}
	}
	return c
}

// envNamePattern is an environment variable's name.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// secret reads the secret ref points to. The messages name the reference
// (the variable or the path), never the value.
func (r *resolver) secret(ref *secretRef, name, field string) Secret {
	n := &yaml.Node{Line: ref.Line, Column: ref.Column}
	switch {
	case ref.Literal:
		r.errorf(n, name, field, "a secret is never written in the file: reference it as {env: NAME} or {file: PATH}")
		return ""
	case ref.problem != "":
		r.errorf(n, name, field, "%s", ref.problem)
		return ""
	case ref.Env != "":
		if !envNamePattern.MatchString(ref.Env) {
			r.errorf(n, name, field, "env: %q is not a variable name", ref.Env)
			return ""
		}
		v := trimLineBreaks(r.getenv(ref.Env))
		if v == "" {
			r.errorf(n, name, field, "env: environment variable %s is not set or empty", ref.Env)
		}
		return Secret(v)
	default:
		path := ref.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(r.dir, path)
		}
		data, err := readSecretFile(path)
		if err != nil {
			r.errorf(n, name, field, "file: cannot read %s: %v", ref.File, unwrapPathError(err))
			return ""
		}
		v := trimLineBreaks(string(data))
		if v == "" {
			r.errorf(n, name, field, "file: %s is empty", ref.File)
		}
		return Secret(v)
	}
}

// trimLineBreaks drops the line breaks around a secret (a file's final
// newline), and nothing else: a space may belong to a password.
func trimLineBreaks(s string) string { return strings.Trim(s, "\r\n") }

// readSecretFile reads a secret from a regular file of at most
// maxSecretSize: checked before it is opened, so that a fifo does not
// block the start, nor /dev/zero fill the memory.
func readSecretFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	switch {
	case fi.IsDir():
		return nil, errors.New("it is a directory, not a file")
	case !fi.Mode().IsRegular():
		return nil, errors.New("it is not a regular file (a device, fifo or socket)")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSecretSize {
		return nil, errors.New("it is larger than 64 KiB: not a secret")
	}
	return data, nil
}

// unwrapPathError drops the path an *os.PathError repeats.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
