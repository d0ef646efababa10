package vpcepsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultTokenLifetime is how long a real IAM token is valid.
const DefaultTokenLifetime = 24 * time.Hour

// IAMUser is an IAM user the simulated IAM gives tokens to.
type IAMUser struct {
	Name     string
	Password string
	Domain   string // the account (domain) name
}

// IAMOptions configure the simulated IAM token API (POST and GET
// /v3/auth/tokens), served by the same Server as the VPCEP API.
type IAMOptions struct {
	Users []IAMUser
	// ProjectName is the name a token may be scoped to instead of the
	// project id (on Huawei Cloud, a region's project is named after it,
	// e.g. cn-north-4).
	ProjectName string
	// TokenLifetime is how long a token is valid; DefaultTokenLifetime when
	// zero. Tests make it short to cross an expiry.
	TokenLifetime time.Duration
}

// iamToken is a token the simulated IAM issued.
type iamToken struct {
	user      IAMUser
	projectID string
	issuedAt  time.Time
	expiresAt time.Time
}

// simIAM is the simulated IAM's state.
type simIAM struct {
	opts      IAMOptions
	projectID string
	now       func() time.Time

	mu     sync.Mutex
	tokens map[string]iamToken // unexpired, and those ExpireTokens expired
	issued int                 // POSTs answered with a token
	// values are the latest tokens issued (at most maxIssuedKept), for
	// IssuedTokens: pruned tokens too, so a test still finds a leak.
	values []string
}

// maxIssuedKept bounds the values IssuedTokens remembers.
const maxIssuedKept = 10000

func newSimIAM(opts IAMOptions, projectID string, now func() time.Time) *simIAM {
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = DefaultTokenLifetime
	}
	return &simIAM{opts: opts, projectID: projectID, now: now, tokens: map[string]iamToken{}}
}

// TokensIssued is how many tokens the simulated IAM has issued.
func (s *Server) TokensIssued() int {
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	return s.iam.issued
}

// IssuedTokens are the values of the tokens issued so far (the latest
// 10,000), for tests that check none of them leaks.
func (s *Server) IssuedTokens() []string {
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	return append([]string(nil), s.iam.values...)
}

// ExpireTokens makes every IAM token issued so far expired, as if their
// lifetime had passed (or IAM had revoked them).
func (s *Server) ExpireTokens() {
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	past := s.now().Add(-time.Second)
	for k, t := range s.iam.tokens {
		t.expiresAt = past
		s.iam.tokens[k] = t
	}
}

// checkToken says whether tok is a token the simulated IAM issued (every
// token is scoped to the simulator's project): known is false for a token
// it never issued or has forgotten since it expired; otherwise problem is
// "" for a valid token, else why it is refused.
func (iam *simIAM) checkToken(tok string) (known bool, problem string) {
	_, known, problem = iam.lookup(tok)
	return known, problem
}

// lookup is the token tok, whether it was issued, and why it is refused
// ("" when it is valid).
func (iam *simIAM) lookup(tok string) (t iamToken, known bool, problem string) {
	iam.mu.Lock()
	t, ok := iam.tokens[tok]
	iam.mu.Unlock()
	switch {
	case !ok:
		return t, false, ""
	case !iam.now().Before(t.expiresAt):
		return t, true, "token expired"
	}
	return t, true, ""
}

// serveIAM answers the IAM token API and reports whether r was for it. It
// runs before the VPCEP request log: a token request carries a password,
// and the answer a token, neither of which is kept.
func (s *Server) serveIAM(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != "/v3/auth/tokens" {
		return false
	}
	switch r.Method {
	case http.MethodPost:
		s.iam.createToken(w, r)
	case http.MethodGet:
		s.iam.validateToken(w, r)
	default:
		writeIAMError(w, http.StatusMethodNotAllowed, "The method is not allowed for the requested URL.")
	}
	return true
}

// passwordAuthRequest is the body of a password token request.
type passwordAuthRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password struct {
				User struct {
					Name     string `json:"name"`
					Password string `json:"password"`
					Domain   struct {
						Name string `json:"name"`
					} `json:"domain"`
				} `json:"user"`
			} `json:"password"`
		} `json:"identity"`
		Scope struct {
			Project *struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"project"`
		} `json:"scope"`
	} `json:"auth"`
}

// createToken is POST /v3/auth/tokens with the password method and a
// project scope: 201, the token in X-Subject-Token, its details in the body.
func (iam *simIAM) createToken(w http.ResponseWriter, r *http.Request) {
	var req passwordAuthRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil {
		writeIAMError(w, http.StatusBadRequest, "The request body is not valid JSON.")
		return
	}
	id := req.Auth.Identity
	if len(id.Methods) != 1 || id.Methods[0] != "password" {
		writeIAMError(w, http.StatusBadRequest, "Only the password method is simulated.")
		return
	}
	u := id.Password.User
	var user *IAMUser
	for i, known := range iam.opts.Users {
		if known.Name == u.Name && known.Domain == u.Domain.Name && known.Password == u.Password {
			user = &iam.opts.Users[i]
			break
		}
	}
	if user == nil {
		writeIAMError(w, http.StatusUnauthorized, "The username or password is wrong.")
		return
	}
	scope := req.Auth.Scope.Project
	if scope == nil || (scope.ID != iam.projectID && (scope.Name == "" || scope.Name != iam.opts.ProjectName)) {
		writeIAMError(w, http.StatusBadRequest, "The project in the scope does not exist.")
		return
	}

	tok := "MIIsim" + newRequestID() + newRequestID()
	now := iam.now().UTC()
	t := iamToken{user: *user, projectID: iam.projectID, issuedAt: now, expiresAt: now.Add(iam.opts.TokenLifetime)}
	iam.mu.Lock()
	// Expired tokens go, so that a long demo does not keep every token
	// (a request with one is refused as unknown, a 401 all the same).
	for k, old := range iam.tokens {
		if !now.Before(old.expiresAt) {
			delete(iam.tokens, k)
		}
	}
	iam.tokens[tok] = t
	iam.issued++
	if len(iam.values) >= maxIssuedKept {
		iam.values[0] = ""
		iam.values = iam.values[1:]
	}
	iam.values = append(iam.values, tok)
	iam.mu.Unlock()
	w.Header().Set("X-Subject-Token", tok)
	writeJSON(w, http.StatusCreated, iam.tokenBody(t))
}

// validateToken is GET /v3/auth/tokens: X-Auth-Token authenticates the
// caller (a valid token; validating one's own is allowed) and
// X-Subject-Token is the token asked about: 200 with its details, or 404.
func (iam *simIAM) validateToken(w http.ResponseWriter, r *http.Request) {
	if known, problem := iam.checkToken(r.Header.Get("X-Auth-Token")); !known || problem != "" {
		writeIAMError(w, http.StatusUnauthorized, "The request you have made requires authentication.")
		return
	}
	subject := r.Header.Get("X-Subject-Token")
	t, known, problem := iam.lookup(subject)
	if !known || problem != "" {
		writeIAMError(w, http.StatusNotFound, "The token could not be found.")
		return
	}
	w.Header().Set("X-Subject-Token", subject)
	writeJSON(w, http.StatusOK, iam.tokenBody(t))
}

// tokenBody is the answer's body: the fields of the real one the console
// reads, catalog left empty (as with nocatalog).
func (iam *simIAM) tokenBody(t iamToken) map[string]any {
	const layout = "2006-01-02T15:04:05.000000Z"
	domain := map[string]string{"id": strings.Repeat("d", 32), "name": t.user.Domain}
	return map[string]any{"token": map[string]any{
		"expires_at": t.expiresAt.Format(layout),
		"issued_at":  t.issuedAt.Format(layout),
		"methods":    []string{"password"},
		"catalog":    []any{},
		"roles":      []map[string]string{{"id": strings.Repeat("0", 32), "name": "te_admin"}},
		"project":    map[string]any{"id": t.projectID, "name": iam.opts.ProjectName, "domain": domain},
		"user": map[string]any{
			"id": strings.Repeat("u", 32), "name": t.user.Name, "domain": domain, "password_expires_at": "",
		},
	}}
}

// writeIAMError answers in Keystone's error shape, which IAM's /v3 API
// keeps (the body's exact wording is not verified against the real IAM).
func writeIAMError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "message": msg, "title": http.StatusText(status),
	}})
}
